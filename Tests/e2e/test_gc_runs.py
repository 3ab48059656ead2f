"""Garbage collection runs end to end: the built binary, real skopeo pushes, the database's lease.

`wharf gc` is refused (one line, exit 1) while another replica holds the lease, and takes over once that lease
expires; `/api/v1/gc/runs` lists, reads and starts runs for administrators only (202 in the background, 409
while one runs); the manifests a real run unlinks reach webhooks as delete events by the garbage collector; the
admin page shows the runs and starts one from its buttons."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time

import requests

from browser import open_page, screenshots, sign_in, submit_form, texts, wait_for_text
from ocihelpers import MT_OCI_MANIFEST, V2Client, describe, write_oci_layout
from test_skopeo import push
from test_webhooks import Receiver, create_webhook, events_of, wait_until

ROOT = ("root", "root password")
ALICE = ("alice", "alice password")


def hold_lease(wharf, host: str = "node-b", run_id: int = 7, seconds: float = 120) -> None:
    """Writes the lease as another replica holding it would (directly in the shared database)."""
    now = int(time.time() * 1000)
    with sqlite3.connect(wharf.data_dir / "wharf.sqlite", timeout=30) as db:
        db.execute("DELETE FROM gc_leases")
        db.execute("INSERT INTO gc_leases (name, holder, host, run_id, acquired_at, renewed_at, expires_at) "
                   "VALUES ('gc', 'other-replica', ?, ?, ?, ?, ?)", (host, run_id, now, now, now + int(seconds * 1000)))


def lease(wharf) -> tuple:
    with sqlite3.connect(wharf.data_dir / "wharf.sqlite", timeout=30) as db:
        return db.execute("SELECT holder, host, expires_at FROM gc_leases WHERE name = 'gc'").fetchone()


def runs(wharf) -> list[dict]:
    with sqlite3.connect(wharf.data_dir / "wharf.sqlite", timeout=30) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM gc_runs ORDER BY id")]


def admin_server(wharf_factory, **kwargs):
    w = wharf_factory(tls=True, auth=True, **kwargs)
    w.create_user(*ROOT, "--admin")
    w.create_user(*ALICE)
    w.cli("team", "create", "team", "--owner", "root")
    w.cli("namespace", "create", "team", "--team", "team")
    return w


def push_and_retag(wharf, skopeo, tmp_path) -> tuple[str, str]:
    """skopeo pushes image one as team/app:v1, then image two over the same tag: one is left untagged. Returns
    their digests (untagged, tagged)."""
    certs = wharf.cert_dir(tmp_path / "certs")
    one = write_oci_layout(tmp_path / "one", "v1", n_layers=2)
    two = write_oci_layout(tmp_path / "two", "v1", n_layers=1)
    for layout in (one, two):
        skopeo("copy", "--preserve-digests", "--retry-times", "0", "--dest-cert-dir", str(certs), "--dest-creds",
               f"{ROOT[0]}:{ROOT[1]}", f"oci:{layout.path}:v1", f"docker://{wharf.host}/team/app:v1")
    return one.top_digest, two.top_digest


def test_the_cli_is_refused_while_another_replica_holds_the_lease_and_takes_over_when_it_expires(wharf, skopeo, tmp_path):
    certs = wharf.cert_dir(tmp_path / "certs")
    push(skopeo, wharf, certs, write_oci_layout(tmp_path / "src", "v1", n_layers=2), "team/app:v1")

    hold_lease(wharf)
    for args in (["--dry-run"], ["--min-age", "0"]):
        p = wharf.cli("gc", *args, check=False)
        assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
        assert p.stdout == "", p.stdout
        [line] = p.stderr.splitlines()
        assert line.startswith("wharf: garbage collection is already running: run 7 on node-b, since 20"), line
        assert line.endswith(" UTC"), line
    refused = runs(wharf)
    assert [(r["status"], r["trigger_kind"], r["dry_run"]) for r in refused] == [("busy", "cli", 1), ("busy", "cli", 0)]
    assert all("run 7 on node-b" in r["error"] for r in refused), refused
    assert lease(wharf)[0] == "other-replica"

    # The other replica crashed mid-run: its run is left running and its lease expires; the next run takes over
    # and marks the orphan failed.
    with sqlite3.connect(wharf.data_dir / "wharf.sqlite", timeout=30) as db:
        db.execute("INSERT INTO gc_runs (started_at, trigger_kind, requested_by, dry_run, untagged, status, host, kept, details) "
                   "VALUES (?, 'schedule', 'schedule', 0, 0, 'running', 'node-b', '[]', '{}')", (int(time.time() * 1000) - 600_000,))
    hold_lease(wharf, seconds=-1)
    p = wharf.cli("gc", "--min-age", "0")
    lines = p.stdout.splitlines()
    assert lines[0].startswith("collected: "), p.stdout
    assert any(line.startswith("kept: ") and "tagged" in line for line in lines), p.stdout
    assert any(line.startswith("reclaimed: ") and "rescued 0 blobs" in line for line in lines), p.stdout
    assert lines[-1].startswith("recorded as garbage collection run "), p.stdout
    after = runs(wharf)
    orphan, done = after[-2], after[-1]
    assert orphan["status"] == "failed" and "abandoned" in orphan["error"], orphan
    assert done["status"] == "ok" and done["trigger_kind"] == "cli" and done["dry_run"] == 0, done
    assert lines[-1] == f"recorded as garbage collection run {done['id']}"
    assert done["kept_blobs"] == done["blobs"] > 0 and done["finished_at"] >= done["started_at"], done
    # Released at the end: free for the next run at once.
    assert lease(wharf)[0] == ""
    assert wharf.cli("gc", "--dry-run", "--json").returncode == 0


def wait_for_run(session: requests.Session, url: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = session.get(url)
        assert r.status_code == 200, r.text
        if r.json()["status"] != "running":
            return r.json()
        time.sleep(0.1)
    raise AssertionError(f"{url} still running after {timeout}s")


def test_the_api_lists_reads_and_starts_runs_for_administrators_only(wharf_factory, skopeo, tmp_path):
    wharf = admin_server(wharf_factory, env={"WHARF_GC_MIN_AGE": "1s"})
    untagged, tagged = push_and_retag(wharf, skopeo, tmp_path)
    root = wharf.session()
    root.auth = ROOT
    alice = wharf.session()
    alice.auth = ALICE
    api = wharf.url("/api/v1/gc/runs")

    assert requests.get(api, verify=wharf.verify).status_code == 401
    for method, body in (("get", None), ("post", {"dry_run": True})):
        r = getattr(alice, method)(api, json=body)
        assert r.status_code == 403, (method, r.status_code, r.text)
    assert root.get(api).json() == {"items": []}

    # A dry run starts in the background: 202 with where to follow it. (The pushes are made older than
    # gc.min_age first, so what a real run would delete is listed.)
    time.sleep(1.1)
    r = root.post(api, json={"dry_run": True, "untagged": True})
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["status"] == "running" and started["trigger"] == "api" and started["requested_by"] == "root", started
    assert r.headers["Location"] == f"/api/v1/gc/runs/{started['id']}"
    dry = wait_for_run(root, wharf.url(r.headers["Location"]))
    assert dry["status"] == "ok" and dry["dry_run"] is True and dry["untagged"] is True, dry
    assert dry["min_age_seconds"] == 1 and dry["reclaimed_blobs"] == 0, dry
    assert dry["blobs"] == dry["eligible_blobs"] + dry["kept_blobs"] and dry["kept_blobs"] > 0, dry
    assert sum(k["blobs"] for k in dry["kept"]) == dry["kept_blobs"], dry
    assert dry["untagged_manifests"] == 1 and dry["removed_manifests"] == 0, dry
    assert [m["digest"] for m in dry["details"]["eligible_manifests"]] == [untagged], dry
    assert dry["eligible_blobs"] >= 3 and len(dry["details"]["eligible"]) == dry["eligible_blobs"], dry
    assert "details" not in root.get(api).json()["items"][0]

    # While another replica holds the lease: 409 naming it, and the refusal is listed.
    hold_lease(wharf, host="node-b", run_id=41)
    r = root.post(api, json={"dry_run": False})
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "GC_BUSY" and "run 41 on node-b" in r.json()["error"]["message"], r.text
    listed = root.get(api).json()["items"]
    assert [(x["status"], x["dry_run"]) for x in listed] == [("busy", False), ("ok", True)], listed
    hold_lease(wharf, seconds=-1)

    r = root.get(wharf.url("/api/v1/gc/runs/999999"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "GC_RUN_NOT_FOUND", r.text
    assert root.post(api, json={"dry_run": "yes"}).status_code == 422
    assert root.get(api, params={"page_size": 1}).json()["items"][0]["id"] == listed[0]["id"]
    assert root.get(api, params={"before": listed[0]["id"]}).json()["items"][0]["id"] == listed[1]["id"]


def test_a_real_run_tells_webhooks_and_the_activity_log_what_it_removed(wharf_factory, skopeo, tmp_path):
    receiver = Receiver().start()
    try:
        wharf = admin_server(wharf_factory)
        create_webhook(wharf, "deletes", receiver.url("/deletes"), "--events", "delete")
        untagged, tagged = push_and_retag(wharf, skopeo, tmp_path)
        p = wharf.cli("gc", "--untagged", "--min-age", "0", "--json")
        report = json.loads(p.stdout)
        assert report["dry_run"] is False and report["run_id"] > 0, report
        assert [m["digest"] for m in report["removed_manifests"]] == [untagged], report
        assert report["reclaimed_blobs"] >= 3, report  # its manifest's config and two layers at least

        # The running server delivers what the run queued: a delete event by the garbage collector.
        [request] = receiver.wait_for(1)
        [event] = events_of(request)
        assert event["action"] == "delete", event
        assert event["target"]["repository"] == "team/app" and event["target"]["digest"] == untagged, event
        assert event["actor"] == {"name": "garbage-collector"}, event

        activities = json.loads(wharf.cli("activity", "list", "--json", "--limit", "100").stdout)
        deleted = [a for a in activities if a["action"] == "repository.delete"]
        assert [(a["actor"], a["target"]) for a in deleted] == [("garbage-collector", f"team/app@{untagged}")], deleted
        [run] = [a for a in activities if a["action"] == "gc.run"]
        details = run["details"] if isinstance(run["details"], dict) else json.loads(run["details"])
        assert run["actor"] == "garbage-collector" and details["reclaimed_blobs"] == report["reclaimed_blobs"], run
        assert details["removed_manifests"] == 1 and details["run_id"] == report["run_id"], run

        # The tag still pulls its image; the API's record of the run lists the removed manifest.
        root = wharf.session()
        root.auth = ROOT
        r = root.get(wharf.url(f"/api/v1/gc/runs/{report['run_id']}"))
        assert r.status_code == 200, r.text
        assert [m["digest"] for m in r.json()["details"]["removed_manifests"]] == [untagged], r.json()
        assert r.json()["reclaimed_bytes"] == report["reclaimed_bytes"] and r.json()["trigger"] == "cli"
        c = V2Client(wharf, "team/app", auth=ROOT)
        r = c.get("/v2/<name>/manifests/v1", headers={"Accept": MT_OCI_MANIFEST})
        assert r.status_code == 200 and r.headers["Docker-Content-Digest"] == tagged, describe(r)
        assert c.get(f"/v2/<name>/manifests/{untagged}", headers={"Accept": MT_OCI_MANIFEST}).status_code == 404
    finally:
        receiver.stop()


def test_the_admin_page_shows_runs_and_starts_them(wharf_factory, browser, skopeo, tmp_path):
    wharf = admin_server(wharf_factory, env={"WHARF_GC_SCHEDULE": "6h"})
    push_and_retag(wharf, skopeo, tmp_path)
    base = wharf.base_url
    sign_in(browser, base, *ROOT)
    open_page(browser, base + "/admin")
    assert "Garbage collection" in texts(browser, "nav.tabs a")
    open_page(browser, base + "/admin/gc")
    assert "Every 6 h" in texts(browser, "dl.kv dd")[0]
    assert "No run yet" in browser.page_source

    submit_form(browser, "form[action='/admin/gc/runs']", button="button[value=dry]")
    assert "/admin/gc/runs/" in browser.current_url
    # Reloaded until it ends (it runs in the background).
    deadline = time.monotonic() + 60
    while "running" in texts(browser, "#gc-run-status")[0] and time.monotonic() < deadline:
        time.sleep(0.2)
        open_page(browser, browser.current_url)
    assert texts(browser, "#gc-run-status") == ["done"]
    assert "Dry run" in texts(browser, "h1")[0]
    facts = texts(browser, "dl.kv dt")
    assert "Not used by any image" in facts and "Freed" in facts, facts
    assert "nothing (dry run)" in browser.page_source

    open_page(browser, base + "/admin/gc")
    [row] = texts(browser, "#gc-runs-table tbody tr")
    assert "portal, by root" in row and "Dry run" in row and "done" in row, row
    screenshots(browser, "admin-gc")

    # Refused while another replica collects: the page says so, by whom and since when.
    hold_lease(wharf, host="node-b", run_id=9)
    open_page(browser, base + "/admin/gc")
    now = texts(browser, "dl.kv dd")[2]
    assert now.startswith("running") and "on node-b since just now" in now, now
    submit_form(browser, "form[action='/admin/gc/runs']", button="button[value=collect]")
    wait_for_text(browser, ".flash--error", "Garbage collection is already running: run 9 on node-b")
    hold_lease(wharf, seconds=-1)

    submit_form(browser, "form[action='/admin/gc/runs']", button="button[value=collect]")
    deadline = time.monotonic() + 60
    while "running" in texts(browser, "#gc-run-status")[0] and time.monotonic() < deadline:
        time.sleep(0.2)
        open_page(browser, browser.current_url)
    assert texts(browser, "#gc-run-status") == ["done"]
    assert "Collection" in texts(browser, "h1")[0]
    screenshots(browser, "admin-gc-run")
    recorded = runs(wharf)
    assert [(r["trigger_kind"], r["dry_run"], r["status"]) for r in recorded] == [
        ("portal", 1, "ok"), ("portal", 0, "busy"), ("portal", 0, "ok")], recorded


def test_gc_schedule_collects_in_the_background(wharf_factory, skopeo, tmp_path):
    wharf = admin_server(wharf_factory)
    untagged, tagged = push_and_retag(wharf, skopeo, tmp_path)
    # The schedule starts after the pushes (a run every second during a push could take its blobs before its
    # manifest, which skopeo, told not to retry, would not survive).
    wharf.extra_env.update({"WHARF_GC_SCHEDULE": "1s", "WHARF_GC_UNTAGGED": "on", "WHARF_GC_MIN_AGE": "1s"})
    wharf.restart()
    root = wharf.session()
    root.auth = ROOT
    removed: list[dict] = []

    def collected() -> bool:
        for item in root.get(wharf.url("/api/v1/gc/runs"), params={"page_size": 500}).json()["items"]:
            if item["trigger"] == "schedule" and item["status"] == "ok" and item["removed_manifests"] == 1:
                removed.append(item)
                return True
        return False

    # Runs come every second, each after the one before; the untagged image goes in the first one.
    wait_until("a scheduled run removes the untagged image", collected, timeout=120)
    [run] = removed[:1]
    assert run["requested_by"] == "schedule" and run["dry_run"] is False and run["untagged"] is True, run
    detail = root.get(wharf.url(f"/api/v1/gc/runs/{run['id']}")).json()
    assert [m["digest"] for m in detail["details"]["removed_manifests"]] == [untagged], detail
    c = V2Client(wharf, "team/app", auth=ROOT)
    r = c.get("/v2/<name>/manifests/v1", headers={"Accept": MT_OCI_MANIFEST})
    assert r.status_code == 200 and r.headers["Docker-Content-Digest"] == tagged, describe(r)
    # Stopping the server waits for a run in progress and leaves the lease free.
    assert wharf.stop() == 0
    assert lease(wharf)[0] == ""


def test_replicas_and_concurrent_cli_runs_never_collect_at_the_same_time(wharf_factory, skopeo, tmp_path):
    first = admin_server(wharf_factory)
    push_and_retag(first, skopeo, tmp_path)
    schedule = {"WHARF_GC_SCHEDULE": "1s", "WHARF_GC_MIN_AGE": "1s"}
    first.extra_env.update(schedule)
    first.restart()
    # A second replica on the same data folder (storage and SQLite database), with the same schedule.
    second = wharf_factory(tls=True, auth=True, data_dir=first.data_dir, env=schedule)
    assert second.running

    def finished() -> list[dict]:
        return [r for r in runs(first) if r["trigger_kind"] == "schedule" and r["status"] in ("ok", "busy")]

    # And eight `wharf gc` at once, twice, meanwhile: every one either collects alone or is refused.
    for _ in range(2):
        clis = [subprocess.Popen([first.bin, "gc", "--dry-run", "--json", "--data", str(first.data_dir)], env=first.env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(8)]
        for p in clis:
            out, err = p.communicate(timeout=120)
            assert (p.returncode, err) == (0, "") or (p.returncode == 1 and "already running" in err), (p.returncode, out, err)
    wait_until("ten scheduled runs or refusals", lambda: len(finished()) >= 10, timeout=180)
    second.stop()
    first.stop()
    done = [r for r in runs(first) if r["status"] == "ok"]
    assert len(done) >= 2, runs(first)
    assert all(r["status"] != "failed" for r in runs(first)), runs(first)
    # The lease kept them apart: no two runs' [start, end] overlap.
    spans = sorted((r["started_at"], r["finished_at"]) for r in done)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end <= start, spans
    assert lease(first)[0] == ""
