"""An upload session survives a restart of the server: a PATCH after the
restart continues at the right offset, and the finished blob is correct."""

from __future__ import annotations

import os

import pytest

from ocihelpers import V2Client, describe, error_codes, relative_location, sha256

REPO = "restart/blob"


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_chunked_upload_continues_after_restart(wharf_factory, how):
    wharf = wharf_factory()
    data = os.urandom(1_000_000 + 17)
    n = 393_217
    first, second = data[:n], data[n:]

    c = V2Client(wharf)
    r = c.post(f"/v2/{REPO}/blobs/uploads/")
    assert r.status_code == 202, describe(r)
    r = c.patch(relative_location(r), data=first,
                headers={"Content-Type": "application/octet-stream", "Content-Range": f"0-{n - 1}"})
    assert r.status_code == 202, describe(r)
    assert r.headers.get("Range") == f"0-{n - 1}", describe(r)
    location = relative_location(r)

    # the partial upload is kept in distribution's layout
    uploads = wharf.registry_dir / "docker" / "registry" / "v2" / "repositories" / REPO / "_uploads"
    sessions = [p for p in uploads.iterdir() if p.is_dir()] if uploads.is_dir() else []
    assert len(sessions) == 1, f"expected one upload folder under {uploads}, found {sessions}"
    assert (sessions[0] / "data").stat().st_size == n
    assert (sessions[0] / "startedat").is_file()

    if how == "sigterm":
        wharf.restart()
    else:
        wharf.kill()
        wharf.start()

    c = V2Client(wharf)
    r = c.get(location)
    assert r.status_code == 204, describe(r)
    assert r.headers.get("Range") == f"0-{n - 1}", describe(r)
    assert r.headers.get("Location"), describe(r)

    # a chunk at the wrong offset is still refused after the restart
    r = c.patch(location, data=second[:10],
                headers={"Content-Type": "application/octet-stream", "Content-Range": f"{n + 1}-{n + 10}"})
    assert r.status_code == 416, describe(r)

    r = c.patch(location, data=second,
                headers={"Content-Type": "application/octet-stream", "Content-Range": f"{n}-{len(data) - 1}"})
    assert r.status_code == 202, describe(r)
    assert r.headers.get("Range") == f"0-{len(data) - 1}", describe(r)

    r = c.put(relative_location(r), params={"digest": sha256(data)})
    assert r.status_code == 201, describe(r)
    assert r.headers.get("Docker-Content-Digest") == sha256(data), describe(r)

    g = c.get(f"/v2/{REPO}/blobs/{sha256(data)}")
    assert g.status_code == 200, describe(g)
    assert g.content == data

    hexd = sha256(data).split(":", 1)[1]
    stored = wharf.registry_dir / "docker" / "registry" / "v2" / "blobs" / "sha256" / hexd[:2] / hexd / "data"
    assert stored.read_bytes() == data
    link = (wharf.registry_dir / "docker" / "registry" / "v2" / "repositories" / REPO / "_layers" / "sha256"
            / hexd / "link")
    assert link.read_text() == sha256(data)
    assert not any(p.is_dir() for p in uploads.iterdir()), "upload folder left behind after completion"

    # the finished session is gone
    r = c.get(location)
    assert r.status_code == 404 and "BLOB_UPLOAD_UNKNOWN" in error_codes(r), describe(r)


def test_finished_content_survives_restart(wharf_factory):
    wharf = wharf_factory()
    c = V2Client(wharf)
    blob = os.urandom(5000)
    d = c.push_blob(blob, name=REPO)
    wharf.restart()
    c = V2Client(wharf)
    g = c.get(f"/v2/{REPO}/blobs/{d}")
    assert g.status_code == 200 and g.content == blob, describe(g)
