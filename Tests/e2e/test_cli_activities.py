"""The audit log from the command line, black-box: real `wharf user|team|namespace|token …` changes, then
`wharf activity list` as a table, `--json` and `--csv`, with its filters.

Every failure must exit non-zero with exactly one line, `wharf: …`, on standard error."""

from __future__ import annotations

import calendar
import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import time
from pathlib import Path

from conftest import wharf_bin

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LABEL = 'ci, "main"'


def run(data: Path, *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}
    return subprocess.run([wharf_bin(), *args, "--data", str(data)], capture_output=True, text=True, timeout=60, env=clean)


def ok(data: Path, *args: str) -> str:
    r = run(data, *args)
    assert r.returncode == 0, f"wharf {' '.join(args)}: exit {r.returncode}: {r.stderr}"
    return r.stdout


def fails(data: Path, *args: str, contains: str) -> str:
    r = run(data, *args)
    assert r.returncode != 0, f"wharf {' '.join(args)} succeeded: {r.stdout}"
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("wharf: "), f"not one error line: {r.stderr!r}"
    assert contains in lines[0], lines[0]
    return lines[0]


def listed(data: Path, *args: str) -> list[dict]:
    return json.loads(ok(data, "activity", "list", "--json", "--limit", "1000", *args))


def actions(data: Path, *args: str) -> list[str]:
    return [a["action"] for a in listed(data, *args)]


# What the changes in `changes` record, oldest first: (action, target kind, target, details it holds).
EXPECTED = [
    ("user.create", "user", "alice", {"admin": False, "bot": False}),
    ("user.create", "user", "bob", {"admin": False, "bot": False}),
    ("team.create", "team", "devs", {"owner": "alice"}),
    ("team.create", "team", "ops", {}),
    ("team.member.add", "team", "devs", {"user": "bob", "role": "viewer"}),
    ("team.member.role.change", "team", "devs", {"user": "bob", "role": "contributor", "from": "viewer"}),
    ("team.member.remove", "team", "devs", {"user": "bob", "role": "contributor"}),
    ("team.rename", "team", "dev-team", {"from": "devs"}),
    ("namespace.create", "namespace", "acme", {"team": "dev-team", "visibility": "private"}),
    ("namespace.visibility.change", "namespace", "acme", {"visibility": "public", "from": "private"}),
    ("namespace.team.change", "namespace", "acme", {"team": "ops", "from": "dev-team"}),
    ("namespace.description.change", "namespace", "acme", {}),
    ("user.promote", "user", "bob", {}),
    ("user.demote", "user", "bob", {}),
    ("user.disable", "user", "bob", {}),
    ("user.enable", "user", "bob", {}),
    ("token.create", "token", LABEL, {"user": "bob"}),
    ("token.revoke", "token", LABEL, {"user": "bob"}),
    ("namespace.delete", "namespace", "acme", {"repositories": 0}),
    ("user.delete", "user", "bob", {}),
]


def changes(data: Path) -> None:
    ok(data, "user", "create", "alice", "--password", "correct horse")
    ok(data, "user", "create", "bob", "--password", "correct horse")
    ok(data, "team", "create", "devs", "--owner", "alice")
    ok(data, "team", "create", "ops")
    ok(data, "team", "add", "devs", "bob", "--role", "viewer")
    ok(data, "team", "add", "devs", "bob", "--role", "viewer")  # no change, no activity
    ok(data, "team", "add", "devs", "bob", "--role", "contributor")
    ok(data, "team", "remove", "devs", "bob")
    fails(data, "team", "remove", "devs", "alice", contains="no owner left")  # refused, no activity
    ok(data, "team", "rename", "devs", "dev-team")
    ok(data, "namespace", "create", "acme", "--team", "dev-team")
    ok(data, "namespace", "set", "acme", "--visibility", "public")
    ok(data, "namespace", "set", "acme", "--team", "ops")
    ok(data, "namespace", "set", "acme", "--description", "Acme's images, \"all\"")
    ok(data, "user", "promote", "bob")
    ok(data, "user", "promote", "bob", "--demote")
    ok(data, "user", "disable", "bob")
    ok(data, "user", "disable", "bob", "--enable")
    ok(data, "token", "create", "bob", "--name", LABEL)
    ok(data, "token", "revoke", "bob", LABEL)
    ok(data, "namespace", "delete", "acme")
    ok(data, "user", "delete", "bob")


