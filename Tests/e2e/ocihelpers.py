"""Small helpers shared by the end-to-end tests: digests, a raw /v2 client,
and an OCI image layout writer (real tar.gz layers) for skopeo tests."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import json
import os
import re
import ssl
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

import requests

from conftest import API_VERSION_HEADER, API_VERSION_VALUE

MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_OCI_EMPTY = "application/vnd.oci.empty.v1+json"

ERROR_CODES = {
    "BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID",
    "MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID", "MANIFEST_UNKNOWN", "MANIFEST_UNVERIFIED",
    "NAME_INVALID", "NAME_UNKNOWN", "SIZE_INVALID", "TAG_INVALID", "UNAUTHORIZED", "DENIED",
    "UNSUPPORTED", "TOOMANYREQUESTS",
}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def relative_location(resp) -> str:
    """Path + query of a Location header (absolute or relative), like the
    conformance suite's GetRelativeLocation."""
    loc = resp.headers.get("Location", "")
    u = urlsplit(loc)
    return u.path + (("?" + u.query) if u.query else "")


def error_codes(resp) -> list[str]:
    """The `code`s of an OCI error body; [] when the body is not one."""
    try:
        body = resp.json()
    except ValueError:
        return []
    errs = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errs, list):
        return []
    return [e.get("code") for e in errs if isinstance(e, dict)]


