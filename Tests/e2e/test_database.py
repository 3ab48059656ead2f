"""The database, black-box: `wharf serve` on MariaDB selected only by the URL,
start-up while the database is down (503 with a reason, then serving once it
answers, and again after it restarts), and `wharf migrate` / `wharf db check`.
Token auth is on (Wharf's default): the accounts are made with the CLI in the
same database and the pushes walk the token flow as a plain user.

Each test starts a throwaway mariadbd of its own on loopback with
scripts/mariadb-test-server.sh (mariadb-server must be installed: the test
command installs it)."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import REPO_ROOT, Wharf, free_port, wharf_bin
from ocihelpers import MT_OCI_CONFIG, MT_OCI_MANIFEST, V2Client, describe, error_codes

SCRIPT = REPO_ROOT / "scripts" / "mariadb-test-server.sh"


def _latest_schema_version() -> int:
    """The last migration's number, as Sources/WharfDatabase/Schema/Migration.swift declares it: the version a
    fresh database is migrated to."""
    source = (REPO_ROOT / "Sources/WharfDatabase/Schema/Migration.swift").read_text()
    return max(int(n) for n in re.findall(r"^\s*version: (\d+),$", source, re.M))


SCHEMA = _latest_schema_version()


class MariaDB:
    """A throwaway mariadbd kept in `folder`: start (prints the URL), stop, remove."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.url = ""

    def _run(self, action: str) -> str:
        r = subprocess.run(["bash", str(SCRIPT), action, str(self.folder)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"mariadb-test-server.sh {action}: {r.stderr.strip()}"
        return r.stdout.strip()

    def start(self) -> str:
        self.url = self._run("start")
        return self.url

    def stop(self) -> None:
        self._run("stop")

    def remove(self) -> None:
        self._run("remove")

    @property
    def password(self) -> str:
        return (self.folder / "password").read_text().strip()


@pytest.fixture
def mariadb(tmp_path) -> MariaDB:
    server = MariaDB(tmp_path / "mariadb")
    server.start()
    yield server
    server.remove()


class WharfOnDatabase(Wharf):
    """`wharf serve` with WHARF_DATABASE_URL; optionally ready as soon as it answers at all (503 included)."""

    def __init__(self, *args, database_url: str, answering_is_ready: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.database_url = database_url
        self.answering_is_ready = answering_is_ready

    def env(self) -> dict:
        env = super().env()
        env["WHARF_DATABASE_URL"] = self.database_url
        return env

    def ready(self) -> tuple[bool, str]:
        if not self.answering_is_ready:
            return super().ready()
        try:
            r = requests.get(f"{self.base_url}/v2/", timeout=2)
        except requests.RequestException as e:
            return False, f"GET /v2/: {e}"
        return True, ""


@pytest.fixture
def wharf_on(tmp_path_factory, request):
    started = []

    def make(database_url: str, answering_is_ready: bool = False) -> WharfOnDatabase:
        work = tmp_path_factory.mktemp("wharf")
        w = WharfOnDatabase(work / "data", free_port(), False, work / "wharf.log",
                            database_url=database_url, answering_is_ready=answering_is_ready)
        started.append(w)
        w.start()
        return w

    yield make
    rep = getattr(request.node, "rep_call", None)
    for w in started:
        if rep is not None and rep.failed:
            print(f"\n----- wharf log ({w.log_path}) -----\n{w.log_tail()}")
        w.stop()


# A plain user (an admin exists, so the first login does not make alice one).
ADMIN = ("root", "root password")
USER = ("alice", "correct horse")


def create_accounts(wharf: Wharf) -> None:
    """The CLI on the server's database (WHARF_DATABASE_URL from its environment)."""
    wharf.create_user(*ADMIN, "--admin")
    wharf.create_user(*USER)


def wait_for_status(wharf: Wharf, status: int, timeout: float = 40.0, auth=None) -> requests.Response:
    """Poll GET /v2/ (anonymous: 401 once serving with auth on; with Basic `auth`: 200) until it answers `status`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = requests.get(f"{wharf.base_url}/v2/", timeout=2, auth=auth)
            if last.status_code == status:
                return last
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"/v2/ did not answer {status} within {timeout:.0f}s (last: {last.status_code if last else None})")


def wharf_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([wharf_bin(), *args], capture_output=True, text=True, timeout=60, env=env)


def push_image(wharf: Wharf, name: str, tag: str) -> None:
    client = V2Client(wharf, name, auth=USER)
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    layer = b"layer on mariadb"
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
        "config": {"mediaType": MT_OCI_CONFIG, "digest": client.push_blob(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": client.push_blob(layer), "size": len(layer)}],
    }).encode()
    client.push_manifest(tag, manifest)
    r = client.get(f"/v2/<name>/manifests/{tag}", headers={"Accept": MT_OCI_MANIFEST})
    assert r.status_code == 200 and r.content == manifest, describe(r)
    assert client.session.auth.fetches >= 1, "the push did not go through the token flow"
    # and it is not open to anyone: anonymous callers get the challenge
    anonymous = requests.get(client.url(f"/v2/<name>/manifests/{tag}"), headers={"Accept": MT_OCI_MANIFEST},
                             verify=wharf.verify, timeout=10)
    assert anonymous.status_code == 401 and error_codes(anonymous) == ["UNAUTHORIZED"], describe(anonymous)


def test_serve_on_mariadb_selected_by_the_url(mariadb, wharf_on):
    wharf = wharf_on(mariadb.url)
    create_accounts(wharf)
    push_image(wharf, "alice/app", "v1")   # her personal namespace, made with the account
    push_image(wharf, "team/app", "v1")    # a namespace created by the push, alice its owner
    namespaces = wharf.cli("namespace", "list").stdout
    assert any(line.split()[:1] == ["team"] for line in namespaces.splitlines()), namespaces
    users = wharf.cli("user", "list").stdout
    assert [line.split()[0] for line in users.splitlines()] == ["alice", "root"], users
    assert "alice admin=no" in users, users

    env = {"WHARF_DATABASE_URL": mariadb.url, "PATH": "/usr/bin:/bin"}
    check = wharf_cli("db", "check", env=env)
    assert check.returncode == 0, check.stderr
    assert "backend: mysql" in check.stdout and f"schema: version {SCHEMA} of {SCHEMA}" in check.stdout, check.stdout
    assert "MariaDB" in check.stdout
    assert mariadb.password not in check.stdout + check.stderr
    assert mariadb.password not in wharf.log_path.read_text()
    # the embedded database was not used
    assert not (wharf.data_dir / "wharf.sqlite").exists()


def test_database_down_at_startup_then_back_and_restarted(mariadb, wharf_on):
    mariadb.stop()
    wharf = wharf_on(mariadb.url, answering_is_ready=True)
    r = wait_for_status(wharf, 503)
    assert error_codes(r) == ["UNAVAILABLE"], describe(r)
    assert "database is unavailable" in r.json()["errors"][0]["detail"], describe(r)
    page = requests.get(f"{wharf.base_url}/", timeout=5)
    assert page.status_code == 503 and page.text.startswith("Wharf is unavailable"), page.text
    assert requests.get(f"{wharf.base_url}/health", timeout=5).status_code == 200
    log = wharf.log_path.read_text()
    assert "database unreachable" in log and mariadb.password not in log

    mariadb.start()
    r = wait_for_status(wharf, 401)  # serving again: the challenge, not 503
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer "), r.headers
    create_accounts(wharf)
    wait_for_status(wharf, 200, auth=USER)
    push_image(wharf, "team/app", "v1")

    mariadb.stop()
    r = wait_for_status(wharf, 503, auth=USER)  # credentials do not get past a missing database
    assert error_codes(r) == ["UNAVAILABLE"], describe(r)
    assert wharf.running, "wharf must not exit when its database goes away"
    mariadb.start()
    wait_for_status(wharf, 200, auth=USER)
    push_image(wharf, "team/app", "v2")
    assert wharf.stop() == 0


def test_migrate_and_db_check_on_sqlite(tmp_path):
    env = {"PATH": "/usr/bin:/bin"}
    data = str(tmp_path / "data")
    first = wharf_cli("migrate", "--data", data, env=env)
    assert first.returncode == 0 and f"schema version {SCHEMA} (migrated from 0)" in first.stdout, first.stdout + first.stderr
    again = wharf_cli("migrate", "--data", data, env=env)
    assert again.returncode == 0 and f"schema version {SCHEMA} (up to date)" in again.stdout, again.stdout + again.stderr
    check = wharf_cli("db", "check", "--data", data, env=env)
    assert check.returncode == 0, check.stderr
    assert "backend: sqlite" in check.stdout and f"schema: version {SCHEMA} of {SCHEMA}" in check.stdout, check.stdout
    bad = wharf_cli("db", "check", env={**env, "WHARF_DATABASE_URL": "mysql://wharf:hunter2@127.0.0.1:1/wharf"})
    assert bad.returncode == 1 and bad.stderr.startswith("wharf: database unavailable:"), bad.stderr
    assert "hunter2" not in bad.stdout + bad.stderr
