"""oras-py pushes an artifact and a second artifact whose `subject` is the
first; the referrers API lists it (with and without an artifactType filter);
oras pulls both back byte for byte. TLS is verified against Wharf's cert."""

from __future__ import annotations

import json
import os

import oras.client
import oras.oci

from ocihelpers import MT_OCI_INDEX, MT_OCI_MANIFEST, V2Client, describe, sha256

SIGNATURE_TYPE = "application/vnd.wharf.e2e.signature.v1+json"
SBOM_TYPE = "application/vnd.wharf.e2e.sbom.v1+json"


def test_artifact_with_subject_and_referrers(wharf, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # oras-py only pushes files below the working directory
    client = oras.client.OrasClient(hostname=wharf.host, tls_verify=str(wharf.cert_path))
    repo = f"{wharf.host}/artifacts/doc"

    # 1. the subject: an ordinary artifact (a file), pushed in chunks
    payload = os.urandom(300_000)
    (tmp_path / "report.bin").write_bytes(payload)
    r = client.push(target=f"{repo}:v1", files=["report.bin"], do_chunked=True, chunk_size=64 * 1024,
                    manifest_annotations={"org.opencontainers.image.title": "report"}, quiet=True)
    assert r.status_code == 201, describe(r)
    subject_digest = r.headers.get("Docker-Content-Digest")
    assert subject_digest and subject_digest.startswith("sha256:"), describe(r)

    c = V2Client(wharf)
    m = c.get("/v2/artifacts/doc/manifests/v1", headers={"Accept": MT_OCI_MANIFEST})
    assert m.status_code == 200, describe(m)
    assert sha256(m.content) == subject_digest
    subject = oras.oci.Subject(mediaType=MT_OCI_MANIFEST, digest=subject_digest, size=len(m.content))

    # 2. the referrer: config media type = its artifact type, subject = (1)
    (tmp_path / "sig-config.json").write_text(json.dumps({"signed": subject_digest}))
    sig = json.dumps({"digest": subject_digest, "signature": os.urandom(32).hex()}).encode()
    (tmp_path / "signature.json").write_bytes(sig)
    r = client.push(target=f"{repo}:sig", files=["signature.json:application/json"],
                    manifest_config=f"sig-config.json:{SIGNATURE_TYPE}", subject=subject, quiet=True)
    assert r.status_code == 201, describe(r)
    assert r.headers.get("OCI-Subject") == subject_digest, describe(r)
    sig_digest = r.headers.get("Docker-Content-Digest")
    sig_manifest = c.get(f"/v2/artifacts/doc/manifests/{sig_digest}", headers={"Accept": MT_OCI_MANIFEST})
    assert sig_manifest.status_code == 200, describe(sig_manifest)
    assert json.loads(sig_manifest.content)["subject"]["digest"] == subject_digest

    # 3. a second referrer of another artifact type, untagged, pushed by digest
    sbom = b'{"packages": []}'
    sbom_blob = c.push_blob(sbom, name="artifacts/doc")
    empty = c.push_blob(b"{}", name="artifacts/doc")
    sbom_manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MT_OCI_MANIFEST, "artifactType": SBOM_TYPE,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "application/json", "digest": sbom_blob, "size": len(sbom)}],
        "subject": {"mediaType": MT_OCI_MANIFEST, "digest": subject_digest, "size": len(m.content)},
        "annotations": {"org.example.kind": "sbom"},
    }).encode()
    r = c.push_manifest(sha256(sbom_manifest), sbom_manifest, name="artifacts/doc")
    assert r.headers.get("OCI-Subject") == subject_digest, describe(r)

    # 4. referrers API, unfiltered
    r = c.get(f"/v2/artifacts/doc/referrers/{subject_digest}")
    assert r.status_code == 200, describe(r)
    assert r.headers.get("Content-Type") == MT_OCI_INDEX, describe(r)
    index = r.json()
    assert index["schemaVersion"] == 2 and index["mediaType"] == MT_OCI_INDEX, index
    by_digest = {d["digest"]: d for d in index["manifests"]}
    assert set(by_digest) == {sig_digest, sha256(sbom_manifest)}, index
    assert by_digest[sig_digest]["artifactType"] == SIGNATURE_TYPE
    assert by_digest[sig_digest]["mediaType"] == MT_OCI_MANIFEST
    assert by_digest[sig_digest]["size"] == len(sig_manifest.content)
    assert by_digest[sha256(sbom_manifest)]["artifactType"] == SBOM_TYPE
    assert by_digest[sha256(sbom_manifest)].get("annotations") == {"org.example.kind": "sbom"}

    # 5. filtered by artifactType
    r = c.get(f"/v2/artifacts/doc/referrers/{subject_digest}", params={"artifactType": SIGNATURE_TYPE})
    assert r.status_code == 200, describe(r)
    assert r.headers.get("OCI-Filters-Applied") == "artifactType", describe(r)
    assert [d["digest"] for d in r.json()["manifests"]] == [sig_digest], describe(r)
    r = c.get(f"/v2/artifacts/doc/referrers/{subject_digest}", params={"artifactType": "application/x-none"})
    assert r.status_code == 200 and r.json()["manifests"] == [], describe(r)
    assert r.headers.get("OCI-Filters-Applied") == "artifactType", describe(r)

    # the referrer has no referrers of its own
    r = c.get(f"/v2/artifacts/doc/referrers/{sig_digest}")
    assert r.status_code == 200 and r.json()["manifests"] == [], describe(r)

    # 6. oras pulls both artifacts back, byte for byte
    files = client.pull(target=f"{repo}:v1", outdir=str(tmp_path / "pulled"))
    assert [os.path.basename(f) for f in files] == ["report.bin"]
    assert open(files[0], "rb").read() == payload
    files = client.pull(target=f"{repo}@{sig_digest}", outdir=str(tmp_path / "pulled-sig"))
    assert [os.path.basename(f) for f in files] == ["signature.json"]
    assert open(files[0], "rb").read() == sig

    # 7. deleting a referrer removes it from the list
    r = c.delete(f"/v2/artifacts/doc/manifests/{sha256(sbom_manifest)}")
    assert r.status_code == 202, describe(r)
    r = c.get(f"/v2/artifacts/doc/referrers/{subject_digest}")
    assert [d["digest"] for d in r.json()["manifests"]] == [sig_digest], describe(r)