def test_every_cli_change_is_one_activity(tmp_path):
    data = tmp_path / "data"
    started = time.time()
    changes(data)
    entries = listed(data)
    assert [(e["action"], e["target_kind"], e["target"]) for e in reversed(entries)] == [x[:3] for x in EXPECTED]
    for entry, (_, _, _, details) in zip(reversed(entries), EXPECTED):
        assert entry["actor"] == "cli" and entry["actor_id"] is None and entry["addr"] is None, entry
        assert TIME.match(entry["time"]), entry
        assert details.items() <= entry["details"].items(), entry
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)
    assert [e["time"] for e in entries] == sorted((e["time"] for e in entries), reverse=True)
    created = next(e for e in entries if e["action"] == "namespace.create")
    assert created["namespace_id"] == created["target_id"] is not None
    renamed = next(e for e in entries if e["action"] == "team.rename")
    assert renamed["target_id"] == next(e for e in entries if e["target"] == "devs")["target_id"] is not None
    # The times are the changes' own: within the test's run.
    for entry in entries:
        when = calendar.timegm(time.strptime(entry["time"][:19], "%Y-%m-%dT%H:%M:%S"))
        assert started - 2 <= when <= time.time() + 2, entry

    # CSV: the same activities, a header first, fields with commas and quotes quoted.
    out = ok(data, "activity", "list", "--csv", "--limit", "1000")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["id", "time", "actor", "action", "target_kind", "target", "addr", "details"]
    assert [(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows[1:]] == [
        (e["id"], e["time"], "cli", e["action"], e["target_kind"], e["target"], "") for e in entries
    ]
    assert [json.loads(r[7]) for r in rows[1:]] == [e["details"] for e in entries]
    assert f'"{LABEL.replace(chr(34), chr(34) * 2)}"' in out

    # The table: a header, then one line per activity with time, actor, action, target, address, details.
    table = ok(data, "activity", "list").splitlines()
    assert table[0].split() == ["TIME", "ACTOR", "ACTION", "TARGET", "ADDRESS", "DETAILS"]
    assert len(table) == len(entries) + 1
    rename = next(line for line in table if " team.rename " in line)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +cli +team\.rename +team dev-team +- +from=devs$", rename), rename

    # Filters.
    assert actions(data, "--action", "team") == [
        "team.rename", "team.member.remove", "team.member.role.change", "team.member.add", "team.create", "team.create"]
    assert actions(data, "--action", "team.member") == ["team.member.remove", "team.member.role.change", "team.member.add"]
    assert actions(data, "--action", "team.mem") == []
    assert actions(data, "--action", "user.delete") == ["user.delete"]
    # A deleted namespace's history, by its name.
    assert actions(data, "--namespace", "acme") == [
        "namespace.delete", "namespace.description.change", "namespace.team.change", "namespace.visibility.change",
        "namespace.create"]
    assert actions(data, "--user", "cli") == [e["action"] for e in entries]
    assert actions(data, "--user", "alice") == []
    assert actions(data, "--action", "namespace", "--user", "cli", "--limit", "2") == [
        "namespace.delete", "namespace.description.change"]
    assert [e["id"] for e in listed(data, "--limit", "3")] == [e["id"] for e in entries[:3]]
    assert actions(data, "--since", "1h") == [e["action"] for e in entries]
    assert actions(data, "--until", "1h") == []
    assert actions(data, "--since", "2000-01-01", "--until", "2100-01-01") == [e["action"] for e in entries]
    # A time as --json prints it: --since includes it, --until excludes it.
    middle = entries[len(entries) // 2]["time"]
    since = listed(data, "--since", middle)
    until = listed(data, "--until", middle)
    assert since and until and since + until == entries
    assert all(e["time"] >= middle for e in since) and all(e["time"] < middle for e in until)

    # Mistakes: one line, non-zero exit.
    fails(data, "activity", "list", "--since", "yesterday", contains="--since: expected a duration like 30d or a date like 2027-01-31, got yesterday")
    fails(data, "activity", "list", "--until", "2026-13-45", contains="--until: expected")
    fails(data, "activity", "list", "--namespace", "nowhere", contains="unknown namespace nowhere")
    fails(data, "activity", "list", "--json", "--csv", contains="at most one of --json and --csv")
    fails(data, "activity", "list", "--limit", "0", contains="--limit")


def test_addresses_and_awkward_text_survive_every_format(tmp_path):
    """What the server records (an address in `addr`) and text with separators, quotes and line breaks come out
    intact: the address in its own column, the rest quoted."""
    data = tmp_path / "data"
    ok(data, "user", "create", "alice", "--password", "correct horse")
    db = sqlite3.connect(data / "wharf.sqlite")
    details = json.dumps({"addr": "2001:db8::7", "note": 'first line\nsecond, "quoted"'})
    db.execute(
        "INSERT INTO activities (created_at, actor_id, actor_name, action, target_kind, target_id, target_name,"
        " namespace_id, details) VALUES (?, NULL, 'portal', 'test.note', 'note', NULL, ?, NULL, ?)",
        (int(time.time() * 1000), 'a, "b"', details),
    )
    db.commit()
    db.close()

    (entry, created) = listed(data)
    assert created["action"] == "user.create"
    assert entry["addr"] == "2001:db8::7" and entry["target"] == 'a, "b"'
    assert entry["details"] == {"note": 'first line\nsecond, "quoted"'}

    rows = list(csv.reader(io.StringIO(ok(data, "activity", "list", "--csv"))))
    assert len(rows) == 3
    assert rows[1][:7] == [str(entry["id"]), entry["time"], "portal", "test.note", "note", 'a, "b"', "2001:db8::7"]
    assert json.loads(rows[1][7]) == entry["details"]

    # The table keeps one line per activity: a line break in a detail is shown escaped.
    table = ok(data, "activity", "list").splitlines()
    assert len(table) == 3, table
    assert table[1].split()[1:5] == ["portal", "test.note", "note", "a,"] and " 2001:db8::7 " in table[1]
    assert table[1].endswith('note="first line\\nsecond, \\"quoted\\""'), table[1]
