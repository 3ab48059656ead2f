"""The catalogue mirror: the database's view of repositories and tags follows
storage. A push or delete through Wharf is in it when the request returns; a
folder written by Debian's docker-registry (CNCF distribution 2.8) appears
after start, and tags distribution moves or deletes on the same folder are
followed at the next sync pass; a pass that cannot read storage keeps the
catalogue as it was. Read through `wharf catalog`, on SQLite and on a real
MariaDB."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time

import pytest

from ocihelpers import MT_OCI_CONFIG, MT_OCI_INDEX, MT_OCI_MANIFEST, V2Client, describe, write_oci_layout
from test_database import MariaDB

MT_COSIGN_SIG = "application/vnd.dev.cosign.simplesigning.v1+json"


@pytest.fixture(params=["sqlite", "mariadb"])
def database_env(request, tmp_path):
    """The environment that selects the catalogue's database: the default SQLite, or a throwaway mariadbd."""
    if request.param == "sqlite":
        yield {}
        return
    server = MariaDB(tmp_path / "mariadb")
    url = server.start()
    try:
        yield {"WHARF_DATABASE_URL": url}
    finally:
        server.remove()


def catalog(wharf, *args):
    r = wharf.cli("catalog", *args, "--json")
    return json.loads(r.stdout)


