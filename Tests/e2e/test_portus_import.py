"""`wharf import portus` against a real MariaDB holding Portus's schema
(fixtures/portus-schema.sql, written from SUSE/Portus's db/schema.rb) and
realistic rows: users whose bcrypt hashes Python's `bcrypt` made (Devise's
`$2a$`, `$2b$`, and PHP's `$2y$`), an admin, a bot, an LDAP user, a disabled
user, Portus's own `portus` account, hidden teams of personal namespaces and of
the global namespace, a team with a member of each role, namespaces of every
visibility, an application token, and names Wharf refuses.

A dry run writes nothing; the import creates the accounts; a second import
changes nothing; then Wharf serves the data folder and skopeo logs in with the
old Portus passwords, pushes and pulls exactly as Portus's rules allowed."""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import bcrypt
import pytest

from conftest import REPO_ROOT, Wharf, wharf_bin
from ocihelpers import write_oci_layout

SCHEMA = Path(__file__).parent / "fixtures" / "portus-schema.sql"
SCRIPT = REPO_ROOT / "scripts" / "mariadb-test-server.sh"

PASSWORDS = {
    "alice": "alice-portus-pw1",
    "bob": "bob-portus-pw22",
    "carol": "carol-portus-pw3",
    "dave": "dave-portus-pw44",
    "gina": "gina-portus-pw55",
    "ci-bot": "ci-bot-secret-66",
    "portus": "portus-service-77",
}
#: An application token as Portus made them (Devise.friendly_token: 20 characters of base64url).
PORTUS_TOKEN = "xK2-bq7_Lm9Pz3Rt5VwY"


