"""Online garbage collection: `wharf gc --untagged` runs in a loop for a minute against a running Wharf while skopeo
and raw clients push images that share layers, delete them, push them again and mount their layers across
repositories. Every push ends in success (a push that raced a sweep fails cleanly and its retry succeeds), every
image pushed last pulls back byte-identical, a tagged multi-arch index keeps its untagged children and its
signature, and the blobs of images deleted for good are gone from disk."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from pathlib import Path

from ocihelpers import (MT_OCI_CONFIG, MT_OCI_LAYER_GZIP, MT_OCI_MANIFEST, V2Client, describe, error_codes,
                        relative_location, sha256, write_oci_layout)
from test_gc import image_manifest
from test_skopeo import pull

LOOP_SECONDS = float(os.environ.get("WHARF_TEST_GC_LOOP_SECONDS", "60"))
ATTEMPTS = 8


class RawPusher:
    """A client that pushes like docker does: HEAD each blob, upload (or mount) what is missing, PUT the manifest;
    a push refused with MANIFEST_BLOB_UNKNOWN (a sweep took a blob between the HEAD and the PUT) is retried."""

    def __init__(self, wharf):
        self.c = V2Client(wharf)
        self.retries = 0

    def ensure_blob(self, name: str, data: bytes, mount_from: str | None) -> None:
        digest = sha256(data)
        if self.c.head(f"/v2/{name}/blobs/{digest}").status_code == 200:
            return
        params = {"mount": digest, "from": mount_from} if mount_from else None
        r = self.c.post(f"/v2/{name}/blobs/uploads/", params=params)
        if r.status_code == 201:
            return
        assert r.status_code == 202, describe(r)
        r = self.c.put(relative_location(r), params={"digest": digest}, data=data,
                       headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 201, describe(r)

    def push(self, name: str, tag: str, blobs: list[bytes], manifest: bytes, mount_from: str | None = None) -> None:
        for attempt in range(ATTEMPTS):
            for data in blobs:
                self.ensure_blob(name, data, mount_from)
            r = self.c.put(f"/v2/{name}/manifests/{tag}", data=manifest, headers={"Content-Type": MT_OCI_MANIFEST})
            if r.status_code == 201:
                return
            # Wharf answers MANIFEST_BLOB_UNKNOWN with 404, as BLOB_UNKNOWN (distribution says 400).
            assert r.status_code in (400, 404) and error_codes(r) == ["MANIFEST_BLOB_UNKNOWN"], describe(r)
            self.retries += 1
        raise AssertionError(f"{name}:{tag} still refused after {ATTEMPTS} attempts")

    def delete(self, name: str, manifest: bytes) -> None:
        r = self.c.delete(f"/v2/{name}/manifests/{sha256(manifest)}")
        assert r.status_code in (202, 404), describe(r)


def make_image(layers: list[bytes], label: str) -> tuple[list[bytes], bytes]:
    config = json.dumps({"architecture": "amd64", "os": "linux", "label": label,
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    manifest = image_manifest(sha256(config), len(config), [(sha256(l), len(l)) for l in layers])
    return [config, *layers], manifest


def blob_path(wharf, digest: str) -> Path:
    return wharf.registry_dir / "docker" / "registry" / "v2" / "blobs" / "sha256" / digest[7:9] / digest[7:] / "data"


def test_gc_loop_while_pushing(wharf, skopeo, tmp_path):
    certs = wharf.cert_dir(tmp_path / "certs")
    rng = random.Random(16)
    pool = [bytes([0x1f, 0x8b]) + rng.randbytes(32 * 1024) for _ in range(8)]
    images = [make_image(rng.sample(pool, 3), f"image {i}") for i in range(6)]

    # A multi-arch index with untagged children and an untagged signature: only the index is tagged.
    multi = write_oci_layout(tmp_path / "multi", "v1", platforms=["amd64", "arm64"], n_layers=2, layer_size=16 * 1024)
    skopeo("copy", "--all", "--preserve-digests", "--dest-cert-dir", str(certs), f"oci:{multi.path}:v1",
           f"docker://{wharf.host}/keep/multi:v1")
    setup = RawPusher(wharf)
    signature_blobs, signature = make_image([b"a signature of keep/multi:v1"], "signature")
    sig = json.loads(signature)
    index_bytes = (multi.path / "blobs" / "sha256" / multi.top_digest[7:]).read_bytes()
    sig["subject"] = {"mediaType": multi.top_media_type, "digest": multi.top_digest, "size": len(index_bytes)}
    signature = json.dumps(sig).encode()
    setup.push("keep/multi", sha256(signature), signature_blobs, signature)

    # An image deleted before the loop, whose own layers nobody else has: the loop must reclaim them.
    gone_layers = [bytes([0x1f, 0x8b]) + rng.randbytes(20 * 1024) for _ in range(2)]
    gone_blobs, gone = make_image(gone_layers, "gone")
    setup.push("old/gone", "v1", gone_blobs, gone)
    setup.delete("old/gone", gone)

    skopeo_layouts = [write_oci_layout(tmp_path / f"sk{i}", "v1", n_layers=2, layer_size=24 * 1024) for i in range(2)]
    stop = threading.Event()
    failures: list[str] = []
    final: dict[tuple[str, str], bytes] = {}   # (repository, tag) -> manifest pushed last and not deleted
    final_lock = threading.Lock()
    reports: list[dict] = []
    pushers = [RawPusher(wharf) for _ in range(3)]
    skopeo_pushes = [0]

    def guarded(body):
        def run():
            try:
                body()
            except BaseException as e:  # noqa: BLE001 - reported below
                failures.append(f"{body.__name__}: {e!r}")
                stop.set()
        return run

    def gc_loop():
        deadline = time.monotonic() + LOOP_SECONDS
        while time.monotonic() < deadline and not stop.is_set():
            p = wharf.cli("gc", "--untagged", "--min-age", "1s", "--json", check=False)
            assert p.returncode == 0, p.stderr
            reports.append(json.loads(p.stdout))
        stop.set()

    def raw_loop(n: int):
        def loop():
            pusher = pushers[n]
            local = random.Random(n)
            round_ = 0
            while not stop.is_set():
                i = local.randrange(len(images))
                blobs, manifest = images[i]
                name = f"raw/p{n}"
                tag = f"i{i}"
                mount_from = f"raw/p{(n + 1) % len(pushers)}" if local.random() < 0.5 else None
                pusher.push(name, tag, blobs, manifest, mount_from)
                with final_lock:
                    final[(name, tag)] = manifest
                if local.random() < 0.4:
                    # Deleting by digest: the layers become garbage until a push names them again.
                    time.sleep(local.random() * 0.5)
                    with final_lock:
                        pusher.delete(name, manifest)
                        final.pop((name, tag), None)
                round_ += 1
                time.sleep(local.random() * 0.3)
        loop.__name__ = f"raw_loop_{n}"
        return loop

    def skopeo_loop():
        local = random.Random(99)
        c = V2Client(wharf)
        while not stop.is_set():
            layout = local.choice(skopeo_layouts)
            ref = f"sk/app:{layout.path.name}"
            p = skopeo("copy", "--all", "--preserve-digests", "--retry-times", "5", "--dest-cert-dir", str(certs),
                       f"oci:{layout.path}:v1", f"docker://{wharf.host}/{ref}", check=False)
            assert p.returncode == 0, p.stderr
            skopeo_pushes[0] += 1
            if local.random() < 0.5:
                time.sleep(local.random())
                r = c.delete(f"/v2/sk/app/manifests/{layout.top_digest}")
                assert r.status_code in (202, 404), describe(r)

    threads = [threading.Thread(target=guarded(gc_loop))]
    threads += [threading.Thread(target=guarded(raw_loop(n))) for n in range(len(pushers))]
    threads.append(threading.Thread(target=guarded(skopeo_loop)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=LOOP_SECONDS + 300)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert failures == [], failures
    reclaimed = sum(r["reclaimed_blobs"] for r in reports)
    rescued = sum(r["rescued_blobs"] for r in reports)
    print(f"{len(reports)} gc runs, {reclaimed} blobs reclaimed, {rescued} rescued, "
          f"{sum(p.retries for p in pushers)} raw push retries, {skopeo_pushes[0]} skopeo pushes")
    assert len(reports) >= 3 and reclaimed > 0, reports[-1]
    assert skopeo_pushes[0] > 0 and all(p.c.missing_api_version == [] for p in pushers)

    # The images the clients pushed last pull back whole, byte for byte.
    c = V2Client(wharf)
    by_manifest = {manifest: blobs for blobs, manifest in images}
    for (name, tag), manifest in sorted(final.items()):
        r = c.get(f"/v2/{name}/manifests/{tag}", headers={"Accept": MT_OCI_MANIFEST})
        assert r.status_code == 200 and r.content == manifest, (name, tag, describe(r))
        for data in by_manifest[manifest]:
            r = c.get(f"/v2/{name}/blobs/{sha256(data)}")
            assert r.status_code == 200 and r.content == data, (name, sha256(data), describe(r))
    for layout in skopeo_layouts:
        skopeo("copy", "--all", "--preserve-digests", "--retry-times", "0", "--dest-cert-dir", str(certs),
               f"oci:{layout.path}:v1", f"docker://{wharf.host}/sk/app:{layout.path.name}")
        out = tmp_path / f"pulled-{layout.path.name}"
        pull(skopeo, wharf, certs, f"sk/app:{layout.path.name}", out)
        for digest in layout.blob_digests():
            assert (out / "blobs" / "sha256" / digest[7:]).read_bytes() == \
                (layout.path / "blobs" / "sha256" / digest[7:]).read_bytes(), digest

    # The multi-arch index, its untagged children and its signature survived a minute of --untagged runs.
    r = c.get(f"/v2/keep/multi/manifests/v1", headers={"Accept": multi.top_media_type})
    assert r.status_code == 200 and sha256(r.content) == multi.top_digest, describe(r)
    for digest in multi.blob_digests() | {sha256(signature), *map(sha256, signature_blobs)}:
        assert blob_path(wharf, digest).exists(), digest
    r = c.get(f"/v2/keep/multi/referrers/{multi.top_digest}")
    assert [m["digest"] for m in r.json()["manifests"]] == [sha256(signature)], describe(r)
    out = tmp_path / "pulled-multi"
    pull(skopeo, wharf, certs, "keep/multi:v1", out)

    # The image deleted before the loop is gone from disk, and a last dry run finds what a real run then deletes.
    for data in gone_layers + [gone]:
        assert not blob_path(wharf, sha256(data)).exists(), sha256(data)
    dry = json.loads(wharf.cli("gc", "--dry-run", "--untagged", "--min-age", "0", "--json").stdout)
    real = json.loads(wharf.cli("gc", "--untagged", "--min-age", "0", "--json").stdout)
    assert {b["digest"] for b in real["eligible"]} == {b["digest"] for b in dry["eligible"]}
    assert real["reclaimed_blobs"] == dry["eligible_blobs"] and real["rescued_blobs"] == 0, real
    assert json.loads(wharf.cli("gc", "--dry-run", "--untagged", "--min-age", "0", "--json").stdout)["eligible"] == []
