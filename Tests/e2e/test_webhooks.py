"""Outgoing webhooks end to end: the built binary, skopeo and a small HTTP receiver started by each test.

The receiver is Python's http.server in a thread; it records every request and answers from a script (a list
of statuses, then 200), or holds requests until released (a hanging endpoint)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional

from conftest import free_port
from ocihelpers import MT_OCI_CONFIG, MT_OCI_LAYER_GZIP, MT_OCI_MANIFEST, V2Client, sha256, write_oci_layout

ENVELOPE_TYPE = "application/vnd.docker.distribution.events.v1+json"


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records POSTs: `requests` holds dicts with path, headers (lower-case
    names), body (bytes) and the time it arrived."""

    def __init__(self, port: Optional[int] = None, statuses: Optional[list[int]] = None, hang: bool = False):
        self.port = port or free_port()
        self.statuses = list(statuses or [])
        self.hang = hang
        self.released = threading.Event()
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.server: Optional[ThreadingHTTPServer] = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "body": body, "time": time.monotonic(),
                                              "headers": {k.lower(): v for k, v in self.headers.items()}})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if receiver.hang:
                    receiver.released.wait(timeout=300)
                    return
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("X-Receiver", "e2e")
                self.end_headers()
                self.wfile.write(f"answered {status}".encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.released.set()
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def received(self) -> list[dict]:
        with self.lock:
            return list(self.requests)

    def wait_for(self, count: int, timeout: float = 60) -> list[dict]:
        """At least `count` requests, or a failed assertion after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received()
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"the receiver got {len(self.received())} requests within {timeout}s, expected {count}")


def events_of(request: dict) -> list[dict]:
    assert request["headers"]["content-type"] == ENVELOPE_TYPE, request["headers"]
    return json.loads(request["body"])["events"]


def signed_by(request: dict, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), request["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(request["headers"].get("x-wharf-signature", ""), expected)


def create_webhook(wharf, name: str, url: str, *flags: str) -> str:
    """`wharf webhook create`; returns the secret it prints."""
    out = wharf.cli("webhook", "create", name, "--url", url, *flags).stdout
    secrets = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("secret: ")]
    assert len(secrets) == 1, out
    return secrets[0]


def deliveries(wharf, name: str, *flags: str) -> list[dict]:
    """`wharf webhook deliveries NAME` parsed: one dict per delivery, with its attempts."""
    out = wharf.cli("webhook", "deliveries", name, *flags).stdout
    parsed: list[dict] = []
    for line in out.splitlines():
        if line.startswith("delivery "):
            fields = dict(item.split("=", 1) for item in line.split()[3:] if "=" in item)
            parsed.append({"id": line.split()[1], "uuid": line.split()[2], **fields, "attempts_log": []})
        elif line.startswith("  attempt "):
            fields = dict(item.split("=", 1) for item in line.split()[2:] if "=" in item)
            parsed[-1]["attempts_log"].append(fields)
    return parsed


def wait_until(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {what}")


def push_small_image(wharf, repository: str, tag: str) -> tuple[str, int]:
    """A one-layer image pushed over the API (open registry); returns the manifest's digest and size."""
    c = V2Client(wharf, repository)
    layer = os.urandom(512)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []},
                         "nonce": os.urandom(8).hex()}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
        "config": {"mediaType": MT_OCI_CONFIG, "digest": c.push_blob(config), "size": len(config)},
        "layers": [{"mediaType": MT_OCI_LAYER_GZIP, "digest": c.push_blob(layer), "size": len(layer)}],
    }).encode()
    c.push_manifest(tag, manifest)
    return sha256(manifest), len(manifest)


