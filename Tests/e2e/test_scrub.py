"""`wharf scrub` on a folder filled by real pushes (skopeo into a running Wharf): a byte flipped on disk is found
(with and without --deep) and named with the images that need it, --quarantine moves exactly that file, a pull of
the damaged image then fails cleanly while the others still pull, and pushing the image again heals it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from ocihelpers import (MT_OCI_CONFIG, MT_OCI_LAYER_GZIP, MT_OCI_MANIFEST, V2Client, sha256, write_oci_layout)
from test_skopeo import assert_same_layout, pull, push


def blob_path(wharf, digest: str) -> Path:
    hexd = digest.split(":", 1)[1]
    return wharf.registry_dir / "docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"


def files_below(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def scrub(wharf, *args: str):
    p = wharf.cli("scrub", *args, check=False)
    assert p.returncode in (0, 1), f"wharf scrub {args} exited {p.returncode}: {p.stderr}"
    return p


def scrub_json(wharf, *args: str) -> tuple[int, dict]:
    p = scrub(wharf, "--json", *args)
    return p.returncode, json.loads(p.stdout)


def test_scrub_finds_quarantines_and_heals_a_flipped_byte(wharf, skopeo, tmp_path):
    certs = wharf.cert_dir(tmp_path / "certs")
    app = write_oci_layout(tmp_path / "app", "v1", n_layers=3)
    multi = write_oci_layout(tmp_path / "multi", "v1", platforms=["amd64", "arm64"], n_layers=2)
    other = write_oci_layout(tmp_path / "other", "v1", n_layers=2)
    push(skopeo, wharf, certs, app, "team/app:v1")
    push(skopeo, wharf, certs, multi, "team/multi:v1")
    push(skopeo, wharf, certs, other, "other/ok:v1")
    every_blob = app.blob_digests() | multi.blob_digests() | other.blob_digests()

    # All is well: exit 0, every blob hashed, every gzip layer decompressed to its diff_id.
    p = scrub(wharf)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "0 missing, 0 corrupt" in p.stdout, p.stdout
    code, report = scrub_json(wharf, "--deep")
    assert code == 0, report
    assert report["blobs_checked"] == len(every_blob), report
    assert report["ok"] == len(every_blob) and report["findings"] == [], report
    assert report["layers_decompressed"] == 3 + 2 * 2 + 2, report

    # Flip one byte of one layer of team/app, keeping its size.
    victim = app.images[0].layers[1].digest
    path = blob_path(wharf, victim)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))

    for deep in ([], ["--deep"]):
        p = scrub(wharf, *deep)
        assert p.returncode == 1, p.stdout + p.stderr
        assert "0 missing, 1 corrupt" in p.stdout, p.stdout
        assert f"corrupt {victim}: the data hashes to sha256:" in p.stdout, p.stdout
        assert f"team/app@{app.top_digest}" in p.stdout, p.stdout
        assert p.stderr.strip() == "wharf: scrub found 0 missing and 1 corrupt blobs", p.stderr
    code, report = scrub_json(wharf, "--deep")
    assert code == 1
    assert [(f["digest"], f["kind"]) for f in report["findings"]] == [(victim, "corrupt")], report
    assert sorted(report["findings"][0]["references"]) == ["team/app (layer link)", f"team/app@{app.top_digest}"]
    assert report["ok"] == len(every_blob) - 1, report

    # --repository: only what the repository references.
    assert scrub(wharf, "--repository", "other/ok").returncode == 0
    assert scrub(wharf, "--repository", "team/multi", "--deep").returncode == 0
    assert scrub(wharf, "--repository", "team/app").returncode == 1
    p = wharf.cli("scrub", "--repository", "Not A Name", check=False)
    assert p.returncode == 64, (p.returncode, p.stderr)

    # A pull of the damaged image fails (the client checks the digest) and leaves nothing behind; others pull.
    failed = skopeo("copy", "--retry-times", "0", "--src-cert-dir", str(certs),
                    f"docker://{wharf.host}/team/app:v1", f"oci:{tmp_path / 'broken'}:v1", check=False)
    assert failed.returncode != 0 and "digest" in failed.stderr.lower(), failed.stderr

    # --quarantine moves exactly the corrupt data out of the registry folder, and deletes nothing.
    before = files_below(wharf.registry_dir)
    p = scrub(wharf, "--quarantine")
    assert p.returncode == 1, p.stdout + p.stderr
    quarantine = wharf.data_dir / "quarantine"
    moved = list(quarantine.iterdir())
    assert len(moved) == 1 and moved[0].name.startswith(f"{victim}-"), moved
    assert moved[0].read_bytes() == bytes(data)
    assert f"moved to {moved[0]}" in p.stdout, p.stdout
    assert "1 quarantined" in p.stdout, p.stdout
    after = files_below(wharf.registry_dir)
    assert before - after == {path} and after <= before

    # Now the blob is unknown to the registry: the pull fails cleanly, the other images pull byte for byte.
    r = V2Client(wharf).get(f"/v2/team/app/blobs/{victim}")
    assert r.status_code == 404 and "BLOB_UNKNOWN" in r.text, r.text
    failed = skopeo("copy", "--retry-times", "0", "--src-cert-dir", str(certs),
                    f"docker://{wharf.host}/team/app:v1", f"oci:{tmp_path / 'broken2'}:v1", check=False)
    assert failed.returncode != 0 and victim in failed.stderr and "404" in failed.stderr, failed.stderr
    pull(skopeo, wharf, certs, "team/multi:v1", tmp_path / "multi-out")
    assert_same_layout(multi, tmp_path / "multi-out")
    pull(skopeo, wharf, certs, "other/ok:v1", tmp_path / "other-out")
    assert_same_layout(other, tmp_path / "other-out")

    # It is missing now (the manifest still names it) and nothing more moves.
    code, report = scrub_json(wharf, "--quarantine")
    assert code == 1 and report["missing"] == 1 and report["quarantined"] == 0, report
    assert report["findings"][0]["digest"] == victim and report["findings"][0]["kind"] == "missing", report
    assert len(list(quarantine.iterdir())) == 1

    # Pushing the image again uploads the missing blob; the folder is clean and the image pulls.
    push(skopeo, wharf, certs, app, "team/app:v1")
    assert scrub(wharf, "--deep").returncode == 0
    pull(skopeo, wharf, certs, "team/app:v1", tmp_path / "app-out")
    assert_same_layout(app, tmp_path / "app-out")


def test_deep_scrub_finds_a_layer_whose_diff_id_is_wrong(wharf, tmp_path):
    """A config that lies about its layer: every blob hashes right, only --deep sees it."""
    c = V2Client(wharf, "team/lies")
    tar_bytes = b"not really a tar, but what the layer holds" * 1000
    layer = gzip.compress(tar_bytes, mtime=0)
    layer_digest = c.push_blob(layer)
    truncated = layer[: len(layer) // 2]
    truncated_digest = c.push_blob(truncated)
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [sha256(b"something else"), sha256(tar_bytes)]}})
    config_digest = c.push_blob(config.encode())
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
        "config": {"mediaType": MT_OCI_CONFIG, "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": MT_OCI_LAYER_GZIP, "digest": layer_digest, "size": len(layer)},
                   {"mediaType": MT_OCI_LAYER_GZIP, "digest": truncated_digest, "size": len(truncated)}],
    }).encode()
    c.push_manifest("v1", manifest)
    manifest_digest = sha256(manifest)

    assert scrub(wharf).returncode == 0
    code, report = scrub_json(wharf, "--deep", "--quarantine")
    assert code == 1, report
    kinds = {f["digest"]: (f["kind"], f["detail"]) for f in report["findings"]}
    assert set(kinds) == {layer_digest, truncated_digest}, report
    assert kinds[layer_digest][0] == "bad_layer" and f"decompresses to {sha256(tar_bytes)}" in kinds[layer_digest][1]
    assert kinds[truncated_digest][0] == "bad_layer" and "truncated" in kinds[truncated_digest][1]
    assert f"team/lies@{manifest_digest}" in report["findings"][0]["references"], report
    # A bad layer is what was pushed, not damage: quarantine leaves it.
    assert report["quarantined"] == 0 and blob_path(wharf, layer_digest).is_file()
