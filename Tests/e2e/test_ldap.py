"""LDAP (issue 15) end to end, against a real slapd (scripts/slapd-test-server.sh; scripts/test.sh starts the
shared one and exports WHARF_TEST_LDAP_*): logins through the directory on /v2/token, direct Basic, skopeo and the
portal; plain, LDAPS and StartTLS; search-then-bind and direct bind; the wrong CA; the admin group; group -> team
sync (mirror and add-only); filter and DN injection; the empty password; the directory going away and coming back
(503, no lockout, the bind cache); a person removed from the directory; `wharf ldap check`; local accounts and
sign-up with LDAP on.

Every module-level server uses people and groups of this module's own (ldap_directory.Scope); the tests that stop
the directory start a slapd of their own.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import sys
import time
from typing import Callable, Iterator

import pytest
import requests

from conftest import Wharf, free_port
from ldap_directory import SEEDED, PrivateSlapd, Scope, TestDirectory, unique, wharf_ldap_env
from ocihelpers import describe, write_oci_layout

ROOT = ("root", "root-password-1234")
# A Wharf user name: the namespace grammar.
NAME_GRAMMAR = re.compile(r"^[a-z0-9]+(?:[._-]+[a-z0-9]+)*$")

# The module's shared servers, whose logs are printed when a test fails.
_SHARED: list[Wharf] = []


@pytest.fixture(autouse=True)
def _shared_logs(request):
    yield
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        for w in _SHARED:
            print(f"\n----- shared wharf log ({w.log_path}) -----\n{w.log_tail()}", file=sys.stderr)


# --------------------------------------------------------------------------- helpers


def token(w: Wharf, creds, *scopes: str, **params) -> requests.Response:
    q = [("service", "wharf")] + [("scope", s) for s in scopes] + list(params.items())
    return requests.get(w.url("/v2/token"), params=q, auth=creds, verify=w.verify, timeout=60)


def post_token(w: Wharf, **form) -> requests.Response:
    return requests.post(w.url("/v2/token"), data=form, verify=w.verify, timeout=60)


def users(w: Wharf) -> dict[str, dict]:
    return {u["name"]: u for u in json.loads(w.cli("user", "list", "--json").stdout)}


def teams(w: Wharf) -> dict[str, dict[str, str]]:
    """`wharf team list` as {team: {member: role}}."""
    out: dict[str, dict[str, str]] = {}
    for line in w.cli("team", "list").stdout.splitlines():
        if not line.strip():
            continue
        name, *fields = line.split()
        members: dict[str, str] = {}
        for f in fields:
            if f.startswith("members="):
                for m in filter(None, f[len("members="):].split(",")):
                    user, role = m.rsplit(":", 1)
                    members[user] = role
        out[name] = members
    return out


def failed_logins(w: Wharf, name: str) -> int:
    """users.failed_logins of one user, read from the server's SQLite database."""
    db = sqlite3.connect(f"file:{w.data_dir / 'wharf.sqlite'}?mode=ro", uri=True, timeout=30)
    try:
        row = db.execute("SELECT failed_logins FROM users WHERE name = ?", (name,)).fetchone()
    finally:
        db.close()
    assert row is not None, f"no user {name} in the database"
    return int(row[0])