def describe(resp) -> str:
    """A one-screen description of a response for assertion messages."""
    req = resp.request
    body = resp.content[:600] if resp.content is not None else b""
    hdrs = {k: v for k, v in resp.headers.items()
            if k.lower() in ("location", "range", "content-range", "content-type", "content-length",
                             "docker-content-digest", "oci-subject", "oci-filters-applied", "link",
                             "docker-upload-uuid", API_VERSION_HEADER.lower())}
    return f"{req.method} {req.url} -> {resp.status_code} {hdrs} body={body!r}"


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="…",service="…",scope="…"` -> ("bearer", {realm, service, scope, ...})."""
    scheme, _, rest = header.partition(" ")
    params: dict[str, str] = {}
    for m in re.finditer(r'([A-Za-z_]+)="((?:[^"\\]|\\.)*)"', rest):
        params[m.group(1)] = m.group(2).replace('\\"', '"').replace("\\\\", "\\")
    return scheme.lower(), params


class TokenAuth(requests.auth.AuthBase):
    """The Docker token flow as clients walk it: a request answered 401 with a
    Bearer challenge makes us fetch a token from the realm (Basic credentials,
    or none for anonymous) for every scope seen so far, and resend once when the
    body can be replayed. Later requests carry the token at once."""

    def __init__(self, username: Optional[str], password: Optional[str], verify):
        self.username = username
        self.password = password
        self.verify = verify
        self.scopes: list[str] = []
        self.token: Optional[str] = None
        self.fetches = 0

    def fetch(self, realm: str, service: str) -> str:
        auth = (self.username, self.password) if self.username is not None else None
        r = requests.get(realm, params=[("service", service)] + [("scope", s) for s in self.scopes],
                         auth=auth, verify=self.verify, timeout=30)
        assert r.status_code == 200, f"token request failed: {r.status_code} {r.text[:300]}"
        self.fetches += 1
        return r.json()["token"]

    def __call__(self, r):
        if self.token:
            r.headers["Authorization"] = f"Bearer {self.token}"
        r.register_hook("response", self._on_response)
        return r

    def _on_response(self, resp, **kwargs):
        header = resp.headers.get("WWW-Authenticate", "")
        if resp.status_code != 401 or not header.lower().startswith("bearer "):
            return resp
        if getattr(resp.request, "_wharf_retried", False):
            return resp
        _, params = parse_challenge(header)
        scope = params.get("scope")
        if scope and scope not in self.scopes:
            self.scopes.append(scope)
        self.token = self.fetch(params["realm"], params.get("service", ""))
        body = resp.request.body
        if body is not None and not isinstance(body, (bytes, str)):
            return resp  # a streamed body cannot be sent twice; the next request carries the token
        resp.content  # release the connection
        retry = resp.request.copy()
        retry._wharf_retried = True
        retry.headers["Authorization"] = f"Bearer {self.token}"
        new = resp.connection.send(retry, **kwargs)
        new.history.append(resp)
        new.request = retry
        return new


class V2Client:
    """Raw HTTP to a registry's /v2 API. Records responses lacking the
    Docker-Distribution-API-Version header. With `auth=(user, password)` (or
    `auth=(None, None)` for anonymous) it walks the token flow like a client."""

    def __init__(self, server, default_name: str = "", auth: Optional[tuple] = None):
        self.server = server
        self.base = server.base_url
        self.session = requests.Session()
        self.session.verify = server.verify
        if auth is not None:
            self.session.auth = TokenAuth(auth[0], auth[1], server.verify)
        self.default_name = default_name
        self.missing_api_version: list[str] = []

    def url(self, path: str, name: Optional[str] = None, **subst: str) -> str:
        path = path.replace("<name>", name or self.default_name)
        for k, v in subst.items():
            path = path.replace(f"<{k}>", v)
        return path if path.startswith("http") else self.base + path

    def request(self, method: str, path: str, *, name: Optional[str] = None, headers=None, params=None,
                data=None, allow_redirects: bool = True, **subst: str) -> requests.Response:
        r = self.session.request(method, self.url(path, name, **subst), headers=headers or {}, params=params,
                                 data=data, allow_redirects=allow_redirects, timeout=60,
                                 verify=self.server.verify)
        if r.headers.get(API_VERSION_HEADER) != API_VERSION_VALUE:
            self.missing_api_version.append(f"{method} {r.request.url} -> {r.status_code}")
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def head(self, path, **kw):
        return self.request("HEAD", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # convenience -----------------------------------------------------------
    def push_blob(self, data: bytes, name: Optional[str] = None) -> str:
        d = sha256(data)
        r = self.post("/v2/<name>/blobs/uploads/", name=name)
        assert r.status_code == 202, describe(r)
        r = self.put(relative_location(r), params={"digest": d}, data=data,
                     headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 201, describe(r)
        return d

    def push_manifest(self, ref: str, body: bytes, media_type: str = MT_OCI_MANIFEST,
                      name: Optional[str] = None) -> requests.Response:
        r = self.put(f"/v2/<name>/manifests/{ref}", name=name, data=body, headers={"Content-Type": media_type})
        assert r.status_code == 201, describe(r)
        return r


def raw_request(server, method: str, raw_path: str, body: bytes = b"", headers=None):
    """Send a request with the path exactly as given (no normalisation of
    `..` or percent-escapes). Returns (status, headers, body)."""
    host, port = "127.0.0.1", server.port
    if server.tls:
        ctx = ssl.create_default_context(cafile=str(server.cert_path))
        conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=30)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.putrequest(method, raw_path, skip_accept_encoding=True)
        hdrs = {"Content-Length": str(len(body))} if body or method in ("PUT", "POST", "PATCH") else {}
        hdrs.update(headers or {})
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders(body or None)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def raw_error_codes(body: bytes) -> list[str]:
    try:
        doc = json.loads(body)
    except ValueError:
        return []
    errs = doc.get("errors") if isinstance(doc, dict) else None
    return [e.get("code") for e in errs if isinstance(e, dict)] if isinstance(errs, list) else []


# --------------------------------------------------------------------------- OCI image layout


@dataclass
class Blob:
    digest: str
    size: int
    media_type: str


@dataclass
class Image:
    manifest_digest: str
    manifest_size: int
    config: Blob
    layers: list[Blob]
    platform: dict


@dataclass
class Layout:
    path: Path
    ref: str
    top_digest: str          # what index.json points at (manifest or index)
    top_media_type: str
    images: list[Image] = field(default_factory=list)

    def blob_digests(self) -> set[str]:
        """Every blob the image consists of (manifests, configs, layers)."""
        out = {self.top_digest}
        for im in self.images:
            out.add(im.manifest_digest)
            out.add(im.config.digest)
            out.update(l.digest for l in im.layers)
        return out


def _write_blob(layout: Path, data: bytes) -> str:
    d = sha256(data)
    p = layout / "blobs" / "sha256" / d.split(":", 1)[1]
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return d


def _make_layer(rng_bytes, n_files: int, size: int) -> tuple[bytes, str]:
    """A gzip'd tar with random files; returns (tar.gz bytes, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        d = tarfile.TarInfo("data")
        d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, 1700000000
        tar.addfile(d)
        for i in range(n_files):
            content = rng_bytes(size)
            ti = tarfile.TarInfo(f"data/file-{i}.bin")
            ti.size, ti.mode, ti.mtime = len(content), 0o644, 1700000000
            tar.addfile(ti, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    gz = gzip.compress(tar_bytes, compresslevel=1, mtime=0)
    return gz, sha256(tar_bytes)


def _build_image(layout: Path, arch: str, n_layers: int, layer_size: int) -> Image:
    layers, diff_ids = [], []
    for i in range(n_layers):
        gz, diff_id = _make_layer(os.urandom, n_files=2 + i, size=layer_size)
        layers.append(Blob(_write_blob(layout, gz), len(gz), MT_OCI_LAYER_GZIP))
        diff_ids.append(diff_id)
    config = {
        "created": "2024-01-01T00:00:00Z",
        "architecture": arch,
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["/bin/sh"], "Labels": {"wharf.e2e": os.urandom(6).hex()}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"layer {i}"} for i in range(n_layers)],
    }
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    cfg = Blob(_write_blob(layout, config_bytes), len(config_bytes), MT_OCI_CONFIG)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_OCI_MANIFEST,
        "config": {"mediaType": cfg.media_type, "digest": cfg.digest, "size": cfg.size},
        "layers": [{"mediaType": l.media_type, "digest": l.digest, "size": l.size} for l in layers],
        "annotations": {"org.opencontainers.image.title": f"wharf e2e {arch}"},
    }
    mbytes = json.dumps(manifest, indent=2).encode()
    return Image(_write_blob(layout, mbytes), len(mbytes), cfg, layers, {"architecture": arch, "os": "linux"})


def write_oci_layout(path: Path, ref: str = "v1", platforms: Optional[list[str]] = None,
                     n_layers: int = 3, layer_size: int = 96 * 1024) -> Layout:
    """Write an OCI image layout at `path` tagged `ref`.

    platforms=None: a single image manifest; otherwise an OCI image index with
    one image per architecture (linux/<arch>)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    if not platforms:
        im = _build_image(path, "amd64", n_layers, layer_size)
        top, top_size, top_mt, images = im.manifest_digest, im.manifest_size, MT_OCI_MANIFEST, [im]
    else:
        images = [_build_image(path, arch, n_layers, layer_size) for arch in platforms]
        index = {
            "schemaVersion": 2,
            "mediaType": MT_OCI_INDEX,
            "manifests": [{"mediaType": MT_OCI_MANIFEST, "digest": im.manifest_digest, "size": im.manifest_size,
                           "platform": im.platform} for im in images],
        }
        ibytes = json.dumps(index, indent=2).encode()
        top, top_size, top_mt = _write_blob(path, ibytes), len(ibytes), MT_OCI_INDEX
    (path / "index.json").write_text(json.dumps({
        "schemaVersion": 2,
        "mediaType": MT_OCI_INDEX,
        "manifests": [{"mediaType": top_mt, "digest": top, "size": top_size,
                       "annotations": {"org.opencontainers.image.ref.name": ref}}],
    }))
    return Layout(path, ref, top, top_mt, images)


def read_layout_ref(path: Path, ref: str) -> dict:
    """The index.json descriptor of `ref` in an OCI layout."""
    idx = json.loads((path / "index.json").read_text())
    for m in idx.get("manifests", []):
        if (m.get("annotations") or {}).get("org.opencontainers.image.ref.name") == ref:
            return m
    raise AssertionError(f"{ref!r} not in {path}/index.json: {idx}")


def layout_blob(path: Path, digest: str) -> Path:
    alg, hexd = digest.split(":", 1)
    return path / "blobs" / alg / hexd


def write_oci_archive(layout: Layout, archive: Path) -> Path:
    """The layout as a tar (an `oci-archive:`), which `ctr images import` and `podman pull` read."""
    with tarfile.open(archive, "w") as tar:
        for entry in sorted(layout.path.iterdir()):
            tar.add(entry, arcname=entry.name)
    return archive
