"""Disk full (issue 11): a blob upload that finds the registry's storage full is answered 507 Insufficient Storage
in OCI JSON with a message that says the storage is full (no path, no 500), the failure is logged at most once a
minute, and the upload resumes from the offset the registry reports once space is freed, to the right digest.

The storage is a small filesystem the test mounts as the server's registry folder: a tmpfs, or where tmpfs cannot
be mounted a loop-mounted ext4 image. Both need root; the test fails (never skips) saying why when neither mounts.
A filler file leaves one chunk and a half free, measured with statvfs once the upload's folder exists, so the
storage fills half-way through the second chunk. The chunks are larger than loopback socket buffers hold: the
client is still sending when the write fails, and reads the 507 only if the server reads the rest of the chunk.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import subprocess
import time
from pathlib import Path
from typing import Iterator

from ocihelpers import V2Client, describe, error_codes, relative_location, sha256

MiB = 1 << 20
# Bigger than what loopback socket buffers take in: a server that answers a refused chunk without reading the rest
# of it closes the connection on a client still sending, which then sees a reset instead of the 507.
CHUNK = 16 * MiB
BLOB = 3 * CHUNK
FS_SIZE = 80 * MiB
# Each request on a connection of its own (the client asks the server to close it after the answer): the server must
# read the rest of a refused chunk before it answers and closes, or the client never reads the answer.
CLOSE = {"Connection": "close"}


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


def once(client: V2Client, method: str, path: str, headers=None, **kw):
    """One request on a connection of its own, closed after the answer. The server does not echo `Connection: close`
    in its answer, so requests would pool the connection and could reuse it before the server's FIN arrives."""
    try:
        return client.request(method, path, headers=dict(CLOSE, **(headers or {})), **kw)
    finally:
        client.session.close()


def upload_status(client: V2Client, location: str) -> int:
    """The offset the registry reports for an upload (`Range: 0-<last>`)."""
    r = once(client, "GET", location)
    assert r.status_code == 204, describe(r)
    last = int(r.headers["Range"].split("-")[1])
    return last + 1 if last > 0 else 0  # "0-0" is an empty upload (no chunk here is one byte long)


def patch(client: V2Client, location: str, data: bytes, offset: int):
    headers = {"Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{offset + len(data) - 1}"}
    return once(client, "PATCH", location, data=data, headers=headers)


def assert_storage_full(r, server) -> None:
    assert r.status_code == 507, describe(r)
    assert error_codes(r) == ["UNAVAILABLE"], describe(r)
    message = r.json()["errors"][0]["message"]
    assert "storage is full" in message, describe(r)
    # The client learns nothing of the server's folders.
    assert str(server.data_dir) not in r.text and "_uploads" not in r.text, describe(r)
    # docker and containerd print only the status line of a 5xx: it says it too (and moby stops retrying on it).
    assert "storage is full" in r.reason and "no space left on device" in r.reason, r.reason