def jwt_claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def eventually(what: str, check: Callable[[], object], timeout: float = 60.0, interval: float = 0.5):
    """Poll `check` until it returns something truthy; fail with `what` (and the last value) after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"{what}: not within {timeout:.0f}s (last: {last!r})", pytrace=False)


def assert_directory_unavailable(r: requests.Response, form: str = "docker") -> None:
    """503 with the error JSON (Docker's `errors` on GET, OAuth2's `error` on POST), never 401."""
    assert r.status_code == 503, "an unreachable directory must answer 503, not " + describe(r)
    body = r.json()
    if form == "docker":
        assert isinstance(body.get("errors"), list) and body["errors"] and body["errors"][0].get("code"), r.text
    else:
        assert isinstance(body.get("error"), str) and body["error"], r.text
    assert "directory" in r.text.lower(), "the error should say the directory is unavailable: " + r.text


def ldap_status(w: Wharf) -> dict:
    """GET /api/v1/ldap as the local administrator."""
    r = requests.get(w.url("/api/v1/ldap"), auth=ROOT, verify=w.verify, timeout=60)
    assert r.status_code == 200, describe(r)
    return r.json()


def portal_session(w: Wharf) -> tuple[requests.Session, str]:
    s = w.session()
    page = s.get(w.url("/signin"), timeout=30)
    assert page.status_code == 200, describe(page)
    return s, page.text.split('name="csrf-token" content="')[1].split('"')[0]


def portal_sign_in(w: Wharf, login: str, password: str) -> tuple[requests.Session, requests.Response]:
    s, csrf = portal_session(w)
    r = s.post(w.url("/signin"), data={"name": login, "password": password, "_csrf": csrf}, allow_redirects=False,
               timeout=60)
    return s, r


# --------------------------------------------------------------------------- the shared directory and servers


@pytest.fixture(scope="module")
def directory() -> TestDirectory:
    return TestDirectory.from_environment()


@pytest.fixture(scope="module")
def scope(directory) -> Iterator[Scope]:
    s = Scope(directory)
    yield s
    s.remove()


@pytest.fixture(scope="module")
def admins_group(scope) -> str:
    return scope.group("admins")


def _shared_server(factory, env: dict) -> Wharf:
    # the injection attempts are many failed logins from one address: no per-address limit here
    w = factory(tls=True, auth=True, start=False, env={**env, "WHARF_AUTH_FAILURES_PER_ADDRESS": "0"})
    w.create_user(*ROOT, "--admin")
    w.start()
    _SHARED.append(w)
    return w


@pytest.fixture(scope="module")
def server(wharf_module_factory, directory, scope, admins_group) -> Wharf:
    """Search-then-bind (the read-only account) over plain LDAP; admin group; mirror group sync; no bind cache (each
    login goes to the directory); a local administrator root."""
    return _shared_server(wharf_module_factory, wharf_ldap_env(
        directory, base_dn=scope.people, admin_group=admins_group, group_base_dn=scope.groups, sync_mode="mirror",
        default_role="viewer", cache_ttl="0"))


@pytest.fixture(scope="module")
def direct_server(wharf_module_factory, directory, scope) -> Wharf:
    """Direct bind as uid=LOGIN,<the module's people>, no bind account."""
    return _shared_server(wharf_module_factory, wharf_ldap_env(directory, search=False, base_dn=scope.people,
                                                               cache_ttl="0"))


# --------------------------------------------------------------------------- logins


def test_search_then_bind_creates_the_user_linked_by_dn(server, scope):
    person = scope.person(uid=unique("Ann"))  # upper case in the directory, lower case in Wharf
    assert person.wharf_name not in users(server)
    r = token(server, person.creds)
    assert r.status_code == 200, describe(r)
    assert r.json().get("token") or r.json().get("access_token"), r.text
    made = users(server)
    assert person.wharf_name in made, made
    assert not made[person.wharf_name]["admin"] and not made[person.wharf_name]["disabled"], made[person.wharf_name]
    # direct Basic on the registry checks the directory too
    r = requests.get(server.url("/v2/"), auth=person.creds, verify=server.verify, timeout=60)
    assert r.status_code == 200, describe(r)
    # the same entry by another spelling of the login (uid matches without case) is the same Wharf user
    r = token(server, (person.login.upper(), person.password))
    assert r.status_code == 200, describe(r)
    assert set(users(server)) == set(made), "a second spelling of one login made a second user"

    # a wrong password and an unknown login are refused as such (401), not as an outage
    assert token(server, (person.login, person.password + "x")).status_code == 401
    assert token(server, (unique("nobody"), person.password)).status_code == 401
    r = post_token(server, grant_type="password", client_id="e2e", username=person.login,
                   password=person.password + "x", service="wharf")
    assert r.status_code in (400, 401) and r.json().get("error") == "invalid_grant", describe(r)
    status = ldap_status(server)
    assert status["enabled"] is True and status["bind"] == "search" and status["reachable"] is True, status
    # the directory's state is for administrators: a plain directory user is refused it
    r = requests.get(server.url("/api/v1/ldap"), auth=person.creds, verify=server.verify, timeout=60)
    assert r.status_code == 403, describe(r)


