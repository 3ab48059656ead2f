"""The same storage folder is served by Debian's docker-registry (CNCF
distribution 2.8) and by Wharf, in both directions: Wharf keeps
distribution's filesystem layout under <data>/registry."""

from __future__ import annotations

import json

from ocihelpers import MT_OCI_INDEX, MT_OCI_MANIFEST, V2Client, describe, layout_blob, write_oci_layout
from test_skopeo import assert_same_layout


def test_distribution_folder_served_by_wharf(distribution_factory, wharf_factory, skopeo, tmp_path):
    data = tmp_path / "wharf-data"
    dist = distribution_factory(root_dir=data / "registry")
    assert dist.registry_dir == data / "registry"

    single = write_oci_layout(tmp_path / "single", "v1", n_layers=2)
    multi = write_oci_layout(tmp_path / "multi", "v1", platforms=["amd64", "arm64"], n_layers=2)
    for layout, ref in ((single, "interop/single:v1"), (multi, "interop/multi:v1")):
        skopeo("copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
               f"oci:{layout.path}:v1", f"docker://{dist.host}/{ref}")
    skopeo("copy", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false",
           f"docker://{dist.host}/interop/single:v1", f"docker://{dist.host}/interop/single:v2")
    assert (data / "registry" / "docker" / "registry" / "v2" / "blobs" / "sha256").is_dir()
    dist.stop()

    wharf = wharf_factory(data_dir=data)  # TLS on; the certificate is created beside registry/
    certs = wharf.cert_dir(tmp_path / "certs")

    for layout, repo in ((single, "interop/single"), (multi, "interop/multi")):
        out = tmp_path / f"out-{layout.path.name}"
        skopeo("copy", "--all", "--preserve-digests", "--src-cert-dir", str(certs),
               f"docker://{wharf.host}/{repo}:v1", f"oci:{out}:v1")
        assert_same_layout(layout, out)

    tags = json.loads(skopeo("list-tags", "--cert-dir", str(certs), f"docker://{wharf.host}/interop/single").stdout)
    assert sorted(tags["Tags"]) == ["v1", "v2"], tags
    tags = json.loads(skopeo("list-tags", "--cert-dir", str(certs), f"docker://{wharf.host}/interop/multi").stdout)
    assert tags["Tags"] == ["v1"], tags

    c = V2Client(wharf)
    r = c.get("/v2/_catalog")
    assert r.status_code == 200, describe(r)
    assert {"interop/single", "interop/multi"} <= set(r.json()["repositories"]), describe(r)
    r = c.get("/v2/interop/multi/manifests/v1", headers={"Accept": MT_OCI_INDEX})
    assert r.status_code == 200 and r.headers.get("Docker-Content-Digest") == multi.top_digest, describe(r)
    assert r.content == layout_blob(multi.path, multi.top_digest).read_bytes()

    # Wharf can also write into the folder distribution created
    layout3 = write_oci_layout(tmp_path / "third", "v1", n_layers=1)
    skopeo("copy", "--preserve-digests", "--dest-cert-dir", str(certs),
           f"oci:{layout3.path}:v1", f"docker://{wharf.host}/interop/single:v3")
    r = c.get("/v2/interop/single/tags/list")
    assert sorted(r.json()["tags"]) == ["v1", "v2", "v3"], describe(r)


def test_wharf_folder_served_by_distribution(wharf_factory, distribution_factory, skopeo, tmp_path):
    wharf = wharf_factory()
    certs = wharf.cert_dir(tmp_path / "certs")
    single = write_oci_layout(tmp_path / "single", "v1", n_layers=3)
    multi = write_oci_layout(tmp_path / "multi", "v1", platforms=["amd64", "arm64"], n_layers=2)
    for layout, ref in ((single, "interop/single:v1"), (multi, "interop/multi:v1")):
        skopeo("copy", "--all", "--preserve-digests", "--dest-cert-dir", str(certs),
               f"oci:{layout.path}:v1", f"docker://{wharf.host}/{ref}")
    # an extra tag, and a deleted one that must stay deleted
    skopeo("copy", "--preserve-digests", "--src-cert-dir", str(certs), "--dest-cert-dir", str(certs),
           f"docker://{wharf.host}/interop/single:v1", f"docker://{wharf.host}/interop/single:v2")
    skopeo("copy", "--preserve-digests", "--src-cert-dir", str(certs), "--dest-cert-dir", str(certs),
           f"docker://{wharf.host}/interop/single:v1", f"docker://{wharf.host}/interop/single:gone")
    r = V2Client(wharf).delete("/v2/interop/single/manifests/gone")
    assert r.status_code == 202, describe(r)
    wharf.stop()

    blobs = wharf.registry_dir / "docker" / "registry" / "v2" / "blobs" / "sha256"
    assert blobs.is_dir(), f"no distribution layout under {wharf.registry_dir}"
    for d in single.blob_digests():
        hexd = d.split(":", 1)[1]
        assert (blobs / hexd[:2] / hexd / "data").is_file(), f"blob {d} not at the distribution path"

    dist = distribution_factory(root_dir=wharf.registry_dir)
    for layout, repo in ((single, "interop/single"), (multi, "interop/multi")):
        out = tmp_path / f"out-{layout.path.name}"
        skopeo("copy", "--all", "--preserve-digests", "--src-tls-verify=false",
               f"docker://{dist.host}/{repo}:v1", f"oci:{out}:v1")
        assert_same_layout(layout, out)

    c = V2Client(dist)
    r = c.get("/v2/interop/single/tags/list")
    assert r.status_code == 200, describe(r)
    assert sorted(r.json()["tags"]) == ["v1", "v2"], describe(r)
    r = c.get("/v2/interop/multi/tags/list")
    assert r.json()["tags"] == ["v1"], describe(r)
    r = c.get("/v2/_catalog")
    assert {"interop/single", "interop/multi"} <= set(r.json()["repositories"]), describe(r)
    for im in multi.images:
        r = c.head(f"/v2/interop/multi/manifests/{im.manifest_digest}", headers={"Accept": MT_OCI_MANIFEST})
        assert r.status_code == 200, describe(r)

    # distribution can keep writing to it
    layout3 = write_oci_layout(tmp_path / "third", "v1", n_layers=1)
    skopeo("copy", "--preserve-digests", "--dest-tls-verify=false",
           f"oci:{layout3.path}:v1", f"docker://{dist.host}/interop/single:v3")
    r = c.get("/v2/interop/single/tags/list")
    assert sorted(r.json()["tags"]) == ["v1", "v2", "v3"], describe(r)
