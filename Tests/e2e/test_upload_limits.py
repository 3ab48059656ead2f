"""Upload limits and file modes (issue 9): `uploads.max_open_per_account` caps the upload sessions an account
(a client address without auth) keeps open, `uploads.max_blob_size` refuses larger blobs with 413 SIZE_INVALID
however they are sent, and the data folder and the SQLite files are created private."""

import os
import stat

from ocihelpers import V2Client, describe, error_codes, relative_location, sha256

MiB = 1 << 20
CAP = {"WHARF_UPLOADS_MAX_OPEN_PER_ACCOUNT": "3"}
SIZE = {"WHARF_UPLOADS_MAX_BLOB_SIZE": "1MiB"}


def start_upload(client: V2Client, name: str):
    return client.post(f"/v2/{name}/blobs/uploads/")


def assert_refused_with_429(r) -> None:
    assert r.status_code == 429, describe(r)
    assert "TOOMANYREQUESTS" in error_codes(r), describe(r)
    assert r.headers.get("Retry-After", "").isdigit(), r.headers


def assert_too_large(r) -> None:
    assert r.status_code == 413, describe(r)
    assert "SIZE_INVALID" in error_codes(r), describe(r)


def upload_folders(server, repository: str) -> list[str]:
    path = server.registry_dir / "docker" / "registry" / "v2" / "repositories" / repository / "_uploads"
    return sorted(os.listdir(path)) if path.exists() else []


# --------------------------------------------------------------------------- open sessions per account


def test_open_sessions_are_capped_per_client_without_auth(wharf_factory):
    server = wharf_factory(tls=True, env=CAP)
    client = V2Client(server)
    opened = [start_upload(client, "cap/app") for _ in range(3)]
    for r in opened:
        assert r.status_code == 202, describe(r)
    assert_refused_with_429(start_upload(client, "cap/other"))

    # A monolithic POST that finishes at once is not refused.
    data = b"monolithic under the cap"
    r = client.post("/v2/cap/app/blobs/uploads/", params={"digest": sha256(data)}, data=data)
    assert r.status_code == 201, describe(r)

    # Committing one frees a place.
    body = b"committed"
    r = client.put(relative_location(opened[0]), params={"digest": sha256(body)}, data=body)
    assert r.status_code == 201, describe(r)
    again = start_upload(client, "cap/app")
    assert again.status_code == 202, describe(again)
    assert_refused_with_429(start_upload(client, "cap/app"))

    # So does cancelling one.
    r = client.delete(relative_location(opened[1]))
    assert r.status_code == 204, describe(r)
    r = start_upload(client, "cap/app")
    assert r.status_code == 202, describe(r)
    assert_refused_with_429(start_upload(client, "cap/app"))


def test_open_sessions_are_capped_per_account_with_auth(wharf_factory):
    server = wharf_factory(tls=True, auth=True, env=CAP)
    server.create_user("alice", "alice-password-1")
    server.create_user("bob", "bob-password-12")
    alice = V2Client(server, auth=("alice", "alice-password-1"))
    bob = V2Client(server, auth=("bob", "bob-password-12"))

    alices = [start_upload(alice, "alice/app") for _ in range(3)]
    for r in alices:
        assert r.status_code == 202, describe(r)
    assert_refused_with_429(start_upload(alice, "alice/app"))

    # Same address, another account: bob has his own three.
    for _ in range(3):
        r = start_upload(bob, "bob/app")
        assert r.status_code == 202, describe(r)
    assert_refused_with_429(start_upload(bob, "bob/app"))

    # Alice finishing one lets her start another; bob is still full.
    body = b"alice's layer"
    r = alice.put(relative_location(alices[0]), params={"digest": sha256(body)}, data=body)
    assert r.status_code == 201, describe(r)
    r = start_upload(alice, "alice/app")
    assert r.status_code == 202, describe(r)
    assert_refused_with_429(start_upload(bob, "bob/app"))


# --------------------------------------------------------------------------- blob size


def streamed(total: int, piece: int = 64 * 1024):
    """A body without Content-Length (chunked transfer encoding)."""
    sent = 0
    while sent < total:
        n = min(piece, total - sent)
        yield b"\x5a" * n
        sent += n