def test_direct_bind(direct_server, scope):
    person = scope.person("dora")
    r = token(direct_server, person.creds)
    assert r.status_code == 200, describe(r)
    assert person.wharf_name in users(direct_server)
    assert token(direct_server, (person.login, "not-" + person.password)).status_code == 401
    assert token(direct_server, (unique("nobody"), person.password)).status_code == 401
    # the directory answered these logins: the status says so (anonymous may not read the base here, as in most
    # directories, which must not make a working directory look unreachable)
    status = ldap_status(direct_server)
    assert status["bind"] == "direct" and status["reachable"] is True, status


@pytest.mark.parametrize("mode", ["search", "direct"])
def test_injection_attempts_find_nobody(mode, request, scope):
    w: Wharf = request.getfixturevalue("server" if mode == "search" else "direct_server")
    victim = scope.person("vic")
    tricky = scope.person(uid=unique("frank") + ", jr (*)")  # a real login full of filter and DN specials
    before = set(users(w))
    attempts = [
        "*", ")(uid=*", f"{victim.login})(uid=*", f"{victim.login})(|(uid=*", "*)(objectClass=*", f"{victim.login[:4]}*",
        f"*{victim.login[2:]}", "\\00", "\x00", f"{victim.login}\x00", f"{victim.login}\\00", f"{victim.login}\\2a",
        f"{victim.login},{scope.people}", f"uid={victim.login},{scope.people}", f"{victim.login}+cn=x",
        f"{victim.login};x", f'"{victim.login}"', f"#{victim.login}", f"{victim.login}\\", f"{victim.login}<x>",
        f"{tricky.login[:5]}*", tricky.login.replace("(*)", "(\\2a)"), tricky.login.replace(",", "\\,"),
    ]
    for login in attempts:
        for password in (victim.password, tricky.password):
            r = token(w, (login, password))
            assert r.status_code == 401, f"login {login!r} must find nobody: " + describe(r)
    assert set(users(w)) == before, f"an injection attempt created a user: {set(users(w)) - before}"

    # the real login with specials works, escaped rightly in the filter (RFC 4515) or the DN (RFC 4514)
    r = token(w, tricky.creds)
    assert r.status_code == 200, describe(r)
    made = set(users(w)) - before
    assert len(made) == 1, made
    name = made.pop()
    assert NAME_GRAMMAR.match(name) and name.startswith("frank"), name
    assert token(w, (tricky.login, victim.password)).status_code == 401


def test_an_empty_password_is_refused(server, direct_server, scope):
    person = scope.person("emma")
    for w in (server, direct_server):
        for creds in ((person.login, ""), ("", ""), (person.dn, "")):
            r = token(w, creds)
            assert r.status_code == 401, f"{creds!r}: " + describe(r)
        r = post_token(w, grant_type="password", client_id="e2e", username=person.login, password="", service="wharf")
        assert r.status_code in (400, 401) and r.json().get("error") in ("invalid_grant", "invalid_request"), describe(r)
        _, r = portal_sign_in(w, person.login, "")
        assert r.status_code != 303, "the portal signed in with an empty password: " + describe(r)
        assert person.wharf_name not in users(w)


