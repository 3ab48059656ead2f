"""skopeo copies real images (OCI layout on disk) into Wharf and back, over
TLS trusted through the generated certificate (no --tls-verify=false)."""

from __future__ import annotations

import json

from ocihelpers import (MT_OCI_INDEX, MT_OCI_MANIFEST, V2Client, describe, file_digest, layout_blob,
                        read_layout_ref, sha256, write_oci_layout)


def assert_same_layout(src, out_path, ref="v1"):
    """`out_path` holds exactly the manifests and blobs of `src`, byte for byte."""
    desc = read_layout_ref(out_path, ref)
    assert desc["digest"] == src.top_digest, f"copied back {desc['digest']}, pushed {src.top_digest}"
    assert desc["mediaType"] == src.top_media_type
    for d in sorted(src.blob_digests()):
        p = layout_blob(out_path, d)
        assert p.is_file(), f"blob {d} missing after the round trip"
        assert file_digest(p) == d, f"blob {d} has different content after the round trip"
        assert p.read_bytes() == layout_blob(src.path, d).read_bytes()


def push(skopeo, wharf, certs, layout, dest_ref):
    skopeo("copy", "--all", "--preserve-digests", "--retry-times", "0", "--dest-cert-dir", str(certs),
           f"oci:{layout.path}:{layout.ref}", f"docker://{wharf.host}/{dest_ref}")


def pull(skopeo, wharf, certs, src_ref, out_path, ref="v1"):
    skopeo("copy", "--all", "--preserve-digests", "--retry-times", "0", "--src-cert-dir", str(certs),
           f"docker://{wharf.host}/{src_ref}", f"oci:{out_path}:{ref}")


def test_single_image_round_trip(wharf, skopeo, tmp_path):
    certs = wharf.cert_dir(tmp_path / "certs")
    src = write_oci_layout(tmp_path / "src", "v1", n_layers=3)

    push(skopeo, wharf, certs, src, "team/app:v1")

    # the registry serves the manifest bytes exactly as skopeo pushed them
    c = V2Client(wharf)
    r = c.get("/v2/team/app/manifests/v1", headers={"Accept": MT_OCI_MANIFEST})
    assert r.status_code == 200, describe(r)
    assert r.content == layout_blob(src.path, src.top_digest).read_bytes()
    assert r.headers.get("Docker-Content-Digest") == src.top_digest
    assert r.headers.get("Content-Type") == MT_OCI_MANIFEST

    out = tmp_path / "out"
    pull(skopeo, wharf, certs, "team/app:v1", out)
    assert_same_layout(src, out)

    # skopeo inspect shows the tag, digest and layers
    info = json.loads(skopeo("inspect", "--cert-dir", str(certs), f"docker://{wharf.host}/team/app:v1").stdout)
    assert info["Digest"] == src.top_digest, info
    assert "v1" in info["RepoTags"], info
    assert info["Layers"] == [l.digest for l in src.images[0].layers], info
    assert info["Architecture"] == "amd64" and info["Os"] == "linux", info

    # a second tag of the same image (registry-to-registry copy, blobs already there)
    skopeo("copy", "--preserve-digests", "--src-cert-dir", str(certs), "--dest-cert-dir", str(certs),
           f"docker://{wharf.host}/team/app:v1", f"docker://{wharf.host}/team/app:stable")
    tags = json.loads(skopeo("list-tags", "--cert-dir", str(certs), f"docker://{wharf.host}/team/app").stdout)
    assert tags["Repository"] == f"{wharf.host}/team/app", tags
    assert sorted(tags["Tags"]) == ["stable", "v1"], tags

    # skopeo delete removes the manifest (by digest, so every tag of it)
    skopeo("delete", "--cert-dir", str(certs), f"docker://{wharf.host}/team/app:v1")
    for ref in ("v1", "stable", src.top_digest):
        r = c.get(f"/v2/team/app/manifests/{ref}", headers={"Accept": MT_OCI_MANIFEST})
        assert r.status_code == 404, describe(r)
    p = skopeo("inspect", "--cert-dir", str(certs), f"docker://{wharf.host}/team/app:v1", check=False)
    assert p.returncode != 0, p.stdout


def test_multi_arch_index_round_trip(wharf, skopeo, tmp_path):
    certs = wharf.cert_dir(tmp_path / "certs")
    src = write_oci_layout(tmp_path / "src", "v1", platforms=["amd64", "arm64"], n_layers=2)
    assert src.top_media_type == MT_OCI_INDEX

    push(skopeo, wharf, certs, src, "team/multi:v1")

    out = tmp_path / "out"
    pull(skopeo, wharf, certs, "team/multi:v1", out)
    assert_same_layout(src, out)

    raw = skopeo("inspect", "--raw", "--cert-dir", str(certs), f"docker://{wharf.host}/team/multi:v1").stdout
    assert sha256(raw.encode()) == src.top_digest
    index = json.loads(raw)
    assert index["mediaType"] == MT_OCI_INDEX
    assert [(m["platform"]["architecture"], m["digest"]) for m in index["manifests"]] == \
        [(im.platform["architecture"], im.manifest_digest) for im in src.images]

    # each platform resolves to its own image
    for im in src.images:
        arch = im.platform["architecture"]
        info = json.loads(skopeo("--override-arch", arch, "--override-os", "linux", "inspect", "--cert-dir",
                                 str(certs), f"docker://{wharf.host}/team/multi:v1").stdout)
        assert info["Architecture"] == arch, info
        assert info["Layers"] == [l.digest for l in im.layers], info

    tags = json.loads(skopeo("list-tags", "--cert-dir", str(certs), f"docker://{wharf.host}/team/multi").stdout)
    assert tags["Tags"] == ["v1"], tags

    c = V2Client(wharf)
    r = c.head("/v2/team/multi/manifests/v1", headers={"Accept": MT_OCI_INDEX})
    assert r.status_code == 200 and r.headers.get("Docker-Content-Digest") == src.top_digest, describe(r)

    skopeo("delete", "--cert-dir", str(certs), f"docker://{wharf.host}/team/multi:v1")
    r = c.get("/v2/team/multi/manifests/v1", headers={"Accept": MT_OCI_INDEX})
    assert r.status_code == 404, describe(r)
    # the platform manifests are untouched by deleting the index
    for im in src.images:
        r = c.head(f"/v2/team/multi/manifests/{im.manifest_digest}", headers={"Accept": MT_OCI_MANIFEST})
        assert r.status_code == 200, describe(r)
