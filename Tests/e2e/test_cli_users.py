"""The account command line, black-box: `wharf user …` and `wharf token …`
against a data folder, with and without `wharf serve` running on it.

Every failure must exit non-zero with exactly one line, `wharf: …`, on
standard error."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conftest import wharf_bin

TOKEN = re.compile(r"^wharf_[A-Za-z0-9_-]{43}$")
LINE = re.compile(
    r"^(?P<name>\S+) admin=(?P<admin>yes|no) bot=(?P<bot>yes|no) disabled=(?P<disabled>yes|no) "
    r"locked=(?P<locked>yes|no) created=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
)


def run(data: Path, *args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}
    clean.update(env or {})
    cmd = [wharf_bin(), *args] + (["--data", str(data)] if data is not None else [])
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60, env=clean)


def ok(data: Path, *args: str, stdin: str | None = None) -> str:
    r = run(data, *args, stdin=stdin)
    assert r.returncode == 0, f"wharf {' '.join(args)}: exit {r.returncode}: {r.stderr}"
    return r.stdout


def fails(data: Path, *args: str, stdin: str | None = None, contains: str = "") -> str:
    r = run(data, *args, stdin=stdin)
    assert r.returncode != 0, f"wharf {' '.join(args)} succeeded: {r.stdout}"
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("wharf: "), f"not one error line: {r.stderr!r}"
    assert contains in lines[0], lines[0]
    return lines[0]


def users(data: Path) -> dict[str, dict]:
    out = {}
    for line in ok(data, "user", "list").splitlines():
        m = LINE.match(line)
        assert m, f"unexpected list line {line!r}"
        out[m["name"]] = {k: m[k] == "yes" for k in ("admin", "bot", "disabled", "locked")}
    return out


def test_user_lifecycle(tmp_path):
    data = tmp_path / "data"
    # no admin exists yet: the CLI says how to make one (logging in never does)
    first = ok(data, "user", "create", "alice", "--password", "correct horse").strip().splitlines()
    assert first[0] == "created user alice" and "wharf user promote" in first[1], first
    assert ok(data, "user", "create", "root", "--password-stdin", "--admin", stdin="admin password\n").strip() == \
        "created user root (admin)"
    assert ok(data, "user", "create", "ci", "--password", "robot-password", "--bot").strip() == "created bot ci"
    assert users(data) == {
        "alice": {"admin": False, "bot": False, "disabled": False, "locked": False},
        "ci": {"admin": False, "bot": True, "disabled": False, "locked": False},
        "root": {"admin": True, "bot": False, "disabled": False, "locked": False},
    }
    assert list(users(data)) == ["alice", "ci", "root"]  # stable order: by name
    listed = json.loads(ok(data, "user", "list", "--json"))
    assert [u["name"] for u in listed] == ["alice", "ci", "root"]
    assert listed[2] == {"name": "root", "admin": True, "bot": False, "disabled": False, "locked": False,
                         "created": listed[2]["created"]}

    # The personal namespace comes with a person, not with a bot.
    db = sqlite3.connect(data / "wharf.sqlite")
    namespaces = dict(db.execute("SELECT name, kind || ' ' || visibility FROM namespaces").fetchall())
    db.close()
    assert namespaces == {"alice": "personal private", "root": "personal private"}

    fails(data, "user", "create", "alice", "--password", "another one", contains="already exists")
    fails(data, "user", "create", "bob", "--password", "short", contains="at least 8")
    fails(data, "user", "create", "Bob", "--password", "long enough", contains="invalid user name")
    fails(data, "user", "create", "bob", "--password-stdin", stdin="", contains="no password")
    fails(data, "user", "create", "bob", contains="exactly one of --password and --password-stdin")
    fails(data, "user", "create", "bob", "--password", "long enough", "--password-stdin", stdin="x" * 9,
          contains="exactly one of")
    assert "bob" not in users(data)

    old_hash = _password_hash(data, "alice")
    assert ok(data, "user", "passwd", "alice", "--password-stdin", stdin="battery staple\n").strip() == "password of alice changed"
    assert _password_hash(data, "alice") != old_hash and _password_hash(data, "alice").startswith("$2")
    fails(data, "user", "passwd", "alice", "--password", "1234567", contains="at least 8")
    fails(data, "user", "passwd", "nobody", "--password", "long enough", contains="unknown user nobody")

    ok(data, "user", "promote", "alice")
    assert users(data)["alice"]["admin"]
    ok(data, "user", "promote", "alice", "--demote")
    assert not users(data)["alice"]["admin"]
    fails(data, "user", "promote", "nobody", contains="unknown user")

    ok(data, "user", "disable", "alice")
    assert users(data)["alice"]["disabled"]
    ok(data, "user", "disable", "alice", "--enable")
    assert not users(data)["alice"]["disabled"]
    fails(data, "user", "disable", "nobody", contains="unknown user")

    assert ok(data, "user", "delete", "alice").strip() == "deleted user alice"
    assert list(users(data)) == ["ci", "root"]
    fails(data, "user", "delete", "alice", contains="unknown user alice")


def _password_hash(data: Path, name: str) -> str:
    db = sqlite3.connect(data / "wharf.sqlite")
    try:
        return db.execute("SELECT password_hash FROM users WHERE name = ?", (name,)).fetchone()[0]
    finally:
        db.close()


def test_tokens(tmp_path):
    data = tmp_path / "data"
    ok(data, "user", "create", "alice", "--password", "correct horse")
    token = ok(data, "token", "create", "alice", "--name", "laptop").strip()
    assert TOKEN.match(token), token

    # The secret is kept in the data folder, 32 bytes, owner-only; the database holds only a hash.
    secrets = data / "secrets"
    assert secrets.stat().st_size == 32 and stat.S_IMODE(secrets.stat().st_mode) == 0o600
    before = secrets.read_bytes()
    for f in data.glob("wharf.sqlite*"):
        assert token.encode() not in f.read_bytes()
    db = sqlite3.connect(data / "wharf.sqlite")
    (stored,) = db.execute("SELECT token_hash FROM application_tokens").fetchone()
    db.close()
    assert re.fullmatch(r"[0-9a-f]{64}", stored)

    fails(data, "token", "create", "alice", "--name", "laptop", contains="already has a token named laptop")
    tokens = {token}
    for i in range(2, 6):
        tokens.add(ok(data, "token", "create", "alice", "--name", f"t{i}").strip())
    assert len(tokens) == 5
    fails(data, "token", "create", "alice", "--name", "sixth", contains="5 tokens")
    fails(data, "token", "create", "nobody", "--name", "x", contains="unknown user nobody")

    listed = ok(data, "token", "list", "alice").splitlines()
    assert [line.split()[0] for line in listed] == ["laptop", "t2", "t3", "t4", "t5"]
    assert all(re.fullmatch(r"\S+ created=\S+Z last_used=never", line) for line in listed), listed
    assert all(t not in "\n".join(listed) for t in tokens)

    assert ok(data, "token", "revoke", "alice", "t3").strip() == "revoked token t3 of alice"
    fails(data, "token", "revoke", "alice", "t3", contains="no token named t3")
    fails(data, "token", "list", "nobody", contains="unknown user")
    ok(data, "token", "create", "alice", "--name", "sixth")
    assert secrets.read_bytes() == before  # reused, never regenerated

    # Deleting the user takes their tokens along.
    ok(data, "user", "delete", "alice")
    db = sqlite3.connect(data / "wharf.sqlite")
    assert db.execute("SELECT COUNT(*) FROM application_tokens").fetchone()[0] == 0
    db.close()


def test_environment_and_config_select_the_data_folder(tmp_path):
    data = tmp_path / "env-data"
    r = run(None, "user", "create", "alice", "--password", "correct horse", env={"WHARF_DATA": str(data)})
    assert r.returncode == 0, r.stderr
    config = tmp_path / "wharf.yaml"
    config.write_text(f"data: {data}\n")
    r = run(None, "user", "list", "--config", str(config))
    assert r.returncode == 0 and r.stdout.startswith("alice "), r.stderr
    assert list(users(data)) == ["alice"]


def test_users_created_while_the_server_runs(wharf_factory):
    # Token auth on (the default): the running server sees what the CLI does to its database.
    server = wharf_factory(tls=False, auth=True)
    data = server.data_dir
    session = server.session()
    token_url = server.url("/v2/token")

    def login(user: str, password: str) -> int:
        return session.get(token_url, params={"service": "wharf"}, auth=(user, password), timeout=10).status_code

    assert login("alice", "correct horse") == 401  # not there yet
    ok(data, "user", "create", "alice", "--password", "correct horse")
    token = ok(data, "token", "create", "alice", "--name", "ci").strip()
    assert TOKEN.match(token)
    assert list(users(data)) == ["alice"]
    assert server.running
    assert session.get(server.url("/v2/"), timeout=5).status_code == 401  # anonymous: the challenge
    assert login("alice", "correct horse") == 200
    assert login("alice", token) == 200
    r = session.get(token_url, params={"service": "wharf"}, auth=("alice", "correct horse"), timeout=10)
    bearer = {"Authorization": f"Bearer {r.json()['token']}"}
    assert session.get(server.url("/v2/"), headers=bearer, timeout=5).status_code == 200

    # Failed logins against the server lock the account; the CLI shows and lifts it.
    for attempt in range(10):  # auth.lockout_attempts, 10 by default; one wrong password repeated counts once
        assert login("alice", f"wrong password {attempt}") == 401
    assert login("alice", "correct horse") == 401, "10 failures (auth.lockout_attempts) must lock alice"
    assert users(data)["alice"]["locked"]
    assert ok(data, "user", "unlock", "alice").strip()
    assert not users(data)["alice"]["locked"]
    assert login("alice", "correct horse") == 200

    ok(data, "user", "delete", "alice")
    assert users(data) == {}
    assert server.running
    assert login("alice", "correct horse") == 401
    assert login("alice", token) == 401
    time.sleep(1.5)  # account status is cached for 1 s
    r = session.get(server.url("/v2/"), headers=bearer, timeout=5)
    assert r.status_code == 401, f"a deleted user's token still works: {r.status_code} {r.text}"