@pytest.mark.parametrize("encryption,search", [("ldaps", True), ("starttls", False)])
def test_tls_with_the_right_ca(encryption, search, wharf_ldap, directory):
    w = wharf_ldap(directory, encryption=encryption, search=search, cache_ttl="0")
    r = token(w, ("alice", SEEDED["alice"]))
    assert r.status_code == 200, describe(r)
    assert "alice" in users(w)
    assert token(w, ("alice", "wrong-password")).status_code == 401
    p = w.cli("ldap", "check", check=False)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("encryption", ["ldaps", "starttls"])
def test_tls_with_the_wrong_ca_is_refused(encryption, wharf_ldap, directory):
    w = wharf_ldap(directory, encryption=encryption, ca_file=directory.other_ca, cache_ttl="0")
    assert_directory_unavailable(token(w, ("alice", SEEDED["alice"])))
    assert "alice" not in users(w)
    p = w.cli("ldap", "check", check=False)
    assert p.returncode != 0, "ldap check trusted a certificate of another CA:\n" + p.stdout


# --------------------------------------------------------------------------- admin group and group sync


def test_the_admin_group_promotes_and_leaving_it_demotes(server, scope, admins_group):
    directory = scope.directory
    person = scope.person("adam")
    assert token(server, person.creds).status_code == 200
    assert users(server)[person.wharf_name]["admin"] is False

    directory.add_member(admins_group, person.dn)
    assert token(server, person.creds).status_code == 200
    assert users(server)[person.wharf_name]["admin"] is True, "a member of the admin group is an admin"
    _, r = portal_sign_in(server, *person.creds)
    assert r.status_code == 303, describe(r)

    directory.remove_member(admins_group, person.dn)
    assert token(server, person.creds).status_code == 200
    assert users(server)[person.wharf_name]["admin"] is False, "leaving the admin group demotes at the next login"
    # the local administrator is untouched by all this
    assert users(server)["root"]["admin"] is True


def test_group_sync_mirror_adds_and_removes_only_its_own_memberships(server, scope):
    directory = scope.directory
    member, manual, both = scope.person("mia"), scope.person("manu"), scope.person("bo")
    group = scope.group("devs", [member])
    team = group.split(",")[0].split("=", 1)[1]
    # the people exist in Wharf (first logins) before the team does
    for p in (manual, both):
        assert token(server, p.creds).status_code == 200
    server.cli("team", "create", team, "--owner", "root")
    server.cli("team", "add", team, manual.wharf_name, "--role", "contributor")
    server.cli("team", "add", team, both.wharf_name, "--role", "viewer")

    # sign-in syncs: a member of the group becomes a member of the team with the default role
    assert token(server, member.creds).status_code == 200
    got = teams(server)[team]
    assert got.get(member.wharf_name) == "viewer", got
    assert got.get(manual.wharf_name) == "contributor" and got.get("root") == "owner", got

    # `both` is a manual member who then joins the group, and leaves it again
    directory.add_member(group, both.dn)
    assert token(server, both.creds).status_code == 200
    assert teams(server)[team].get(both.wharf_name) == "viewer"

    directory.remove_member(group, member.dn)
    directory.remove_member(group, both.dn)
    for p in (member, both, manual):
        assert token(server, p.creds).status_code == 200
    got = teams(server)[team]
    assert member.wharf_name not in got, f"mirror mode keeps a membership the sync made after leaving the group: {got}"
    assert got.get(both.wharf_name) == "viewer", f"a manual member was removed by the sync: {got}"
    assert got.get(manual.wharf_name) == "contributor" and got.get("root") == "owner", got


def test_group_sync_add_only_never_removes(wharf_ldap, directory, scope):
    w = wharf_ldap(directory, admin=ROOT, base_dn=scope.people, group_base_dn=scope.groups, sync_mode="add-only",
                   default_role="contributor", cache_ttl="0")
    person = scope.person("otto")
    group = scope.group("ops", [person])
    team = group.split(",")[0].split("=", 1)[1]
    w.cli("team", "create", team, "--owner", "root")
    assert token(w, person.creds).status_code == 200
    assert teams(w)[team].get(person.wharf_name) == "contributor", teams(w)

    directory.remove_member(group, person.dn)
    assert token(w, person.creds).status_code == 200
    assert teams(w)[team].get(person.wharf_name) == "contributor", f"add-only mode removed a member: {teams(w)}"