def show(wharf, repository):
    r = wharf.cli("catalog", "show", repository, "--json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def wait_for(what, probe, timeout=30.0):
    """Polls `probe` until it returns something truthy; fails with the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last}")


def tags_by_name(repository):
    return {t["name"]: t for t in repository["tags"]} if repository else {}


def image_size(image) -> int:
    return image.manifest_size + image.config.size + sum(layer.size for layer in image.layers)


def test_a_distribution_folder_is_followed(database_env, distribution_factory, wharf_factory, skopeo, tmp_path):
    data = tmp_path / "wharf-data"
    dist = distribution_factory(root_dir=data / "registry")
    single = write_oci_layout(tmp_path / "single", "v1", n_layers=2)
    multi = write_oci_layout(tmp_path / "multi", "v1", platforms=["amd64", "arm64"], n_layers=2)
    for layout, ref in ((single, "interop/single:v1"), (single, "interop/single:v2"), (multi, "interop/multi:v1")):
        skopeo("copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
               f"oci:{layout.path}:v1", f"docker://{dist.host}/{ref}")

    wharf = wharf_factory(data_dir=data, env={**database_env, "WHARF_SYNC_INTERVAL": "1s"})
    multi_row = wait_for("interop/multi in the catalogue", lambda: show(wharf, "interop/multi"))
    single_row = wait_for("interop/single in the catalogue", lambda: show(wharf, "interop/single"))

    tags = tags_by_name(single_row)
    assert sorted(tags) == ["v1", "v2"], single_row
    v1 = tags["v1"]
    image = single.images[0]
    assert v1["digest"] == single.top_digest and v1["media_type"] == MT_OCI_MANIFEST
    assert v1["size"] == image_size(image), (v1, image_size(image))
    assert v1["config_digest"] == image.config.digest
    assert (v1["os"], v1["architecture"], v1["created"]) == ("linux", "amd64", "2024-01-01T00:00:00Z")
    assert v1["pushed_by"] is None and v1["platforms"] == []
    # Two tags on one digest: the repository's size counts it once.
    assert single_row["tags_count"] == 2 and single_row["size"] == image_size(image)

    index = tags_by_name(multi_row)["v1"]
    assert index["media_type"] == MT_OCI_INDEX and index["digest"] == multi.top_digest
    platforms = {(p["os"], p["architecture"]): p for p in index["platforms"]}
    assert sorted(platforms) == [("linux", "amd64"), ("linux", "arm64")], index
    for im in multi.images:
        assert platforms[("linux", im.platform["architecture"])]["digest"] == im.manifest_digest
        assert platforms[("linux", im.platform["architecture"])]["size"] == image_size(im)
    index_bytes = len((multi.path / "blobs" / "sha256" / multi.top_digest.split(":")[1]).read_bytes())
    assert index["size"] == index_bytes + sum(image_size(im) for im in multi.images)

    # distribution moves v1 and deletes v2 on the same folder while Wharf serves it.
    other = write_oci_layout(tmp_path / "other", "v1", n_layers=1)
    skopeo("copy", "--preserve-digests", "--dest-tls-verify=false",
           f"oci:{other.path}:v1", f"docker://{dist.host}/interop/single:v1")
    r = dist.session().delete(dist.url("/v2/interop/single/manifests/v2"))
    if r.status_code != 202:  # distribution 2.8 may refuse tag deletes: delete by digest (v2's content is gone then)
        r = dist.session().delete(dist.url(f"/v2/interop/single/manifests/{single.top_digest}"))
    assert r.status_code == 202, describe(r)

    def moved():
        row = show(wharf, "interop/single")
        tags = tags_by_name(row)
        return row if "v2" not in tags and tags.get("v1", {}).get("digest") == other.top_digest else None

    row = wait_for("the move and the delete in the catalogue", moved, timeout=20)
    assert tags_by_name(row)["v1"]["size"] == image_size(other.images[0])
    dist.stop()

    # Storage that cannot be read (an unmounted volume) keeps the catalogue as it was.
    repositories = data / "registry" / "docker" / "registry" / "v2" / "repositories"
    shutil.move(repositories, tmp_path / "elsewhere")
    r = wharf.cli("sync", check=False)
    assert r.returncode != 0 and "missing" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r
    time.sleep(2.5)  # two passes of the server's own
    names = [repo["name"] for repo in catalog(wharf, "list")]
    assert names == ["interop/multi", "interop/single"], names
    shutil.move(tmp_path / "elsewhere", repositories)
    r = wharf.cli("sync", "--json")
    assert json.loads(r.stdout)["repositories"] == 2


def test_pushes_deletes_and_pulls_are_in_the_catalogue_at_once(database_env, wharf_factory, skopeo, tmp_path):
    # A sync interval far beyond the test: whatever appears comes from the requests themselves.
    wharf = wharf_factory(auth=True, env={**database_env, "WHARF_SYNC_INTERVAL": "1h"})
    wharf.create_user("admin", "admin-password", "--admin")
    certs = wharf.cert_dir(tmp_path / "certs")
    layout = write_oci_layout(tmp_path / "app", "v1", n_layers=2)
    skopeo("copy", "--preserve-digests", "--dest-cert-dir", str(certs), "--dest-creds", "admin:admin-password",
           f"oci:{layout.path}:v1", f"docker://{wharf.host}/team/app:v1")
    row = show(wharf, "team/app")
    assert row is not None, "the push returned before its catalogue row was written"
    v1 = tags_by_name(row)["v1"]
    assert v1["pushed_by"] == "admin" and v1["digest"] == layout.top_digest and v1["pulled_at"] is None
    assert v1["size"] == image_size(layout.images[0])

    c = V2Client(wharf, auth=("admin", "admin-password"))
    # /v2/_catalog reads the mirror (current after the first pass) and holds the push.
    r = c.get("/v2/_catalog")
    assert r.status_code == 200 and r.json()["repositories"] == ["team/app"], describe(r)

    # A cosign signature (tag sha256-<hex>.sig) and an OCI referrer (subject) are referrers, not tags.
    hexd = layout.top_digest.split(":")[1]
    config = c.push_blob(b"{}", name="team/app")
    payload = json.dumps({"critical": {"image": {"docker-manifest-digest": layout.top_digest}}}).encode()
    layer = c.push_blob(payload, name="team/app")
    signature = json.dumps({
        "schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
        "config": {"mediaType": MT_OCI_CONFIG, "digest": config, "size": 2},
        "layers": [{"mediaType": MT_COSIGN_SIG, "digest": layer, "size": len(payload)}],
    }).encode()
    c.push_manifest(f"sha256-{hexd}.sig", signature, name="team/app")
    sbom = json.dumps({
        "schemaVersion": 2, "mediaType": MT_OCI_MANIFEST, "artifactType": "application/spdx+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2},
        "layers": [{"mediaType": "application/spdx+json", "digest": layer, "size": len(payload)}],
        "subject": {"mediaType": MT_OCI_MANIFEST, "digest": layout.top_digest,
                    "size": layout.images[0].manifest_size},
    }).encode()
    sbom_digest = "sha256:" + hashlib.sha256(sbom).hexdigest()
    c.push_manifest(sbom_digest, sbom, name="team/app")
    row = show(wharf, "team/app")
    assert sorted(tags_by_name(row)) == ["v1"], row
    referrers = {r["digest"]: r for r in tags_by_name(row)["v1"]["referrers"]}
    assert sbom_digest in referrers and referrers[sbom_digest]["artifact_type"] == "application/spdx+json"
    signatures = [r for r in referrers.values() if r["tag"] == f"sha256-{hexd}.sig"]
    assert len(signatures) == 1 and signatures[0]["subject"] == layout.top_digest, referrers

    # A pull is recorded (coalesced, within the pull recorder's flush interval).
    out = tmp_path / "pulled"
    skopeo("copy", "--src-cert-dir", str(certs), "--src-creds", "admin:admin-password",
           f"docker://{wharf.host}/team/app:v1", f"oci:{out}:v1")
    wait_for("pulled_at", lambda: tags_by_name(show(wharf, "team/app"))["v1"]["pulled_at"], timeout=20)

    # Deleting the tag removes its row in the same request.
    r = c.delete("/v2/team/app/manifests/v1")
    assert r.status_code == 202, describe(r)
    row = show(wharf, "team/app")
    assert tags_by_name(row) == {} and row["tags_count"] == 0, row