def test_a_skopeo_push_is_delivered_as_distributions_envelope_signed(wharf_factory, skopeo, tmp_path):
    receiver = Receiver().start()
    try:
        wharf = wharf_factory(tls=True, auth=True)
        wharf.create_user("root", "root password", "--admin")
        wharf.cli("team", "create", "team", "--owner", "root")
        wharf.cli("namespace", "create", "team", "--team", "team")
        everything = create_webhook(wharf, "everything", receiver.url("/global"))
        deletes = create_webhook(wharf, "deletes", receiver.url("/deletes"), "--namespace", "team", "--events", "delete",
                                 "--header", "X-Team-Token: abc")
        src = write_oci_layout(tmp_path / "src", "v1", n_layers=2)
        certs = wharf.cert_dir(tmp_path / "certs")
        skopeo("copy", "--preserve-digests", "--retry-times", "0", "--dest-cert-dir", str(certs), "--dest-creds",
               "root:root password", f"oci:{src.path}:v1", f"docker://{wharf.host}/team/app:v1")

        got = receiver.wait_for(1)
        pushed = [r for r in got if r["path"] == "/global"]
        assert len(pushed) == 1, got
        request = pushed[0]
        assert signed_by(request, everything), request["headers"]
        assert not signed_by(request, deletes)
        assert request["headers"]["x-wharf-event"] == "push"
        assert request["headers"]["x-wharf-delivery"]
        [event] = events_of(request)
        target = event["target"]
        assert event["action"] == "push"
        assert event["id"] and event["timestamp"].endswith("Z"), event
        assert target["repository"] == "team/app"
        assert target["digest"] == src.top_digest
        assert target["tag"] == "v1"
        assert target["mediaType"] == src.top_media_type
        assert target["size"] == target["length"] == src.images[0].manifest_size
        assert event["actor"] == {"name": "root"}
        assert event["request"]["addr"].startswith("127.0.0.1"), event["request"]
        assert event["request"]["method"] == "PUT"
        assert "useragent" in event["request"] and event["request"]["id"]
        assert event["source"]["addr"].endswith(f":{wharf.port}") and event["source"]["instanceID"], event["source"]

        # The namespace's webhook wants deletes only: the push queued nothing for it; a delete reaches both.
        assert deliveries(wharf, "deletes", "--namespace", "team") == []
        c = V2Client(wharf, "team/app", auth=("root", "root password"))
        r = c.delete(f"/v2/<name>/manifests/{src.top_digest}")
        assert r.status_code == 202, r.text
        got = receiver.wait_for(3)
        [deleted] = [r for r in got if r["path"] == "/deletes"]
        assert signed_by(deleted, deletes)
        assert deleted["headers"]["x-team-token"] == "abc"
        [event] = events_of(deleted)
        assert event["action"] == "delete" and event["target"]["digest"] == src.top_digest
        assert event["target"]["repository"] == "team/app"
        assert [d["event"] for d in deliveries(wharf, "deletes", "--namespace", "team")] == ["delete"]
        wait_until("both deliveries of the global webhook are delivered",
                   lambda: [d["state"] for d in deliveries(wharf, "everything")] == ["delivered", "delivered"])
    finally:
        receiver.stop()


def test_an_endpoint_failing_three_times_gets_the_delivery_on_the_fourth_attempt(wharf_factory):
    receiver = Receiver(statuses=[500, 500, 500]).start()
    try:
        wharf = wharf_factory(tls=False)
        create_webhook(wharf, "flaky", receiver.url())
        digest, _ = push_small_image(wharf, "library/app", "v1")
        got = receiver.wait_for(4)
        assert len({r["body"] for r in got}) == 1, "every attempt sends the same body"
        assert len({r["headers"]["x-wharf-delivery"] for r in got}) == 1
        assert events_of(got[0])[0]["target"]["digest"] == digest
        wait_until("the delivery is marked delivered", lambda: deliveries(wharf, "flaky")[0]["state"] == "delivered")
        [delivery] = deliveries(wharf, "flaky")
        assert delivery["attempts"] == "4" and delivery["status"] == "200"
        assert [a["status"] for a in delivery["attempts_log"]] == ["500", "500", "500", "200"]
        # The backoff: 1 s, 2 s, then 4 s between the tries (the scheduler's clock, so at least these).
        gaps = [b["time"] - a["time"] for a, b in zip(got, got[1:])]
        assert gaps[0] >= 0.9 and gaps[1] >= 1.9 and gaps[2] >= 3.9, gaps

        # The log shows headers and bodies, credentials hidden; a re-send queues the same body again.
        verbose = wharf.cli("webhook", "deliveries", "flaky", "--verbose").stdout
        assert "X-Wharf-Signature: sha256=" in verbose and "answered 500" in verbose and "X-Receiver: e2e" in verbose
        out = wharf.cli("webhook", "resend", delivery["id"]).stdout
        assert "queued delivery" in out
        got = receiver.wait_for(5)
        assert got[4]["body"] == got[0]["body"]
        assert got[4]["headers"]["x-wharf-delivery"] != got[0]["headers"]["x-wharf-delivery"]
    finally:
        receiver.stop()


def test_undelivered_events_are_sent_after_wharf_is_killed_and_restarted(wharf_factory):
    receiver = Receiver()  # not started: the endpoint is down
    try:
        wharf = wharf_factory(tls=False, env={"WHARF_WEBHOOKS_TIMEOUT": "2s"})
        create_webhook(wharf, "later", receiver.url())
        digest, _ = push_small_image(wharf, "library/app", "v1")
        wait_until("a first attempt failed", lambda: int((deliveries(wharf, "later") or [{}])[0].get("attempts", "0")) >= 1)
        wharf.kill()
        [delivery] = deliveries(wharf, "later")
        assert delivery["state"] in ("pending", "sending"), delivery
        receiver.start()
        wharf.start()
        got = receiver.wait_for(1, timeout=90)
        assert events_of(got[0])[0]["target"]["digest"] == digest
        wait_until("the delivery is marked delivered", lambda: deliveries(wharf, "later")[0]["state"] == "delivered")
    finally:
        receiver.stop()