# --------------------------------------------------------------------------- clients


def test_skopeo_login_and_push_as_an_ldap_user(server, scope, skopeo, tmp_path):
    person = scope.person("skip")
    certs = server.cert_dir(tmp_path / "certs")
    src = write_oci_layout(tmp_path / "src", "v1", n_layers=1)
    dest = f"docker://{server.host}/{person.wharf_name}/app:v1"

    p = skopeo("login", "--cert-dir", str(certs), "-u", person.login, "-p", person.password + "x", server.host,
               check=False)
    assert p.returncode != 0, "skopeo login with a wrong password succeeded: " + p.stdout
    p = skopeo("login", "--cert-dir", str(certs), "-u", person.login, "-p", person.password, server.host)
    assert "Login Succeeded" in p.stdout, p.stdout + p.stderr
    skopeo("copy", "--retry-times", "0", "--dest-cert-dir", str(certs), f"oci:{src.path}:v1", dest)
    info = json.loads(skopeo("inspect", "--cert-dir", str(certs), dest).stdout)
    assert info["Digest"] == src.top_digest, info
    # the token carried push on the person's own namespace
    r = token(server, person.creds, f"repository:{person.wharf_name}/app:pull,push")
    access = jwt_claims(r.json()["token"]).get("access", [])
    assert any(a.get("name") == f"{person.wharf_name}/app" and "push" in a.get("actions", []) for a in access), access


def test_portal_sign_in_as_an_ldap_user(server, scope):
    person = scope.person("pia", cn="Pia Portal")
    s, r = portal_sign_in(server, person.login, person.password + "x")
    assert r.status_code != 303 and "Wrong user name or password." in r.text, describe(r)
    s, r = portal_sign_in(server, *person.creds)
    assert r.status_code == 303, describe(r)
    home = s.get(server.url("/"), allow_redirects=False, timeout=30)
    assert home.status_code == 200 and person.wharf_name in home.text, describe(home)
    assert person.wharf_name in users(server)


def test_local_accounts_keep_working_and_sign_up_is_off(server):
    r = token(server, ROOT)
    assert r.status_code == 200, describe(r)
    _, r = portal_sign_in(server, *ROOT)
    assert r.status_code == 303, describe(r)
    assert users(server)["root"]["admin"] is True
    # a local name the directory does not know, with a wrong password: refused
    assert token(server, ("root", "wrong-password-1234")).status_code == 401

    # sign-up is off while LDAP is on, although portal.signup is on (its default)
    s, csrf = portal_session(server)
    form = s.get(server.url("/signup"), timeout=30)
    assert "password_confirmation" not in form.text, "the sign-up form is offered with LDAP on"
    name = unique("signup")
    s.post(server.url("/signup"), data={"name": name, "password": "pw-123456789", "password_confirmation":
                                        "pw-123456789", "_csrf": csrf}, allow_redirects=False, timeout=30)
    assert name not in users(server), "sign-up created a local account with LDAP on"


