"""Disk full (issue 11): a blob upload that finds the registry's storage full is answered 507 Insufficient Storage
in OCI JSON with a message that says the storage is full (no path, no 500), the failure is logged at most once a
minute, and the upload resumes from the offset the registry reports once space is freed, to the right digest.

The storage is a small filesystem the test mounts as the server's registry folder: a tmpfs, or where tmpfs cannot
be mounted a loop-mounted ext4 image. Both need root; the test fails (never skips) saying why when neither mounts.
"""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import time
from pathlib import Path
from typing import Iterator

from ocihelpers import V2Client, describe, error_codes, relative_location, sha256

MiB = 1 << 20
FS_SIZE = 8 * MiB
FILLER = 5 * MiB
BLOB = 6 * MiB
CHUNK = 256 * 1024
# Each request on a connection of its own: a server that answers before reading a whole body may close it.
CLOSE = {"Connection": "close", "Content-Type": "application/octet-stream"}


@contextlib.contextmanager
def small_filesystem(path: Path, size: int, scratch: Path) -> Iterator[str]:
    """Mounts a filesystem of `size` bytes at `path` (tmpfs, else a loop-mounted ext4 image) and unmounts it."""
    path.mkdir(parents=True, exist_ok=True)
    tried = []
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True)
    kind = "tmpfs"
    if r.returncode != 0:
        tried.append(f"mount -t tmpfs: {r.stderr.strip() or r.returncode}")
        image = scratch / "small.ext4"
        steps = [["truncate", "-s", str(size), str(image)],
                 ["mkfs.ext4", "-q", "-F", "-m", "0", str(image)],
                 ["mount", "-o", "loop", str(image), str(path)]]
        kind = "ext4 loop image"
        for step in steps:
            r = subprocess.run(step, capture_output=True, text=True)
            if r.returncode != 0:
                tried.append(f"{' '.join(step[:2])}: {r.stderr.strip() or r.returncode}")
                raise AssertionError("cannot mount a small filesystem for the disk-full test (needs root and "
                                     "tmpfs or loop devices): " + "; ".join(tried))
    try:
        yield kind
    finally:
        subprocess.run(["umount", str(path)], check=True)


def upload_status(client: V2Client, location: str) -> int:
    """The offset the registry reports for an upload (`Range: 0-<last>`)."""
    r = client.get(location, headers={"Connection": "close"})
    assert r.status_code == 204, describe(r)
    last = int(r.headers["Range"].split("-")[1])
    return last + 1 if last > 0 else 0  # "0-0" is an empty upload (no chunk here is one byte long)


def patch(client: V2Client, location: str, data: bytes, offset: int):
    headers = dict(CLOSE, **{"Content-Range": f"{offset}-{offset + len(data) - 1}"})
    return client.patch(location, data=data, headers=headers)


def assert_storage_full(r, server) -> None:
    assert r.status_code == 507, describe(r)
    assert error_codes(r) == ["UNAVAILABLE"], describe(r)
    message = r.json()["errors"][0]["message"]
    assert "storage is full" in message, describe(r)
    # The client learns nothing of the server's folders.
    assert str(server.data_dir) not in r.text and "_uploads" not in r.text, describe(r)
    # docker and containerd print only the status line of a 5xx: it says it too (and moby stops retrying on it).
    assert "storage is full" in r.reason and "no space left on device" in r.reason, r.reason


def test_a_full_disk_answers_507_logs_once_and_the_upload_resumes(wharf_factory, tmp_path):
    server = wharf_factory(tls=False, start=False)
    with small_filesystem(server.registry_dir, FS_SIZE, tmp_path):
        try:
            server.start()
            filler = server.registry_dir / "filler"
            filler.write_bytes(b"\0" * FILLER)
            client = V2Client(server, "full/app")
            blob = random.Random(11).randbytes(BLOB)

            r = client.post("/v2/<name>/blobs/uploads/", headers={"Connection": "close"})
            assert r.status_code == 202, describe(r)
            location = relative_location(r)
            uuid = r.headers["Docker-Upload-UUID"]

            # Chunks until the storage is full.
            offset = 0
            refused = None
            while offset < BLOB:
                r = patch(client, location, blob[offset:offset + CHUNK], offset)
                assert r.status_code != 500, describe(r)
                if r.status_code != 202:
                    refused = r
                    break
                offset += CHUNK
            assert refused is not None, "the whole blob fit: the filesystem is larger than it should be"
            first_failure = time.monotonic()
            assert_storage_full(refused, server)

            # Two more tries from where the registry says the upload stands: refused the same way.
            for _ in range(2):
                offset = upload_status(client, location)
                r = patch(client, location, blob[offset:offset + CHUNK], offset)
                assert_storage_full(r, server)
            failures_took = time.monotonic() - first_failure

            # Integrity: the upload holds exactly the bytes it reports (a prefix of the blob), nothing cut half-way.
            offset = upload_status(client, location)
            assert 0 < offset < BLOB, offset
            data = server.registry_dir / "docker/registry/v2/repositories/full/app/_uploads" / uuid / "data"
            assert data.read_bytes() == blob[:offset]

            # Logged once for the three failures within a minute, at error level, with the path and errno text.
            lines = [l for l in server.log_path.read_text(errors="replace").splitlines() if "storage is full" in l]
            assert failures_took < 55, f"the three failures took {failures_took:.0f}s (the test needs them within a minute)"
            assert len(lines) == 1, lines
            assert " error wharf:" in lines[0] and "No space left on device" in lines[0] and uuid in lines[0], lines[0]

            # Space freed: the upload resumes where the registry says it stands and commits the right blob.
            filler.unlink()
            while offset < BLOB:
                r = patch(client, location, blob[offset:offset + CHUNK], offset)
                assert r.status_code == 202, describe(r)
                location = relative_location(r)
                offset += CHUNK
            digest = sha256(blob)
            r = client.put(location, params={"digest": digest}, headers={"Connection": "close"})
            assert r.status_code == 201, describe(r)
            r = client.get(f"/v2/<name>/blobs/{digest}", headers={"Connection": "close"})
            assert r.status_code == 200, describe(r)
            assert sha256(r.content) == digest
        finally:
            server.stop()