@pytest.fixture(scope="module")
def mariadb_url(tmp_path_factory):
    """The test run's MariaDB (WHARF_TEST_MARIADB_URL), or a throwaway one started here."""
    url = os.environ.get("WHARF_TEST_MARIADB_URL", "")
    if url:
        yield url
        return
    folder = tmp_path_factory.mktemp("portus-mariadb") / "server"
    r = subprocess.run(["bash", str(SCRIPT), "start", str(folder)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"mariadb-test-server.sh start: {r.stderr.strip()}"
    yield r.stdout.strip()
    subprocess.run(["bash", str(SCRIPT), "remove", str(folder)], capture_output=True, text=True, timeout=120)


def mysql(url: str, sql: str, database: str | None = None) -> str:
    """Runs `sql` with the mariadb client as the URL's user (on `database`, default none); returns stdout."""
    u = urlparse(url)
    cmd = ["mariadb", "--batch", "--skip-column-names", "-h", u.hostname, "-P", str(u.port or 3306),
           "-u", unquote(u.username or "")]
    if database:
        cmd.append(database)
    env = dict(os.environ, MYSQL_PWD=unquote(u.password or ""))
    r = subprocess.run(cmd, input=sql, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"mariadb: {r.stderr.strip()}"
    return r.stdout


def bcrypt_hash(password: str, prefix: bytes = b"2a", rounds: int = 4) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds, prefix=prefix)).decode()


def q(value) -> str:
    """A SQL literal (the fixture's values are ours; quotes are escaped anyway)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def insert(table: str, rows: list[dict]) -> str:
    lines = []
    for row in rows:
        columns = ", ".join(f"`{c}`" for c in row)
        values = ", ".join(q(v) for v in row.values())
        lines.append(f"INSERT INTO {table} ({columns}) VALUES ({values});")
    return "\n".join(lines) + "\n"


NOW = "2024-05-01 10:00:00"


def portus_rows() -> str:
    """Rows as Portus 2.4 leaves them: every person has a hidden team owning their personal namespace."""
    sql = insert("registries", [dict(id=1, name="registry", hostname="registry.example.com:5000", use_ssl=True,
                                     created_at=NOW, updated_at=NOW)])
    teams = [
        (1, "portus_global_team_1", True, ""),
        (2, "alice", True, ""), (3, "bob", True, ""), (4, "carol", True, ""), (5, "dave", True, ""),
        (6, "erin", True, ""), (7, "gina", True, ""),
        (10, "Developers", False, "The developers"),
        (11, "qa", False, "Quality"),
        (12, "!!!", False, "a name nothing can be made of"),
    ]
    sql += insert("teams", [dict(id=i, name=n, hidden=h, description=d, created_at=NOW, updated_at=NOW)
                            for i, n, h, d in teams])
    namespaces = [
        # id, name, team, global, visibility (0 private, 1 protected, 2 public), description
        (1, "registry", 1, True, 2, ""),
        (2, "alice", 2, False, 0, "Alice's own"),
        (3, "bob", 3, False, 1, ""),
        (4, "carol", 4, False, 2, ""),
        (5, "dave", 5, False, 0, ""),
        (6, "erin", 6, False, 0, ""),
        (7, "gina", 7, False, 0, ""),
        (20, "dev-protected", 10, False, 1, "protected **markdown**"),
        (21, "dev-private", 10, False, 0, ""),
        (22, "dev-public", 10, False, 2, ""),
        (23, "qa", 11, False, 0, ""),
        (24, "orphaned", 12, False, 0, ""),
    ]
    sql += insert("namespaces", [dict(id=i, name=n, team_id=t, registry_id=1, **{"global": g}, visibility=v,
                                      description=d, created_at=NOW, updated_at=NOW)
                                 for i, n, t, g, v, d in namespaces])
    carol_2y = "$2y$" + bcrypt_hash(PASSWORDS["carol"], b"2b")[4:]
    users = [
        dict(id=1, username="portus", email="portus@portus.com", encrypted_password=bcrypt_hash(PASSWORDS["portus"]),
             admin=True),
        dict(id=2, username="alice", email="alice@example.com",
             encrypted_password=bcrypt_hash(PASSWORDS["alice"], b"2a", rounds=10), admin=True, namespace_id=2,
             display_name="Alice A."),
        dict(id=3, username="bob", email="bob@example.com", encrypted_password=bcrypt_hash(PASSWORDS["bob"], b"2b"),
             namespace_id=3),
        dict(id=4, username="carol", email="carol@example.com", encrypted_password=carol_2y, namespace_id=4),
        dict(id=5, username="dave", email="dave@example.com", encrypted_password=bcrypt_hash(PASSWORDS["dave"]),
             enabled=False, namespace_id=5),
        dict(id=6, username="erin", email="erin@example.com", encrypted_password=bcrypt_hash("erin-ldap-password"),
             ldap_name="erin", namespace_id=6),
        dict(id=7, username="gina", email="", encrypted_password=bcrypt_hash(PASSWORDS["gina"]), namespace_id=7),
        dict(id=8, username="ci-bot", email="ci-bot@example.com",
             encrypted_password=bcrypt_hash(PASSWORDS["ci-bot"]), bot=True),
        dict(id=9, username="Bad.Name", email="bad@example.com", encrypted_password=bcrypt_hash("whatever-pw")),
    ]
    sql += insert("users", [dict(created_at=NOW, updated_at=NOW, **u) for u in users])
    members = [
        (1, 2, 2), (2, 2, 2), (3, 3, 2), (4, 4, 2), (5, 5, 2), (6, 6, 2), (7, 7, 2),  # hidden teams' owners
        (10, 2, 2), (10, 3, 1), (10, 4, 0),  # Developers: alice owner, bob contributor, carol viewer
        (11, 6, 2), (11, 5, 1), (11, 1, 0),  # qa: erin (LDAP) owner, dave (disabled) contributor, portus
        (12, 3, 2),
    ]
    sql += insert("team_users", [dict(team_id=t, user_id=u, role=r, created_at=NOW, updated_at=NOW)
                                 for t, u, r in members])
    salt = bcrypt.gensalt(4, prefix=b"2a").decode()
    sql += insert("application_tokens", [dict(application="jenkins", token_salt=salt, user_id=3,
                                              token_hash=bcrypt.hashpw(PORTUS_TOKEN.encode(), salt.encode()).decode())])
    sql += insert("repositories", [dict(id=1, name="app", namespace_id=20, created_at=NOW, updated_at=NOW),
                                   dict(id=2, name="tool", namespace_id=3, created_at=NOW, updated_at=NOW)])
    sql += insert("stars", [dict(user_id=4, repository_id=1, created_at=NOW, updated_at=NOW),
                            dict(user_id=7, repository_id=2, created_at=NOW, updated_at=NOW)])
    sql += insert("comments", [dict(user_id=4, repository_id=1, body="nice", created_at=NOW, updated_at=NOW)])
    hooks = [
        # id, namespace, name, url, method (0 GET, 1 POST), content type (0 JSON, 1 form), enabled, user, password
        (1, 20, "ci", "http://127.0.0.1:9/hook", 1, 0, False, None, None),
        (2, 3, "Deploy hook", "https://deploy.example.com/portus", 0, 0, True, "deployer", "s3cret"),
        (3, 1, "global-hook", "http://127.0.0.1:9/global", 1, 0, True, None, None),
        (4, 22, "bad-url", "ftp://files.example.com/x", 1, 1, True, None, None),
    ]
    sql += insert("webhooks", [dict(id=i, namespace_id=ns, name=n, url=u, request_method=m, content_type=c, enabled=e,
                                    username=user, password=pw, created_at=NOW, updated_at=NOW)
                               for i, ns, n, u, m, c, e, user, pw in hooks])
    sql += insert("activities", [
        dict(trackable_type="Namespace", trackable_id=20, owner_type="User", owner_id=2, key="namespace.create",
             parameters="--- {}\n", created_at="2024-04-01 09:00:00", updated_at="2024-04-01 09:00:00"),
        dict(trackable_type="Repository", trackable_id=1, owner_type="User", owner_id=3, key="repository.push",
             parameters="---\n:tag_name: v1\n", created_at="2024-04-02 10:30:00", updated_at="2024-04-02 10:30:00"),
        dict(trackable_type="Team", trackable_id=10, owner_type="User", owner_id=2, key="team.add_member",
             recipient_type="User", recipient_id=3, parameters="---\n:role: contributor\n",
             created_at="2024-04-03 08:00:00", updated_at="2024-04-03 08:00:00"),
    ])
    sql += insert("webhook_headers", [dict(webhook_id=1, name="X-Token", value="t", created_at=NOW, updated_at=NOW)])
    return sql


@pytest.fixture(scope="module")
def portus_url(mariadb_url):
    """A database `portus_<random>` on the test server, loaded with the schema and rows; its URL."""
    name = f"portus_{secrets.token_hex(4)}"
    mysql(mariadb_url, f"CREATE DATABASE {name} CHARACTER SET utf8;")
    mysql(mariadb_url, SCHEMA.read_text(), database=name)
    mysql(mariadb_url, portus_rows(), database=name)
    u = urlparse(mariadb_url)
    yield u._replace(path="/" + name, query="").geturl()
    mysql(mariadb_url, f"DROP DATABASE {name};")


def run_import(bin_path: str, data: Path, url: str, *flags: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}
    return subprocess.run([bin_path, "import", "portus", "--data", str(data), "--database", url, *flags],
                          env=env, capture_output=True, text=True, timeout=300)


def users(server: Wharf) -> dict:
    return {u["name"]: u for u in json.loads(server.cli("user", "list", "--json").stdout)}


def test_refusals_are_one_line(tmp_path, mariadb_url):
    """A URL that is not MySQL, a server that does not answer, and a database that is not Portus's: exit 1 and one
    line that says which, with no password in it; nothing is written."""
    data = tmp_path / "data"
    data.mkdir()
    u = urlparse(mariadb_url)
    not_portus = f"portus_{secrets.token_hex(4)}"
    mysql(mariadb_url, f"CREATE DATABASE {not_portus};")
    try:
        cases = [
            ("sqlite:///srv/portus.sqlite", "--database must be a mysql:// URL"),
            ("mysql://portus:s3cret@127.0.0.1:1/portus", "reading Portus's database mysql://portus:***@127.0.0.1:1/portus"),
            ("mysql://portus:s3cret@127.0.0.1:3306/portus?bogus=1", "--database: unknown option bogus"),
            (u._replace(path="/" + not_portus, query="").geturl(), "reading Portus's database"),
        ]
        for url, expected in cases:
            p = run_import(wharf_bin(), data, url)
            assert p.returncode == 1, (url, p.stdout, p.stderr)
            lines = p.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("wharf: ") and expected in lines[0], (url, p.stderr)
            assert "s3cret" not in p.stderr and (u.password or "-") not in p.stderr, p.stderr
            assert p.stdout == "", p.stdout
    finally:
        mysql(mariadb_url, f"DROP DATABASE {not_portus};")
    assert not (data / "wharf.sqlite").exists(), "a refused import created Wharf's database"


def test_import_dry_run_then_import_then_nothing_changes(wharf_factory, portus_url, skopeo, tmp_path):
    server = wharf_factory(tls=True, auth=True, start=False)
    server.data_dir.mkdir(parents=True, exist_ok=True)

    dry = run_import(server.bin, server.data_dir, portus_url, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would create user alice" in dry.stdout, dry.stdout
    assert "would create namespace dev-private: team developers, private" in dry.stdout, dry.stdout
    assert "dry run, nothing written" in dry.stdout, dry.stdout
    assert server.cli("user", "list").stdout.strip() == "", "the dry run wrote users"
    assert "dev-private" not in server.cli("namespace", "list").stdout

    first = run_import(server.bin, server.data_dir, portus_url)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    # the dry run said exactly what the import did
    def as_done(line: str) -> str:
        for verb, done in [("would create", "created"), ("would change", "changed"), ("would skip", "skipped")]:
            line = line.replace(verb, done, 1)
        return line

    assert [as_done(l) for l in dry.stdout.splitlines()[:-2]] == out.splitlines()[:-2], \
        f"dry run:\n{dry.stdout}\nimport:\n{out}"
    for line in [
        "skipped user portus: Portus's service account",
        "conflict: user \"Bad.Name\": a name Wharf's grammar refuses",
        "created team developers: 3 members; Portus's \"Developers\" is named developers in Wharf",
        "conflict: team \"!!!\"",
        "conflict: namespace orphaned: its team \"!!!\" was not imported",
        "conflict: namespace registry (global): Wharf's global namespace (names without a prefix) is always protected",
        "created user erin: directory user (LDAP login erin): no password kept, linked to its entry at the first LDAP login",
        "created token bob/jenkins: works as before; stored in Wharf's form at its first use",
        "created webhook dev-protected/ci: disabled, as in Portus",
        "created webhook bob/Deploy-hook: Portus's \"Deploy hook\" is named Deploy-hook; Portus sent it as GET; Wharf POSTs JSON",
        "conflict: webhook \"global-hook\": on Portus's global namespace",
        "skipped repository dev-protected/app: not in Wharf's catalogue yet: its 2 stars and comments follow",
        "skipped repository bob/tool: not in Wharf's catalogue yet: its 1 stars and comments follow",
        "conflict: webhook dev-public/bad-url: webhook URL ftp://files.example.com/x is not an http:// or https:// URL",
    ]:
        assert line in out, f"missing {line!r} in:\n{out}"

    listed = users(server)
    assert set(listed) == {"alice", "bob", "carol", "dave", "erin", "gina", "ci-bot"}, listed
    assert listed["alice"]["admin"] and not listed["bob"]["admin"]
    assert listed["dave"]["disabled"] and not listed["bob"]["disabled"]
    assert listed["ci-bot"]["bot"] and not listed["alice"]["bot"]

    teams = server.cli("team", "list").stdout
    assert "developers" in teams and "qa" in teams, teams
    namespaces = server.cli("namespace", "list").stdout
    for name in ["dev-private", "dev-protected", "dev-public", "qa", "alice", "bob", "carol"]:
        assert name in namespaces, namespaces
    assert "orphaned" not in namespaces

    hooks = server.cli("webhook", "list").stdout
    assert "ci namespace=dev-protected url=http://127.0.0.1:9/hook events=push,delete enabled=no" in hooks, hooks
    assert "Deploy-hook namespace=bob url=https://deploy.example.com/portus events=push,delete enabled=yes" in hooks, hooks
    assert len(hooks.splitlines()) == 2, hooks

    second = run_import(server.bin, server.data_dir, portus_url)
    assert second.returncode == 0, second.stderr
    assert "imported: 0 created, 0 changed," in second.stdout, second.stdout
    assert not [l for l in second.stdout.splitlines() if l.startswith(("created", "changed"))], second.stdout
    assert "skipped team" not in second.stdout, second.stdout
    assert server.cli("webhook", "list").stdout == hooks
    assert users(server) == listed

    # Wharf serves the imported data: the old Portus passwords work, Portus's rules hold.
    server.start()
    certs = server.cert_dir(tmp_path / "certs")
    layout = write_oci_layout(tmp_path / "image", "v1", n_layers=1)

    def login(user: str, password: str) -> subprocess.CompletedProcess:
        return skopeo("login", "--cert-dir", str(certs), "-u", user, "-p", password, server.host, check=False)

    def push(user: str, ref: str) -> subprocess.CompletedProcess:
        return skopeo("copy", "--retry-times", "0", "--dest-cert-dir", str(certs), "--dest-creds",
                      f"{user}:{PASSWORDS[user]}", f"oci:{layout.path}:{layout.ref}", f"docker://{server.host}/{ref}",
                      check=False)

    def pull(user: str | None, ref: str) -> subprocess.CompletedProcess:
        creds = ["--creds", f"{user}:{PASSWORDS[user]}"] if user else ["--no-creds"]
        return skopeo("inspect", "--retry-times", "0", "--cert-dir", str(certs), *creds,
                      f"docker://{server.host}/{ref}", check=False)

    def refused(p: subprocess.CompletedProcess) -> bool:
        """Failed because the registry said no (not for a network or certificate problem)."""
        text = p.stderr.lower()
        return p.returncode != 0 and any(w in text for w in ("denied", "unauthorized", "authentication required", "invalid username/password"))

    for user in ["alice", "bob", "carol", "gina"]:  # $2a$ (cost 10), $2b$, $2y$, $2a$
        p = login(user, PASSWORDS[user])
        assert p.returncode == 0, f"{user} cannot log in with the Portus password: {p.stderr}"
    assert refused(login("bob", "not-bobs-password"))
    assert refused(login("dave", PASSWORDS["dave"])), "a disabled Portus user logged in"
    assert refused(login("erin", "erin-ldap-password")), "an LDAP user logged in with a local password"
    assert refused(login("portus", PASSWORDS["portus"])), "Portus's service account was imported"

    # bob's Portus application token logs in (bcrypt, then re-stored as Wharf's keyed hash) and keeps working
    def stored_token_hash() -> str:
        with sqlite3.connect(server.data_dir / "wharf.sqlite") as db:
            return db.execute("SELECT token_hash FROM application_tokens WHERE application = 'jenkins'").fetchone()[0]

    assert stored_token_hash().startswith("portus-bcrypt:$2a$")
    p = login("bob", PORTUS_TOKEN)
    assert p.returncode == 0, f"bob's Portus token does not log in: {p.stderr}"
    assert re.fullmatch(r"[0-9a-f]{64}", stored_token_hash()), "the token was not re-stored as Wharf's keyed hash"
    assert login("bob", PORTUS_TOKEN).returncode == 0, "the re-stored token no longer logs in"
    assert refused(login("bob", PORTUS_TOKEN[:-1] + "Z")), "a wrong token logged in"
    assert refused(login("carol", PORTUS_TOKEN)), "bob's token logged in as carol"
    p = skopeo("copy", "--retry-times", "0", "--dest-cert-dir", str(certs), "--dest-creds", f"bob:{PORTUS_TOKEN}",
               f"oci:{layout.path}:{layout.ref}", f"docker://{server.host}/dev-private/app:from-token", check=False)
    assert p.returncode == 0, f"push with bob's Portus token: {p.stderr}"

    # bob is a contributor of Developers: pushes to each of its namespaces
    for ns in ["dev-private", "dev-protected", "dev-public"]:
        p = push("bob", f"{ns}/app:v1")
        assert p.returncode == 0, f"bob (contributor) cannot push to {ns}: {p.stderr}"
    # carol is a viewer: pulls the private one, cannot push
    assert pull("carol", "dev-private/app:v1").returncode == 0
    assert refused(push("carol", "dev-private/app:v2")), "a viewer pushed"
    # gina belongs to no team: protected and public pull, private refused
    assert pull("gina", "dev-protected/app:v1").returncode == 0
    assert pull("gina", "dev-public/app:v1").returncode == 0
    assert refused(pull("gina", "dev-private/app:v1")), "a non-member pulled a private namespace"
    # anonymous: public only
    assert pull(None, "dev-public/app:v1").returncode == 0
    assert refused(pull(None, "dev-protected/app:v1")), "anonymous pulled a protected namespace"
    # personal namespaces keep Portus's visibility: bob's is protected, alice's private
    assert push("bob", "bob/tool:v1").returncode == 0
    assert pull("gina", "bob/tool:v1").returncode == 0
    assert push("alice", "alice/secret:v1").returncode == 0
    assert refused(pull("gina", "alice/secret:v1")), "a private personal namespace was pulled by another user"

    # once the repositories are in Wharf's catalogue, importing again adds Portus's stars and comments, once
    third = run_import(server.bin, server.data_dir, portus_url)
    assert third.returncode == 0, third.stderr
    for line in ["created star carol on dev-protected/app", "created comment carol on dev-protected/app",
                 "created star gina on bob/tool", "imported: 3 created, 0 changed,"]:
        assert line in third.stdout, f"missing {line!r} in:\n{third.stdout}"
    with sqlite3.connect(server.data_dir / "wharf.sqlite") as db:
        rows = db.execute("SELECT u.name, c.body FROM comments c JOIN users u ON u.id = c.user_id").fetchall()
    assert rows == [("carol", "nice")], rows
    fourth = run_import(server.bin, server.data_dir, portus_url)
    assert "imported: 0 created, 0 changed," in fourth.stdout, fourth.stdout

    # Portus's history, with --with-activities: dated as in Portus, with its actors and targets, once
    history = run_import(server.bin, server.data_dir, portus_url, "--with-activities")
    assert history.returncode == 0, history.stderr
    assert "created activity history: 3 of Portus's activities, dated as in Portus" in history.stdout, history.stdout
    with sqlite3.connect(server.data_dir / "wharf.sqlite") as db:
        rows = db.execute("SELECT action, actor_name, target_name, created_at FROM activities "
                          "WHERE details LIKE '%portus_id%' ORDER BY created_at").fetchall()
    assert rows == [
        ("namespace.create", "alice", "dev-protected", 1711962000000),
        ("repository.push", "bob", "dev-protected/app", 1712053800000),
        ("team.member.add", "alice", "developers", 1712131200000),
    ], rows
    again = run_import(server.bin, server.data_dir, portus_url, "--with-activities")
    assert "imported: 0 created, 0 changed," in again.stdout, again.stdout


SLAPD_SCRIPT = REPO_ROOT / "scripts" / "slapd-test-server.sh"


@pytest.fixture(scope="module")
def ldap_env(tmp_path_factory):
    """The test run's slapd (WHARF_TEST_LDAP_* from scripts/test.sh), or a throwaway one started here; only read."""
    if os.environ.get("WHARF_TEST_LDAP_URL"):
        yield {k: v for k, v in os.environ.items() if k.startswith("WHARF_TEST_LDAP")}
        return
    folder = tmp_path_factory.mktemp("portus-slapd") / "server"
    r = subprocess.run(["bash", str(SLAPD_SCRIPT), "start", str(folder)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"slapd-test-server.sh start: {r.stderr.strip()}"
    env = dict(line.split("=", 1) for line in (folder / "env").read_text().splitlines() if "=" in line)
    yield env
    subprocess.run(["bash", str(SLAPD_SCRIPT), "remove", str(folder)], capture_output=True, text=True, timeout=120)


def test_imported_ldap_user_is_linked_at_the_first_ldap_login(wharf_factory, mariadb_url, ldap_env, skopeo, tmp_path):
    """carol signed in to Portus through LDAP (ldap_name, no DN kept): imported without a password, her first LDAP
    login in Wharf links the imported account (no carol-2), which keeps her team role."""
    name = f"portus_{secrets.token_hex(4)}"
    mysql(mariadb_url, f"CREATE DATABASE {name} CHARACTER SET utf8;")
    try:
        mysql(mariadb_url, SCHEMA.read_text(), database=name)
        rows = insert("registries", [dict(id=1, name="registry", hostname="registry.example.com:5000", created_at=NOW,
                                          updated_at=NOW)])
        rows += insert("teams", [dict(id=1, name="carol", hidden=True, created_at=NOW, updated_at=NOW),
                                 dict(id=2, name="qa", hidden=False, created_at=NOW, updated_at=NOW)])
        rows += insert("namespaces", [dict(id=1, name="carol", team_id=1, registry_id=1, visibility=0, created_at=NOW,
                                           updated_at=NOW),
                                      dict(id=2, name="qa-images", team_id=2, registry_id=1, visibility=0,
                                           created_at=NOW, updated_at=NOW)])
        rows += insert("users", [dict(id=1, username="carol", email="carol@wharf.test", ldap_name="carol",
                                      encrypted_password=bcrypt_hash("whatever-portus-kept"), namespace_id=1,
                                      created_at=NOW, updated_at=NOW)])
        rows += insert("team_users", [dict(team_id=1, user_id=1, role=2, created_at=NOW, updated_at=NOW),
                                      dict(team_id=2, user_id=1, role=2, created_at=NOW, updated_at=NOW)])
        mysql(mariadb_url, rows, database=name)
        url = urlparse(mariadb_url)._replace(path="/" + name, query="").geturl()

        base = ldap_env["WHARF_TEST_LDAP_BASE"]
        server = wharf_factory(tls=True, auth=True, start=False, env={
            "WHARF_LDAP_ENABLED": "on",
            "WHARF_LDAP_URL": ldap_env["WHARF_TEST_LDAP_URL"],
            "WHARF_LDAP_ENCRYPTION": "starttls",
            "WHARF_LDAP_CA_FILE": ldap_env["WHARF_TEST_LDAP_CA"],
            "WHARF_LDAP_BASE_DN": f"ou=people,{base}",
            "WHARF_LDAP_BIND_DN": ldap_env["WHARF_TEST_LDAP_READER_DN"],
            "WHARF_LDAP_BIND_PASSWORD": ldap_env["WHARF_TEST_LDAP_READER_PASSWORD"],
        })
        server.data_dir.mkdir(parents=True, exist_ok=True)
        p = run_import(server.bin, server.data_dir, url)
        assert p.returncode == 0, p.stderr
        assert "created user carol: directory user (LDAP login carol)" in p.stdout, p.stdout
        assert "created namespace qa-images: team qa, private" in p.stdout, p.stdout

        server.start()
        certs = server.cert_dir(tmp_path / "certs")
        login = skopeo("login", "--cert-dir", str(certs), "-u", "carol", "-p", "carol-password", server.host,
                       check=False)
        assert login.returncode == 0, f"carol's LDAP login: {login.stderr}"
        assert set(users(server)) == {"carol"}, "the LDAP login made a new account instead of linking the import"
        with sqlite3.connect(server.data_dir / "wharf.sqlite") as db:
            dn = db.execute("SELECT ldap_dn FROM users WHERE name = 'carol'").fetchone()[0]
        assert dn == f"uid=carol,ou=people,{base}", dn
        layout = write_oci_layout(tmp_path / "image", "v1", n_layers=1)
        push = skopeo("copy", "--retry-times", "0", "--dest-cert-dir", str(certs), "--dest-creds", "carol:carol-password",
                      f"oci:{layout.path}:{layout.ref}", f"docker://{server.host}/qa-images/app:v1", check=False)
        assert push.returncode == 0, f"carol (owner of qa in Portus) cannot push to qa-images: {push.stderr}"
    finally:
        mysql(mariadb_url, f"DROP DATABASE {name};")


def write_repository(data: Path, name: str) -> None:
    """A repository folder as distribution leaves it in the registry's root (a tag and its revision link)."""
    hex_digest = "ab" * 32
    repo = data / "registry" / "docker" / "registry" / "v2" / "repositories" / name / "_manifests"
    for link in [repo / "tags" / "v1" / "current", repo / "revisions" / "sha256" / hex_digest]:
        link.mkdir(parents=True)
        (link / "link").write_text(f"sha256:{hex_digest}")


def test_namespaces_in_storage_without_an_owner_are_reported_with_the_adopt_command(wharf_factory, mariadb_url):
    """registry/ is the old registry's root: the namespaces Portus knew are owned as imported, and one Portus never
    knew (pushed to the registry directly) is listed, in the dry run and the import, with the command that adopts
    it; that command works as printed; once adopted the line is gone. Global repositories need no owner."""
    name = f"portus_{secrets.token_hex(4)}"
    mysql(mariadb_url, f"CREATE DATABASE {name} CHARACTER SET utf8;")
    try:
        mysql(mariadb_url, SCHEMA.read_text(), database=name)
        rows = insert("registries", [dict(id=1, name="registry", hostname="registry.example.com:5000", created_at=NOW,
                                          updated_at=NOW)])
        rows += insert("teams", [dict(id=1, name="portus_global_team_1", hidden=True, created_at=NOW, updated_at=NOW),
                                 dict(id=2, name="alice", hidden=True, created_at=NOW, updated_at=NOW),
                                 dict(id=3, name="ops", hidden=False, created_at=NOW, updated_at=NOW)])
        rows += insert("namespaces", [dict(id=1, name="registry", team_id=1, registry_id=1, **{"global": True},
                                           visibility=2, created_at=NOW, updated_at=NOW),
                                      dict(id=2, name="alice", team_id=2, registry_id=1, visibility=0, created_at=NOW,
                                           updated_at=NOW),
                                      dict(id=3, name="ops-images", team_id=3, registry_id=1, visibility=1,
                                           created_at=NOW, updated_at=NOW)])
        rows += insert("users", [dict(id=1, username="alice", email="alice@example.com",
                                      encrypted_password=bcrypt_hash(PASSWORDS["alice"]), namespace_id=2,
                                      created_at=NOW, updated_at=NOW)])
        rows += insert("team_users", [dict(team_id=2, user_id=1, role=2, created_at=NOW, updated_at=NOW),
                                      dict(team_id=3, user_id=1, role=2, created_at=NOW, updated_at=NOW)])
        mysql(mariadb_url, rows, database=name)
        url = urlparse(mariadb_url)._replace(path="/" + name, query="").geturl()

        server = wharf_factory(tls=True, auth=True, start=False)
        for repository in ["ops-images/app", "alice/tool", "legacy/app", "legacy/tools/cli", "toplevel"]:
            write_repository(server.data_dir, repository)
        line = ("stored namespace legacy: 2 repositories in storage without an owner (Portus did not know it): "
                "admins only until adopted with wharf namespace adopt legacy --team TEAM")

        dry = run_import(server.bin, server.data_dir, url, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "would skip " + line in dry.stdout.splitlines(), dry.stdout
        first = run_import(server.bin, server.data_dir, url)
        assert first.returncode == 0, first.stderr
        assert "skipped " + line in first.stdout.splitlines(), first.stdout
        for out in [dry.stdout, first.stdout]:
            stored = [l for l in out.splitlines() if "stored namespace " in l]
            assert len(stored) == 1, out  # not ops-images, alice (imported) nor toplevel (global)
        assert "stored namespaces: 0 created, 0 changed, 0 unchanged, 1 skipped, 0 conflict" in first.stdout, first.stdout

        adopt = line.split("adopted with ", 1)[1].replace("TEAM", "ops").split()
        assert adopt[0] == "wharf", adopt
        out = server.cli(*adopt[1:]).stdout
        assert out.strip() == "adopted private namespace legacy for team ops: legacy/app legacy/tools/cli", out
        again = run_import(server.bin, server.data_dir, url)
        assert again.returncode == 0, again.stderr
        assert "stored namespace" not in again.stdout, again.stdout
        assert "imported: 0 created, 0 changed," in again.stdout, again.stdout
    finally:
        mysql(mariadb_url, f"DROP DATABASE {name};")