def test_wharf_ldap_check(server, scope, admins_group, wharf_factory, directory):
    person = scope.person("chuck", cn="Chuck Check")
    group = scope.group("checkers", [person])
    directory.add_member(admins_group, person.dn)
    p = server.cli("ldap", "check", check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    p = server.cli("ldap", "check", "--user", person.login, "--password-stdin", check=False,
                   input=person.password + "\n")
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    assert person.dn.lower() in out.lower(), out
    assert person.wharf_name in out, out
    assert group.split(",")[0].split("=", 1)[1] in out, out
    assert re.search(r"admin\W+(yes|true)", out, re.I), out

    # an unreachable directory: non-zero, one line saying why
    nowhere = wharf_factory(tls=True, auth=True, start=False, env=wharf_ldap_env(
        directory, base_dn=scope.people, url=f"ldap://127.0.0.1:{free_port()}", connect_timeout="2s"))
    p = nowhere.cli("ldap", "check", check=False)
    assert p.returncode != 0, p.stdout
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, p.stderr


# --------------------------------------------------------------------------- the directory goes away


@pytest.fixture
def private_slapd(tmp_path):
    slapd = PrivateSlapd(tmp_path / "slapd")
    slapd.start()
    yield slapd
    slapd.remove()


def test_directory_down_answers_503_without_lockout_and_recovers(private_slapd, wharf_ldap):
    """slapd stops mid-run: uncached logins get 503 (token, OAuth2 form, portal "directory unavailable"), never a
    failed login; a bind cached before keeps working until ldap.cache_ttl; the local admin works throughout; slapd
    comes back and logins work again, without restarting Wharf."""
    d = private_slapd.directory
    w = wharf_ldap(d, admin=ROOT, cache_ttl="15s", env={"WHARF_AUTH_LOCKOUT_ATTEMPTS": "3"})
    alice, bob, carol = (("alice", SEEDED["alice"]), ("bob", SEEDED["bob"]), ("carol", SEEDED["carol"]))
    assert token(w, bob).status_code == 200
    assert token(w, ("bob", "wrong-password")).status_code == 401
    assert failed_logins(w, "bob") == 1
    assert token(w, alice).status_code == 200  # cached for 15 s from here

    private_slapd.stop()
    assert token(w, alice).status_code == 200, "a cached bind stops working while the directory is down"
    assert_directory_unavailable(token(w, carol))
    for _ in range(4):  # more than auth.lockout_attempts
        assert_directory_unavailable(token(w, ("bob", "wrong-password")))
    assert_directory_unavailable(post_token(w, grant_type="password", client_id="e2e", username="carol",
                                            password=carol[1], service="wharf"), form="oauth2")
    _, r = portal_sign_in(w, *carol)
    assert r.status_code != 303 and re.search(r"directory\b.{0,20}\bunavailable", r.text, re.I), describe(r)
    assert failed_logins(w, "bob") == 1, "an outage counted as failed logins"
    assert users(w)["bob"]["locked"] is False
    assert token(w, ROOT).status_code == 200, "the local administrator must work while the directory is down"
    status = ldap_status(w)
    assert status["reachable"] is False and status["last_error"], status
    p = w.cli("ldap", "check", check=False)
    assert p.returncode != 0 and len([l for l in p.stderr.splitlines() if l.strip()]) == 1, p.stdout + p.stderr

    # the cached bind ends with its TTL
    eventually("alice's cached bind expires while the directory is down",
               lambda: token(w, alice).status_code == 503, timeout=90)

    private_slapd.start()
    eventually("logins work again once slapd is back", lambda: token(w, alice).status_code == 200, timeout=60)
    for creds in (bob, carol):
        r = token(w, creds)
        assert r.status_code == 200, describe(r)
    assert "carol" in users(w) and users(w)["bob"]["locked"] is False
    assert ldap_status(w)["reachable"] is True


def test_a_person_removed_from_the_directory_loses_access(wharf_ldap, directory, scope):
    w = wharf_ldap(directory, admin=ROOT, base_dn=scope.people, group_base_dn=scope.groups, cache_ttl="2s",
                   sync_interval="2s")
    person = scope.person("gone")
    assert token(w, person.creds).status_code == 200
    app_token = w.cli("token", "create", person.wharf_name, "--name", "ci").stdout.strip()
    assert token(w, (person.wharf_name, app_token)).status_code == 200

    directory.delete(person.dn)
    eventually("the removed person's password stops working",
               lambda: token(w, person.creds).status_code == 401, timeout=60)
    eventually("the sync disables the removed person's account",
               lambda: users(w)[person.wharf_name]["disabled"], timeout=60)
    r = token(w, (person.wharf_name, app_token))
    assert r.status_code == 401, "an application token of a removed person still works: " + describe(r)