def test_a_hanging_endpoint_slows_neither_a_push_nor_the_other_webhooks(wharf_factory):
    hanging = Receiver(hang=True).start()
    healthy = Receiver().start()
    try:
        wharf = wharf_factory(tls=False, env={"WHARF_WEBHOOKS_TIMEOUT": "120s"})
        started = time.monotonic()
        push_small_image(wharf, "library/base", "v1")
        baseline = time.monotonic() - started

        create_webhook(wharf, "hangs", hanging.url())
        create_webhook(wharf, "healthy", healthy.url())
        for n in range(3):
            push_small_image(wharf, "library/app", f"v{n}")
        hanging.wait_for(2)  # two requests held open: the hanging webhook's whole share
        started = time.monotonic()
        digest, _ = push_small_image(wharf, "library/app", "measured")
        measured = time.monotonic() - started
        got = healthy.wait_for(4)
        assert digest in {events_of(r)[0]["target"]["digest"] for r in got}
        assert not hanging.released.is_set()
        assert len(hanging.received()) == 2, "at most two requests in flight to one webhook"
        assert measured < 10 * baseline + 2, f"push took {measured:.2f}s against {baseline:.2f}s without webhooks"
        states = [d["state"] for d in deliveries(wharf, "hangs")]
        assert states.count("sending") == 2 and states.count("pending") == 2, states
    finally:
        hanging.stop()
        healthy.stop()


def test_allowed_networks_refuse_other_targets_when_created_and_when_delivered(wharf_factory):
    receiver = Receiver().start()
    try:
        wharf = wharf_factory(tls=False, start=False, env={"WHARF_WEBHOOKS_ALLOWED_NETWORKS": "127.0.0.0/8,::1"})
        p = wharf.cli("webhook", "create", "outside", "--url", "http://10.255.255.1:8080/hook", check=False)
        assert p.returncode != 0
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and "outside webhooks.allowed_networks" in lines[0] and "10.255.255.1" in lines[0], p.stderr
        assert wharf.cli("webhook", "list").stdout == ""
        create_webhook(wharf, "inside", receiver.url())
        create_webhook(wharf, "by-name", f"http://localhost:{receiver.port}/by-name")

        # A webhook made while nothing was set (or whose name now resolves elsewhere) is checked at delivery too.
        env = {k: v for k, v in wharf.env().items() if k != "WHARF_WEBHOOKS_ALLOWED_NETWORKS"}
        subprocess.run([wharf.bin, "webhook", "create", "sneaky", "--url", "http://10.255.255.1:8080/hook", "--data",
                        str(wharf.data_dir)], env=env, check=True, capture_output=True, timeout=60)
        wharf.start()
        push_small_image(wharf, "library/app", "v1")
        got = receiver.wait_for(2)
        assert sorted(r["path"] for r in got) == ["/by-name", "/hook"]
        wait_until("the refused delivery has an attempt", lambda: deliveries(wharf, "sneaky")[0]["attempts_log"] != [])
        attempt = deliveries(wharf, "sneaky")[0]["attempts_log"][0]
        assert attempt["status"] == "-"
        log = wharf.cli("webhook", "deliveries", "sneaky").stdout
        assert "outside webhooks.allowed_networks" in log, log
    finally:
        receiver.stop()