def test_a_monolithic_post_over_the_limit_is_413_and_one_byte_under_fits(wharf_factory):
    server = wharf_factory(tls=True, env=SIZE)
    client = V2Client(server)
    big = os.urandom(2 * MiB)
    r = client.post("/v2/size/app/blobs/uploads/", params={"digest": sha256(big)}, data=big)
    assert_too_large(r)
    assert client.head(f"/v2/size/app/blobs/{sha256(big)}").status_code == 404
    assert upload_folders(server, "size/app") == []

    fits = os.urandom(MiB - 1)
    r = client.post("/v2/size/app/blobs/uploads/", params={"digest": sha256(fits)}, data=fits)
    assert r.status_code == 201, describe(r)
    # POST then PUT with the whole body, just under the limit.
    fits2 = os.urandom(MiB - 1)
    assert client.push_blob(fits2, name="size/app") == sha256(fits2)
    r = client.get(f"/v2/size/app/blobs/{sha256(fits2)}")
    assert r.status_code == 200 and r.content == fits2


def test_a_streamed_patch_over_the_limit_is_413_and_nothing_is_committed(wharf_factory):
    server = wharf_factory(tls=True, env=SIZE)
    client = V2Client(server)
    start = start_upload(client, "size/app")
    assert start.status_code == 202, describe(start)
    location = relative_location(start)
    r = client.patch(location, data=streamed(2 * MiB))
    assert "Content-Length" not in r.request.headers  # really sent without a length
    assert_too_large(r)

    # The session is over: it cannot be finished, and no blob of the streamed content exists.
    digest = sha256(b"\x5a" * (2 * MiB))
    r = client.put(location, params={"digest": digest})
    assert r.status_code == 404 and "BLOB_UPLOAD_UNKNOWN" in error_codes(r), describe(r)
    assert client.head(f"/v2/size/app/blobs/{digest}").status_code == 404
    assert upload_folders(server, "size/app") == []
    blobs = server.registry_dir / "docker" / "registry" / "v2" / "blobs"
    assert [f for f in blobs.rglob("data") if f.stat().st_size > MiB] == []

    # A streamed POST body (first chunk) and a streamed monolithic POST obey it too.
    r = client.post("/v2/size/app/blobs/uploads/", data=streamed(2 * MiB))
    assert_too_large(r)
    r = client.post("/v2/size/app/blobs/uploads/", params={"digest": digest}, data=streamed(2 * MiB))
    assert_too_large(r)
    assert upload_folders(server, "size/app") == []


def test_a_chunked_upload_that_crosses_the_limit_is_413(wharf_factory):
    server = wharf_factory(tls=True, env=SIZE)
    client = V2Client(server)
    start = start_upload(client, "size/app")
    location = relative_location(start)
    chunk = os.urandom(600 * 1024)
    r = client.patch(location, data=chunk, headers={"Content-Range": f"0-{len(chunk) - 1}"})
    assert r.status_code == 202, describe(r)
    r = client.patch(relative_location(r), data=chunk,
                     headers={"Content-Range": f"{len(chunk)}-{2 * len(chunk) - 1}"})
    assert_too_large(r)
    assert client.get(location).status_code == 404
    assert upload_folders(server, "size/app") == []

    # The final PUT carrying the bytes that cross the limit.
    start = start_upload(client, "size/app")
    r = client.patch(relative_location(start), data=chunk)
    assert r.status_code == 202, describe(r)
    whole = chunk + chunk
    r = client.put(relative_location(r), params={"digest": sha256(whole)}, data=chunk)
    assert_too_large(r)
    assert client.head(f"/v2/size/app/blobs/{sha256(whole)}").status_code == 404


# --------------------------------------------------------------------------- file modes


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_data_folder_and_the_database_are_private(wharf_factory):
    server = wharf_factory(tls=True, auth=True)
    assert mode(server.data_dir) == 0o700, oct(mode(server.data_dir))
    for name in ("wharf.sqlite", "wharf.sqlite-wal", "wharf.sqlite-shm"):
        path = server.data_dir / name
        assert path.exists(), f"{path} missing while the server runs"
        assert mode(path) == 0o600, f"{path}: {oct(mode(path))}"


def test_an_open_data_folder_is_reported_at_start_up(wharf_factory):
    server = wharf_factory(tls=True, auth=True)
    server.stop()
    database = server.data_dir / "wharf.sqlite"
    os.chmod(server.data_dir, 0o755)
    os.chmod(database, 0o644)
    server.start()
    log = server.log_path.read_text(errors="replace")
    assert f"chmod 700 {server.data_dir}" in log, server.log_tail()
    assert f"chmod 600 {database}" in log, server.log_tail()
    # Reported, not changed.
    assert mode(server.data_dir) == 0o755
    assert mode(database) == 0o644