def free_bytes(path: Path) -> int:
    """The bytes an unprivileged write can still use on the filesystem holding `path`, as the kernel counts them."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def leave_free(path: Path, filler: Path, target: int) -> int:
    """Sizes `filler` (on the filesystem at `path`) so that `target` bytes stay free, measured rather than computed:
    tmpfs and ext4 charge pages, inodes, directories and metadata blocks that no size arithmetic foresees. Returns the
    free bytes measured at the end."""
    block = os.statvfs(path).f_frsize
    with open(filler, "ab") as f:
        for _ in range(8):
            f.flush()
            os.fsync(f.fileno())
            excess = free_bytes(path) - target
            if abs(excess) < block:
                break
            size = os.fstat(f.fileno()).st_size
            if excess > 0:
                f.write(b"\0" * excess)
            else:
                os.ftruncate(f.fileno(), max(0, size + excess))
                f.seek(0, os.SEEK_END)
    return free_bytes(path)


def assert_storage_full_raw(status: int, body: bytes, reason: str) -> None:
    """`assert_storage_full` for a response read with http.client."""
    assert status == 507, (status, reason, body[:600])
    errors = json.loads(body)["errors"]
    assert [e["code"] for e in errors] == ["UNAVAILABLE"] and "storage is full" in errors[0]["message"], body[:600]
    assert "storage is full" in reason, reason


def test_a_full_disk_answers_507_logs_once_and_the_upload_resumes(wharf_factory, tmp_path):
    server = wharf_factory(tls=False, start=False)
    with small_filesystem(server.registry_dir, FS_SIZE, tmp_path):
        try:
            server.start()
            client = V2Client(server, "full/app")
            blob = random.Random(11).randbytes(BLOB)

            r = once(client, "POST", "/v2/<name>/blobs/uploads/")
            assert r.status_code == 202, describe(r)
            location = relative_location(r)
            uuid = r.headers["Docker-Upload-UUID"]

            # With the upload's folder and empty data file in place, leave one chunk and a half free: the first chunk
            # fits, the second finds the storage full half-way through.
            filler = server.registry_dir / "filler"
            free = leave_free(server.registry_dir, filler, CHUNK + CHUNK // 2)
            assert CHUNK + CHUNK // 4 < free < CHUNK + 3 * CHUNK // 4, f"{free} bytes free after sizing the filler"

            r = patch(client, location, blob[:CHUNK], 0)
            assert r.status_code == 202, describe(r)
            r = patch(client, location, blob[CHUNK:2 * CHUNK], CHUNK)
            first_failure = time.monotonic()
            assert_storage_full(r, server)

            # The upload keeps what was written whole of the refused chunk, and reports it.
            offset = upload_status(client, location)
            assert CHUNK < offset < 2 * CHUNK, offset
            data = server.registry_dir / "docker/registry/v2/repositories/full/app/_uploads" / uuid / "data"
            assert data.read_bytes() == blob[:offset]

            # Two more tries from where the registry says the upload stands: refused the same way, on a connection
            # the server closes after answering, then on a keep-alive connection that stays usable afterwards.
            r = patch(client, location, blob[offset:offset + CHUNK], offset)
            assert_storage_full(r, server)
            offset = upload_status(client, location)
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            try:
                headers = {"Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{offset + CHUNK - 1}"}
                conn.request("PATCH", location, body=blob[offset:offset + CHUNK], headers=headers)
                response = conn.getresponse()
                assert_storage_full_raw(response.status, response.read(), response.reason)
                assert not response.will_close, response.getheaders()
                sock = conn.sock
                conn.request("GET", location)
                response = conn.getresponse()
                response.read()
                assert response.status == 204 and conn.sock is sock, (response.status, response.getheaders())
            finally:
                conn.close()
            failures_took = time.monotonic() - first_failure

            # Integrity: the upload holds exactly the bytes it reports (a prefix of the blob), nothing cut half-way.
            offset = upload_status(client, location)
            assert CHUNK < offset < 2 * CHUNK, offset
            assert data.read_bytes() == blob[:offset]

            # Logged once for the three failures within a minute, at error level, with the path and errno text.
            log = server.log_path.read_text(errors="replace")
            lines = [l for l in log.splitlines() if "storage is full" in l]
            assert failures_took < 55, f"the three failures took {failures_took:.0f}s (the test needs them within a minute)"
            assert len(lines) == 1, lines
            assert " error wharf:" in lines[0] and "No space left on device" in lines[0] and uuid in lines[0], lines[0]

            # Space freed: the upload resumes where the registry says it stands and commits the right blob.
            filler.unlink()
            while offset < BLOB:
                r = patch(client, location, blob[offset:offset + CHUNK], offset)
                assert r.status_code == 202, describe(r)
                location = relative_location(r)
                offset = min(offset + CHUNK, BLOB)
            assert upload_status(client, location) == BLOB
            digest = sha256(blob)
            r = once(client, "PUT", location, params={"digest": digest})
            assert r.status_code == 201, describe(r)
            r = once(client, "GET", f"/v2/<name>/blobs/{digest}")
            assert r.status_code == 200, describe(r)
            assert sha256(r.content) == digest

            # A full disk is no 500: nothing was logged as a storage failure or an unexpected error.
            log = server.log_path.read_text(errors="replace")
            assert "storage failure" not in log and "unexpected error" not in log, server.log_tail()
        finally:
            server.stop()