def test_the_cli_manages_webhooks_and_records_activities(wharf_factory):
    receiver = Receiver(statuses=[200, 503]).start()
    try:
        wharf = wharf_factory(tls=False, start=False)
        wharf.cli("team", "create", "ops")
        wharf.cli("namespace", "create", "ops", "--team", "ops")
        secret = create_webhook(wharf, "ci", receiver.url(), "--namespace", "ops", "--events", "push,pull",
                                "--username", "bot", "--password", "pw")
        assert len(secret) == 64
        p = wharf.cli("webhook", "create", "ci", "--url", receiver.url(), "--namespace", "ops", check=False)
        assert p.returncode != 0 and p.stderr.strip() == "wharf: webhook ci in namespace ops already exists", p.stderr
        p = wharf.cli("webhook", "create", "x", "--url", receiver.url(), "--events", "push,build", check=False)
        assert p.returncode != 0 and "unknown webhook event build" in p.stderr, p.stderr
        p = wharf.cli("webhook", "create", "x", "--url", "ftp://example.com/", check=False)
        assert p.returncode != 0 and "not an http:// or https:// URL" in p.stderr, p.stderr

        listed = wharf.cli("webhook", "list").stdout.splitlines()
        assert listed == [f"ci namespace=ops url={receiver.url()} events=push,pull enabled=yes pending=0 sending=0 "
                          f"delivered=0 failed=0"], listed

        # test delivers a signed ping from the command itself, with Basic credentials
        out = wharf.cli("webhook", "test", "ci", "--namespace", "ops").stdout
        assert out.startswith("delivered ping "), out
        [ping] = receiver.received()
        assert signed_by(ping, secret)
        assert ping["headers"]["authorization"] == "Basic Ym90OnB3"
        assert events_of(ping)[0]["action"] == "ping"
        # a failing test exits non-zero with one line, and is logged
        p = wharf.cli("webhook", "test", "ci", "--namespace", "ops", check=False)
        assert p.returncode != 0 and p.stderr.strip().startswith("wharf: test delivery to ") and "503" in p.stderr, p.stderr
        log = deliveries(wharf, "ci", "--namespace", "ops")
        assert [(d["state"], d["status"]) for d in log] == [("failed", "503"), ("delivered", "200")]
        verbose = wharf.cli("webhook", "deliveries", "ci", "--namespace", "ops", "--verbose").stdout
        assert "Authorization: (hidden)" in verbose and "Ym90OnB3" not in verbose

        out = wharf.cli("webhook", "update", "ci", "--namespace", "ops", "--events", "delete", "--rotate-secret").stdout
        assert "events=delete" in out and "secret: " in out
        wharf.cli("webhook", "disable", "ci", "--namespace", "ops")
        assert "enabled=no" in wharf.cli("webhook", "list", "--namespace", "ops").stdout
        wharf.cli("webhook", "enable", "ci", "--namespace", "ops")
        wharf.cli("webhook", "delete", "ci", "--namespace", "ops")
        assert wharf.cli("webhook", "list").stdout == ""
        p = wharf.cli("webhook", "delete", "ci", "--namespace", "ops", check=False)
        assert p.returncode != 0 and p.stderr.strip() == "wharf: unknown webhook ci in namespace ops", p.stderr

        with sqlite3.connect(wharf.data_dir / "wharf.sqlite") as db:
            rows = db.execute("SELECT action, target_name, actor_name FROM activities WHERE target_kind = 'webhook' "
                              "ORDER BY id").fetchall()
        assert rows == [("webhook.create", "ops/ci", "cli"), ("webhook.update", "ops/ci", "cli"),
                        ("webhook.disable", "ops/ci", "cli"), ("webhook.enable", "ops/ci", "cli"),
                        ("webhook.delete", "ops/ci", "cli")], rows
    finally:
        receiver.stop()


def test_an_oras_push_and_a_pull_reach_the_webhooks_that_want_them(wharf, tmp_path, monkeypatch):
    import oras.client

    receiver = Receiver().start()
    try:
        pushes = create_webhook(wharf, "pushes", receiver.url("/pushes"), "--events", "push")
        pulls = create_webhook(wharf, "pulls", receiver.url("/pulls"), "--events", "pull")
        monkeypatch.chdir(tmp_path)  # oras-py only pushes files below the working directory
        (tmp_path / "report.bin").write_bytes(os.urandom(4096))
        client = oras.client.OrasClient(hostname=wharf.host, tls_verify=str(wharf.cert_path))
        r = client.push(target=f"{wharf.host}/artifacts/doc:v1", files=["report.bin"], quiet=True)
        assert r.status_code == 201, r.text
        digest = r.headers["Docker-Content-Digest"]
        [pushed] = receiver.wait_for(1)
        assert pushed["path"] == "/pushes" and signed_by(pushed, pushes)
        [event] = events_of(pushed)
        assert (event["action"], event["target"]["repository"], event["target"]["digest"], event["target"]["tag"]) == \
            ("push", "artifacts/doc", digest, "v1")
        assert event["target"]["mediaType"] == MT_OCI_MANIFEST

        # A running server learns of webhooks another process (this CLI) created within about 2 s (4 at most):
        # until then a pull is not offered to webhooks. Pull until one is delivered, then check the first.
        deadline = time.monotonic() + 20
        while not [r for r in receiver.received() if r["path"] == "/pulls"] and time.monotonic() < deadline:
            r = V2Client(wharf).get("/v2/artifacts/doc/manifests/v1", headers={"Accept": MT_OCI_MANIFEST})
            assert r.status_code == 200
            time.sleep(0.5)
        got = receiver.wait_for(2)
        pulled = [r for r in got if r["path"] == "/pulls"][0]
        assert signed_by(pulled, pulls)
        [event] = events_of(pulled)
        assert (event["action"], event["target"]["repository"], event["target"]["digest"]) == ("pull", "artifacts/doc", digest)
        assert event["request"]["method"] == "GET"
        assert [d["event"] for d in deliveries(wharf, "pushes")] == ["push"]
    finally:
        receiver.stop()
