"""`wharf gc --dry-run` on a folder filled by real pushes (skopeo and a raw client into a running Wharf), one image
deleted by digest through the API: it finds exactly the blobs Debian's distribution (`docker-registry
garbage-collect --dry-run`) finds on the same folder, keeps what distribution#3178 would lose with
--delete-untagged (a multi-arch index's untagged children) and a referrer of a tagged image, and changes nothing."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

from ocihelpers import MT_OCI_CONFIG, MT_OCI_LAYER_GZIP, MT_OCI_MANIFEST, V2Client, describe, sha256, write_oci_layout
from test_skopeo import push

ELIGIBLE = re.compile(r"^blob eligible for deletion: (sha256:[0-9a-f]{64})$", re.M)
MANIFEST_ELIGIBLE = re.compile(r"^manifest eligible for deletion: (sha256:[0-9a-f]{64})$", re.M)


def tree(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under `root`: modification time (ns) and content hash. Any write shows."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        out[str(p.relative_to(root))] = (st.st_mtime_ns, digest)
    return out


def gc(wharf, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    p = wharf.cli("gc", *args, check=False)
    if check:
        assert p.returncode == 0, f"wharf gc {args} exited {p.returncode}: {p.stderr}"
    return p


def gc_json(wharf, *args: str) -> dict:
    return json.loads(gc(wharf, "--dry-run", "--json", *args).stdout)


def distribution_gc(dist, *args: str) -> tuple[set[str], set[str]]:
    """`docker-registry garbage-collect --dry-run CONFIG`: the blobs and manifests it would delete."""
    p = subprocess.run([dist.bin, "garbage-collect", "--dry-run", *args, str(dist.config_path)], capture_output=True,
                       text=True, timeout=120, env=dist.env())
    assert p.returncode == 0, f"garbage-collect exited {p.returncode}: {p.stdout[-2000:]} {p.stderr[-2000:]}"
    return set(ELIGIBLE.findall(p.stdout)), set(MANIFEST_ELIGIBLE.findall(p.stdout))


def image_manifest(config: str, config_size: int, layers: list[tuple[str, int]], subject=None) -> bytes:
    m = {
        "schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
        "config": {"mediaType": MT_OCI_CONFIG, "digest": config, "size": config_size},
        "layers": [{"mediaType": MT_OCI_LAYER_GZIP, "digest": d, "size": s} for d, s in layers],
    }
    if subject:
        m["subject"] = {"mediaType": MT_OCI_MANIFEST, "digest": subject[0], "size": subject[1]}
    return json.dumps(m).encode()


def test_gc_dry_run_agrees_with_distribution(wharf, skopeo, distribution_factory, tmp_path):
    certs = wharf.cert_dir(tmp_path / "certs")
    app = write_oci_layout(tmp_path / "app", "v1", n_layers=2)
    multi = write_oci_layout(tmp_path / "multi", "v1", platforms=["amd64", "arm64"], n_layers=2)
    push(skopeo, wharf, certs, app, "team/app:v1")
    push(skopeo, wharf, certs, multi, "team/multi:v1")

    # other/gone shares team/app's first layer and has one of its own; it is deleted by digest below.
    c = V2Client(wharf)
    shared_layer = app.images[0].layers[0]
    shared_bytes = (app.path / "blobs" / "sha256" / shared_layer.digest.split(":", 1)[1]).read_bytes()
    assert c.push_blob(shared_bytes, name="other/gone") == shared_layer.digest
    unique = b"\x1f\x8b" + b"layer of the image that goes" * 100
    unique_digest = c.push_blob(unique, name="other/gone")
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    config_digest = c.push_blob(config, name="other/gone")
    gone = image_manifest(config_digest, len(config), [(shared_layer.digest, shared_layer.size), (unique_digest, len(unique))])
    c.push_manifest("v1", gone, name="other/gone")
    gone_digest = sha256(gone)
    # A second tag of the same manifest: a delete by digest removes both.
    c.push_manifest("latest", gone, name="other/gone")

    # A signature of team/app:v1, pushed by digest (untagged): a referrer.
    signature = b"a signature of team/app:v1"
    signature_digest = c.push_blob(signature, name="team/app")
    empty = b"{}"
    empty_digest = c.push_blob(empty, name="team/app")
    referrer = image_manifest(empty_digest, len(empty), [(signature_digest, len(signature))],
                              subject=(app.top_digest, app.images[0].manifest_size))
    referrer_digest = sha256(referrer)
    c.push_manifest(referrer_digest, referrer, name="team/app")

    # Nothing is unreferenced yet (the grace period aside).
    assert gc_json(wharf, "--min-age", "0")["eligible"] == []

    r = c.delete(f"/v2/other/gone/manifests/{gone_digest}")
    assert r.status_code == 202, describe(r)
    assert c.get("/v2/other/gone/manifests/v1").status_code == 404

    before = tree(wharf.registry_dir)
    expected = {gone_digest, config_digest, unique_digest}

    # Default (untagged manifests kept): the same set as distribution's garbage-collect.
    report = gc_json(wharf, "--min-age", "0")
    eligible = {b["digest"] for b in report["eligible"]}
    assert eligible == expected, report
    links = {b["digest"]: b["layer_links"] for b in report["eligible"]}
    assert links == {gone_digest: [], config_digest: ["other/gone"], unique_digest: ["other/gone"]}, report
    assert report["eligible_layer_links"] == 2
    assert report["eligible_bytes"] == len(gone) + len(config) + len(unique)
    assert report["missing"] == 0 and report["untagged_manifests"] == [], report
    every_blob = app.blob_digests() | multi.blob_digests() | expected | {signature_digest, empty_digest, referrer_digest}
    assert report["blobs"] == len(every_blob) and report["kept_blobs"] == len(every_blob) - 3, report

    dist = distribution_factory(root_dir=wharf.registry_dir, start=False)
    dist_blobs, dist_manifests = distribution_gc(dist)
    assert dist_blobs == eligible and dist_manifests == set()

    # --untagged: Wharf keeps the index children (tagged through the index) and the referrer (its subject is
    # tagged); distribution 2.8's --delete-untagged would delete both, and the children's configs and layers
    # (distribution#3178): exactly those, and nothing else, differ.
    untagged = gc_json(wharf, "--min-age", "0", "--untagged", "--kept")
    assert {b["digest"] for b in untagged["eligible"]} == expected, untagged
    assert untagged["untagged_manifests"] == [], untagged
    reasons = {b["digest"]: b["reason"] for b in untagged["kept_list"]}
    for im in multi.images:
        for blob in [im.manifest_digest, im.config.digest, *(l.digest for l in im.layers)]:
            assert reasons[blob]["kind"] == "child", (blob, reasons[blob])
    assert reasons[multi.top_digest] == {"kind": "tagged", "detail": "team/multi:v1"}
    assert reasons[referrer_digest]["kind"] == "referrer" and app.top_digest in reasons[referrer_digest]["detail"]
    assert reasons[signature_digest]["kind"] == "referrer"
    assert reasons[shared_layer.digest] == {"kind": "tagged", "detail": "team/app:v1"}
    dist_blobs, dist_manifests = distribution_gc(dist, "--delete-untagged")
    children = {im.manifest_digest for im in multi.images}
    assert dist_manifests == children | {referrer_digest}
    lost = {d for im in multi.images for d in [im.config.digest, *(l.digest for l in im.layers)]}
    assert dist_blobs == expected | lost | {referrer_digest, signature_digest, empty_digest}

    # The text report: one line per eligible blob, the summary first.
    p = gc(wharf, "--dry-run", "--min-age", "0")
    lines = p.stdout.splitlines()
    assert lines[0].startswith(f"dry run: {len(every_blob)} blobs"), p.stdout
    assert f"eligible for deletion: 3 blobs" in p.stdout, p.stdout
    assert {line.split()[1] for line in lines if line.startswith("eligible sha256:")} == expected, p.stdout

    # The default grace period (1 h) keeps everything just pushed.
    young = gc_json(wharf)
    assert young["eligible"] == [] and young["min_age_seconds"] == 3600, young
    assert {"reason": "too_young", "blobs": 3, "bytes": report["eligible_bytes"]} in young["kept"], young

    # gc.min_age sets the default grace (here from the environment); --min-age overrides it.
    env = {**wharf.env(), "WHARF_GC_MIN_AGE": "2h"}
    configured = subprocess.run([wharf.bin, "gc", "--dry-run", "--json", "--data", str(wharf.data_dir)], env=env,
                                capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(configured.stdout)["min_age_seconds"] == 7200
    overridden = subprocess.run([wharf.bin, "gc", "--dry-run", "--json", "--min-age", "0", "--data", str(wharf.data_dir)],
                                env=env, capture_output=True, text=True, timeout=120, check=True)
    assert {b["digest"] for b in json.loads(overridden.stdout)["eligible"]} == expected

    assert gc(wharf, "--dry-run", "--min-age", "soon", check=False).returncode == 64

    # Nothing on disk changed, byte for byte and time for time.
    assert tree(wharf.registry_dir) == before

    # The real run deletes exactly what the dry run listed, with the layer links to it, and nothing else.
    done = json.loads(gc(wharf, "--min-age", "0", "--json").stdout)
    assert done["dry_run"] is False, done
    assert {b["digest"] for b in done["eligible"]} == expected, done
    assert done["reclaimed_blobs"] == 3 and done["reclaimed_bytes"] == report["eligible_bytes"], done
    assert done["removed_layer_links"] == 2 and done["rescued_blobs"] == 0, done
    blobs = wharf.registry_dir / "docker" / "registry" / "v2" / "blobs" / "sha256"
    for digest in expected:
        assert not (blobs / digest[7:9] / digest[7:]).exists(), digest
    layers = wharf.registry_dir / "docker" / "registry" / "v2" / "repositories" / "other" / "gone" / "_layers" / "sha256"
    assert sorted(p.name for p in layers.iterdir()) == [shared_layer.digest[7:]]
    after = tree(wharf.registry_dir)
    assert {path for path in before if path not in after and "/_layers/" not in path and "/blobs/" not in path} == set()
    assert gc_json(wharf, "--min-age", "0")["eligible"] == []

    # Distribution's own collector finds nothing more to delete, and distribution serves the folder.
    assert distribution_gc(dist) == (set(), set())
    dist.start()
    d = V2Client(dist)
    for layout, name in [(app, "team/app"), (multi, "team/multi")]:
        for im in layout.images:
            r = d.get(f"/v2/{name}/manifests/{im.manifest_digest}", headers={"Accept": MT_OCI_MANIFEST})
            assert r.status_code == 200 and sha256(r.content) == im.manifest_digest, describe(r)
            for blob in [im.config.digest, *(l.digest for l in im.layers)]:
                r = d.get(f"/v2/{name}/blobs/{blob}")
                assert r.status_code == 200 and sha256(r.content) == blob, describe(r)
    r = d.get(f"/v2/team/app/manifests/{referrer_digest}", headers={"Accept": MT_OCI_MANIFEST})
    assert r.status_code == 200, describe(r)
