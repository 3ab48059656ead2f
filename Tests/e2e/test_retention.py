"""Retention policies end to end: the built binary, real pushes (skopeo and a raw client), a webhook receiver, and
wharf gc freeing what a run removed.

Push times are the modification times of the tags' `current/link` files in storage (what Wharf judges by), so
each test sets them with os.utime to make tags old; no clock is faked."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import requests

from ocihelpers import MT_OCI_CONFIG, MT_OCI_LAYER_GZIP, MT_OCI_MANIFEST, V2Client, describe, error_codes, sha256, write_oci_layout
from test_webhooks import Receiver, create_webhook, events_of, wait_until

DAY = 86_400


def small_manifest(c: V2Client, name: str, label: str, subject: tuple[str, int] | None = None) -> bytes:
    """A one-layer image (or, with `subject`, an artifact describing another manifest) whose blobs are pushed."""
    layer = f"layer of {label}".encode() + os.urandom(16)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []},
                         "label": label}).encode()
    m = {
        "schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
        "config": {"mediaType": MT_OCI_CONFIG, "digest": c.push_blob(config, name=name), "size": len(config)},
        "layers": [{"mediaType": MT_OCI_LAYER_GZIP, "digest": c.push_blob(layer, name=name), "size": len(layer)}],
    }
    if subject:
        m["subject"] = {"mediaType": MT_OCI_MANIFEST, "digest": subject[0], "size": subject[1]}
    return json.dumps(m).encode()


def age_tag(wharf, repository: str, tag: str, days: float) -> None:
    """Makes `tag` look pushed `days` ago."""
    link = wharf.registry_dir / "docker/registry/v2/repositories" / repository / "_manifests/tags" / tag / "current/link"
    when = time.time() - days * DAY
    os.utime(link, (when, when))


def age_manifest(wharf, repository: str, digest: str, days: float) -> None:
    link = (wharf.registry_dir / "docker/registry/v2/repositories" / repository / "_manifests/revisions/sha256"
            / digest.split(":", 1)[1] / "link")
    when = time.time() - days * DAY
    os.utime(link, (when, when))


def tags_of(c: V2Client, repository: str) -> list[str]:
    r = c.get(f"/v2/{repository}/tags/list")
    assert r.status_code == 200, describe(r)
    return sorted(r.json().get("tags") or [])


def retention(wharf, *args: str, check: bool = True):
    return wharf.cli("retention", *args, check=check)


def run_json(wharf, *args: str) -> dict:
    return json.loads(retention(wharf, "run", "--json", *args).stdout)


def setup_team(wharf) -> None:
    wharf.create_user("root", "root password", "--admin")
    wharf.create_user("olivia", "olivia password")
    wharf.create_user("max", "max password")
    wharf.cli("team", "create", "team", "--owner", "olivia")
    wharf.cli("team", "add", "team", "max", "--role", "viewer")
    wharf.cli("namespace", "create", "team", "--team", "team")


def test_a_cli_policy_removes_old_tags_with_their_signatures_and_tells_webhooks(wharf_factory, skopeo, tmp_path):
    receiver = Receiver().start()
    try:
        wharf = wharf_factory(tls=True, auth=True)
        setup_team(wharf)
        create_webhook(wharf, "deletes", receiver.url("/deletes"), "--namespace", "team", "--events", "delete")
        certs = wharf.cert_dir(tmp_path / "certs")
        c = V2Client(wharf, "team/app", auth=("root", "root password"))

        # b1..b4, latest and v1.0.0, six images; skopeo pushes one of them.
        src = write_oci_layout(tmp_path / "src", "v1", n_layers=1)
        skopeo("copy", "--preserve-digests", "--retry-times", "0", "--dest-cert-dir", str(certs), "--dest-creds",
               "root:root password", f"oci:{src.path}:v1", f"docker://{wharf.host}/team/app:b4")
        digests = {"b4": src.top_digest}
        for tag in ["b1", "b2", "b3", "latest", "v1.0.0"]:
            body = small_manifest(c, "team/app", tag)
            c.push_manifest(tag, body)
            digests[tag] = sha256(body)
        b1_size = len(small_manifest(c, "team/app", "unused"))  # the size only names the subject
        # A cosign signature of b1 (a tag named after its digest) and an OCI referrer (an SBOM) of b1.
        signature = small_manifest(c, "team/app", "signature")
        cosign_tag = digests["b1"].replace(":", "-") + ".sig"
        c.push_manifest(cosign_tag, signature)
        sbom = small_manifest(c, "team/app", "sbom", subject=(digests["b1"], b1_size))
        c.push_manifest(sha256(sbom), sbom)
        # An SBOM of b3, which stays.
        kept_sbom = small_manifest(c, "team/app", "kept sbom", subject=(digests["b3"], b1_size))
        c.push_manifest(sha256(kept_sbom), kept_sbom)

        for tag, days in {"b1": 60, "b2": 50, "b3": 40, "b4": 1, "latest": 90, "v1.0.0": 90, cosign_tag: 60}.items():
            age_tag(wharf, "team/app", tag, days)

        # Bad input: one line, non-zero exit, nothing stored.
        bad = retention(wharf, "set", "--namespace", "team", "--tag-match", "(unclosed", check=False)
        assert bad.returncode != 0 and "tag_match" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
        bad = retention(wharf, "set", "--namespace", "team", "--keep-latest=-2", check=False)
        assert bad.returncode != 0 and "keep_latest" in bad.stderr, bad.stderr
        bad = retention(wharf, "set", "--namespace", "nowhere", "--keep-latest", "2", check=False)
        assert bad.returncode != 0 and "nowhere" in bad.stderr, bad.stderr
        assert "no policy applies" in retention(wharf, "show", "--namespace", "team").stdout

        # Portus's delete.garbage_collector: older_than 30 days, keep_latest 2.
        shown = retention(wharf, "set", "--namespace", "team", "--keep-latest", "2", "--older-than-days", "30").stdout
        assert "keep_latest: 2" in shown and "older_than_days: 30" in shown and "protected: ^latest$" in shown, shown
        shown = json.loads(retention(wharf, "show", "--namespace", "team", "--json").stdout)
        assert shown["own"]["keep_latest"] == 2 and shown["effective_source"] == "namespace team", shown

        # The dry run says what and why, and changes nothing.
        dry = run_json(wharf, "--dry-run", "--namespace", "team")
        assert dry["dry_run"] is True
        removed = {(r["kind"], r.get("tag") or r["digest"]): r["reason"] for r in dry["removals"]}
        expected = {
            ("tag", "b1"), ("tag", "b2"), ("manifest", digests["b1"]), ("manifest", digests["b2"]),
            ("tag", cosign_tag), ("manifest", sha256(signature)), ("manifest", sha256(sbom)),
        }
        assert set(removed) == expected, dry
        # b3 (40 days) is one of the 2 most recent candidates with b4; latest and v1.0.0 are protected.
        assert removed[("tag", "b1")] == "older than 30 days and not among the 2 most recent"
        assert removed[("manifest", sha256(sbom))] == f"refers to {digests['b1']}, which is removed"
        order = [r.get("tag") or r["digest"] for r in dry["removals"]]
        assert order.index(sha256(sbom)) < order.index(digests["b1"]) and order.index(cosign_tag) < order.index(digests["b1"])
        assert tags_of(c, "team/app") == sorted(["b1", "b2", "b3", "b4", "latest", "v1.0.0", cosign_tag])

        text = retention(wharf, "run", "--namespace", "team").stdout
        assert "removed team/app:b1: older than 30 days and not among the 2 most recent" in text, text
        assert tags_of(c, "team/app") == ["b3", "b4", "latest", "v1.0.0"]
        for gone in [digests["b1"], digests["b2"], sha256(sbom), sha256(signature)]:
            assert c.get(f"/v2/team/app/manifests/{gone}").status_code == 404, gone
        assert c.get(f"/v2/team/app/manifests/{sha256(kept_sbom)}").status_code == 200
        referrers = c.get(f"/v2/team/app/referrers/{digests['b3']}").json()["manifests"]
        assert [m["digest"] for m in referrers] == [sha256(kept_sbom)]

        # Idempotent: a second run (another replica's) removes nothing.
        again = run_json(wharf, "--namespace", "team")
        assert again["removals"] == [] and again["skipped"] == [], again

        # Each removal is an activity by the policy and a delete event for the webhook.
        activities = json.loads(wharf.cli("activity", "list", "--namespace", "team", "--user", "retention:team", "--json").stdout)
        assert len(activities) == 7, activities
        events = []
        wait_until("7 delete events", lambda: len([e for r in receiver.received() for e in events_of(r)]) >= 7)
        for request in receiver.received():
            events += events_of(request)
        assert {e["action"] for e in events} == {"delete"}
        assert {e["target"].get("tag") for e in events if e["target"].get("tag")} == {"b1", "b2", cosign_tag}
        assert {e["target"]["digest"] for e in events if not e["target"].get("tag")} == {
            digests["b1"], digests["b2"], sha256(signature), sha256(sbom)}
        assert {e["actor"]["name"] for e in events} == {"retention:team"}

        # Garbage collection then frees what the removed images held; what stays is untouched.
        def blob_file(digest: str) -> Path:
            hexdigits = digest.split(":", 1)[1]
            return wharf.registry_dir / "docker/registry/v2/blobs/sha256" / hexdigits[:2] / hexdigits / "data"
        assert blob_file(digests["b1"]).exists()
        done = json.loads(wharf.cli("gc", "--min-age", "0", "--json").stdout)
        assert done["reclaimed_blobs"] > 0, done
        for gone in [digests["b1"], digests["b2"], sha256(sbom), sha256(signature)]:
            assert not blob_file(gone).exists(), gone
        for kept in [digests["b3"], digests["b4"], sha256(kept_sbom)]:
            assert blob_file(kept).exists(), kept
        assert c.get("/v2/team/app/manifests/b3").status_code == 200
    finally:
        receiver.stop()


def test_immutable_tags_refuse_a_move_and_a_delete_but_take_the_same_digest_again(wharf_factory, tmp_path):
    wharf = wharf_factory(tls=True, auth=True)
    setup_team(wharf)
    # Set before the first push: the server caches a namespace's policy for up to 5 seconds, so a policy set by
    # another process applies within that time (see the loop at the end).
    retention(wharf, "set", "--namespace", "team", "--immutable", r"^v[0-9]")
    c = V2Client(wharf, "team/app", auth=("olivia", "olivia password"))
    first = small_manifest(c, "team/app", "first")
    second = small_manifest(c, "team/app", "second")
    c.push_manifest("v1.0.0", first)
    c.push_manifest("dev", first)

    # Moving it: DENIED naming the tag, the namespace and the policy.
    r = c.put("/v2/team/app/manifests/v1.0.0", data=second, headers={"Content-Type": MT_OCI_MANIFEST})
    assert r.status_code == 403 and error_codes(r) == ["DENIED"], describe(r)
    detail = r.json()["errors"][0]["detail"]
    assert "v1.0.0" in detail and "namespace team" in detail and "retention policy" in detail, detail
    # The same content again: fine (a retried push). Other tags move freely.
    c.push_manifest("v1.0.0", first)
    c.push_manifest("dev", second)
    # Deleting it, or the manifest it points at, through /v2 is refused the same way.
    r = c.delete("/v2/team/app/manifests/v1.0.0")
    assert r.status_code == 403 and error_codes(r) == ["DENIED"], describe(r)
    r = c.delete(f"/v2/team/app/manifests/{sha256(first)}")
    assert r.status_code == 403 and "v1.0.0" in r.json()["errors"][0]["detail"], describe(r)
    # ... and through the API.
    api = f"{wharf.base_url}/api/v1"
    r = requests.delete(f"{api}/repositories/team%2Fapp/tags/v1.0.0", auth=("olivia", "olivia password"), verify=wharf.verify)
    assert r.status_code == 403 and "immutable" in r.json()["error"]["message"], r.text
    r = requests.delete(f"{api}/repositories/team%2Fapp", auth=("olivia", "olivia password"), verify=wharf.verify)
    assert r.status_code == 403, r.text
    r = requests.delete(f"{api}/namespaces/team", params={"delete_repositories": "true"}, auth=("olivia", "olivia password"),
                        verify=wharf.verify)
    assert r.status_code == 403 and "immutable" in r.json()["error"]["message"], r.text
    assert c.get("/v2/team/app/manifests/v1.0.0").status_code == 200

    # After the policy changes, the delete goes through.
    retention(wharf, "set", "--namespace", "team", "--immutable", "none")
    deadline = time.monotonic() + 30
    while True:
        r = c.delete("/v2/team/app/manifests/v1.0.0")
        if r.status_code == 202 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert r.status_code == 202, describe(r)


def test_the_api_sets_previews_and_runs_policies_with_owners_editing_and_members_viewing(wharf_factory, tmp_path):
    wharf = wharf_factory(tls=True, auth=True)
    setup_team(wharf)
    api = f"{wharf.base_url}/api/v1"

    def call(method, path, who, body=None, expect=200):
        r = requests.request(method, api + path, json=body, auth=who, verify=wharf.verify, timeout=60)
        assert r.status_code == expect, f"{method} {path} as {who[0]}: {r.status_code} {r.text}"
        return r.json() if r.status_code != 204 else None

    root, olivia, max_ = ("root", "root password"), ("olivia", "olivia password"), ("max", "max password")
    c = V2Client(wharf, "team/api", auth=olivia)
    digests = {}
    for tag in ["pr-1", "pr-2", "pr-3", "main"]:
        body = small_manifest(c, "team/api", tag)
        c.push_manifest(tag, body)
        digests[tag] = sha256(body)
    untagged = small_manifest(c, "team/api", "untagged")
    c.push_manifest(sha256(untagged), untagged)
    age_manifest(wharf, "team/api", sha256(untagged), 20)

    # Nothing yet; a global default set by an admin applies to the namespace.
    got = call("GET", "/namespaces/team/retention", max_)
    assert got["policy"] is None and got["effective"] is None and got["effective_source"] is None
    call("PUT", "/retention", olivia, {"keep_latest": 1}, expect=403)
    call("PUT", "/retention", root, {"untagged_older_than_days": 14})
    got = call("GET", "/namespaces/team/retention", max_)
    assert got["effective_source"] == "global" and got["effective"]["untagged_older_than_days"] == 14

    # The namespace's own: owners set it, members view it; validation names the field.
    call("PUT", "/namespaces/team/retention", max_, {"keep_latest": 1}, expect=403)
    err = call("PUT", "/namespaces/team/retention", olivia, {"tag_match": "(pr-"}, expect=422)
    assert err["error"]["details"]["fields"][0]["field"].endswith("tag_match"), err
    call("PUT", "/namespaces/team/retention", olivia, {"keep_latest": -1}, expect=422)
    got = call("PUT", "/namespaces/team/retention", olivia, {"keep_latest": 1, "tag_match": "^pr-", "untagged_older_than_days": 7})
    assert got["policy"]["keep_latest"] == 1 and got["policy"]["protected"].startswith("^latest$") and got["updated_by"] == "olivia"
    assert call("GET", "/namespaces/team/retention", max_)["effective_source"] == "namespace"

    # Members preview; only owners run.
    preview = call("POST", "/retention/runs", max_, {"namespace": "team", "dry_run": True})
    want = {("tag", "pr-1"), ("tag", "pr-2"), ("manifest", digests["pr-1"]), ("manifest", digests["pr-2"]),
            ("manifest", sha256(untagged))}
    assert {(r["kind"], r.get("tag") or r["digest"]) for r in preview["removals"]} == want, preview
    assert preview["dry_run"] is True
    call("POST", "/retention/runs", max_, {"namespace": "team", "dry_run": False}, expect=403)
    call("POST", "/retention/runs", olivia, {"dry_run": False}, expect=403)
    # A preview of every namespace would list repositories the caller may not see: admins only.
    call("POST", "/retention/runs", max_, {"dry_run": True}, expect=403)
    assert call("POST", "/retention/runs", root, {})["dry_run"] is True
    done = call("POST", "/retention/runs", olivia, {"namespace": "team", "dry_run": False})
    assert {(r["kind"], r.get("tag") or r["digest"]) for r in done["removals"]} == want
    assert tags_of(c, "team/api") == ["main", "pr-3"]

    call("DELETE", "/namespaces/team/retention", olivia, expect=204)
    assert call("GET", "/namespaces/team/retention", olivia)["effective_source"] == "global"
    call("DELETE", "/retention", root, expect=204)
    call("GET", "/namespaces/nowhere/retention", root, expect=404)


def test_retention_schedule_applies_the_policies_from_wharf_serve(wharf_factory):
    wharf = wharf_factory(tls=True, auth=True, env={"WHARF_RETENTION_SCHEDULE": "1s"})
    setup_team(wharf)
    c = V2Client(wharf, "team/cron", auth=("olivia", "olivia password"))
    for tag in ["old", "new"]:
        c.push_manifest(tag, small_manifest(c, "team/cron", tag))
    age_tag(wharf, "team/cron", "old", 10)
    retention(wharf, "set", "--namespace", "team", "--older-than-days", "7")
    wait_until("the scheduled run removed the old tag", lambda: tags_of(c, "team/cron") == ["new"])
    activities = json.loads(wharf.cli("activity", "list", "--user", "retention:team", "--json").stdout)
    assert activities, "the scheduled removal is an activity by the policy"
