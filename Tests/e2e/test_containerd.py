"""containerd's `ctr` against Wharf: push and pull with a user's credentials, and refusals that end at once and
say why.

containerd (Debian's package) runs here as root with its own root, state and socket in a temporary folder and its
CRI plugin disabled; it trusts Wharf's generated certificate through a `hosts.toml` (`--hosts-dir`), as a
Kubernetes node would (without one, containerd speaks plain HTTP to 127.0.0.1). Requests are counted from
`ctr --http-dump`, which prints every request ctr sends.

What containerd does with a refusal: after a 401 it fetches a token and sends the request again; a second 401
with `error="insufficient_scope"` ends it (`insufficient_scope: authorization failed`), while a 401 without it
makes it start over, five times, for a manifest `PUT` (`failed to copy after 5 retries`). Of a 403 it prints only
the status line, so Wharf puts the reason there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from conftest import REFUSAL_ADMIN, REFUSAL_ALICE, REFUSAL_BOB, ServerProcess, require_executable
from ocihelpers import MT_OCI_MANIFEST, V2Client, describe, layout_blob, write_oci_archive, write_oci_layout

ADMIN, ALICE, BOB = REFUSAL_ADMIN, REFUSAL_ALICE, REFUSAL_BOB

CONFIG = """\
version = 2
root = "{root}/root"
state = "{root}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{root}/containerd.sock"

[ttrpc]
  address = "{root}/containerd.sock.ttrpc"

[debug]
  address = "{root}/debug.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "{root}/opt"
"""

REQUEST = re.compile(r"\b(HEAD|GET|PUT|POST|PATCH|DELETE) (/v2/[^ \"]*) HTTP/1\.1")


class Containerd(ServerProcess):
    """`containerd --config CONFIG` with everything below one folder."""

    name = "containerd"

    def __init__(self, folder: Path):
        super().__init__(folder / "containerd.log")
        self.bin = require_executable("containerd", "containerd (Debian's package)")
        self.ctr_bin = require_executable("ctr", "ctr (Debian's containerd package)")
        self.folder = folder
        self.config = folder / "config.toml"
        self.socket = folder / "containerd.sock"
        self.config.write_text(CONFIG.format(root=folder))

    def command(self) -> list[str]:
        return [self.bin, "--config", str(self.config)]

    def ready(self) -> tuple[bool, str]:
        if not self.socket.exists():
            return False, f"{self.socket} not created"
        p = subprocess.run([self.ctr_bin, "--address", str(self.socket), "version"], capture_output=True, text=True,
                           timeout=30)
        return p.returncode == 0, p.stderr.strip()

    def ctr(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run([self.ctr_bin, "--address", str(self.socket), *args], capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            pytest.fail(f"`ctr {' '.join(args)}` exited {p.returncode}\nstdout:\n{p.stdout[-3000:]}\n"
                        f"stderr:\n{p.stderr[-3000:]}", pytrace=False)
        return p


@pytest.fixture(scope="module")
def containerd(tmp_path_factory) -> Containerd:
    if os.geteuid() != 0:
        pytest.fail("the containerd tests run containerd as root (its snapshots and mounts need it); run them as root",
                    pytrace=False)
    daemon = Containerd(tmp_path_factory.mktemp("ctd"))
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.fixture
def server(refusal_server):
    return refusal_server


def hosts_dir(server, into: Path) -> Path:
    """A containerd hosts directory that sends HOST:PORT to Wharf over HTTPS, trusting its certificate."""
    folder = into / server.host
    folder.mkdir(parents=True)
    shutil.copyfile(server.cert_path, folder / "ca.crt")
    # containerd 1.6 reads a hosts.toml only with a [host] table; `ca` at the top trusts the `server` fallback too.
    ca = folder / "ca.crt"
    (folder / "hosts.toml").write_text(f'server = "https://{server.host}"\nca = "{ca}"\n\n'
                                       f'[host."https://{server.host}"]\n  ca = "{ca}"\n')
    return into


def oci_archive(tmp_path: Path, name: str) -> tuple[Path, str]:
    """A one-layer OCI image as an archive; returns (archive, manifest digest)."""
    layout = write_oci_layout(tmp_path / name, "v1", n_layers=1, layer_size=4096)
    return write_oci_archive(layout, tmp_path / f"{name}.tar"), layout.top_digest


def requests_of(p: subprocess.CompletedProcess) -> list[tuple[str, str]]:
    """(method, path) of every registry request in `ctr --http-dump` output."""
    return REQUEST.findall(p.stdout + p.stderr)


def creds(account: tuple[str, str]) -> str:
    return f"{account[0]}:{account[1]}"


def test_ctr_pushes_and_pulls_and_is_refused_with_reasons(server, containerd, tmp_path):
    hosts = hosts_dir(server, tmp_path / "hosts")
    ctr: Callable[..., subprocess.CompletedProcess] = containerd.ctr
    archive, digest = oci_archive(tmp_path, "img")
    image = f"{server.host}/alice/ctr:v1"
    ctr("images", "import", "--no-unpack", "--base-name", f"{server.host}/alice/ctr", str(archive))

    # alice pushes into her namespace and into oss, with her credentials.
    ctr("images", "push", "--hosts-dir", str(hosts), "--user", creds(ALICE), image)
    r = V2Client(server, "alice/ctr", auth=ALICE).get("/v2/<name>/manifests/v1", headers={"Accept": MT_OCI_MANIFEST})
    assert r.status_code == 200 and r.headers.get("Docker-Content-Digest") == digest, describe(r)
    ctr("images", "tag", image, f"{server.host}/oss/lib:v1")
    ctr("images", "push", "--hosts-dir", str(hosts), "--user", creds(ALICE), f"{server.host}/oss/lib:v1")

    def refused_push(ref: str, *user: str) -> tuple[subprocess.CompletedProcess, list[tuple[str, str]]]:
        ctr("images", "tag", "--force", image, f"{server.host}/{ref}")
        p = ctr("images", "push", "--http-dump", "--hosts-dir", str(hosts), *user, f"{server.host}/{ref}",
                check=False)
        assert p.returncode != 0, f"ctr pushed {ref} but must be refused:\n{p.stderr[-2000:]}"
        return p, requests_of(p)

    # Anonymous, into the public oss: the blobs are there (anyone may pull them), the manifest PUT is refused;
    # 401 insufficient_scope ends it after the retry with a fresh token.
    p, seen = refused_push("oss/lib:anonymous")
    puts = [path for method, path in seen if method == "PUT"]
    assert puts == ["/v2/oss/lib/manifests/anonymous"] * 2, (puts, p.stderr[-2000:])
    assert "insufficient_scope" in p.stderr and "retries" not in p.stderr, p.stderr[-2000:]

    # Anonymous, into alice's private namespace: refused at the first blob, in a few requests.
    p, seen = refused_push("alice/ctr:anonymous")
    assert len(seen) <= 10 and not [m for m, _ in seen if m in ("PUT", "PATCH")], (seen, p.stderr[-2000:])
    assert "insufficient_scope" in p.stderr, p.stderr[-2000:]

    # bob, into oss where he may pull but not push: the 403 on the manifest says why, and ends it.
    p, seen = refused_push("oss/lib:bob", "--user", creds(BOB))
    assert [path for method, path in seen if method == "PUT"] == ["/v2/oss/lib/manifests/bob"], seen
    assert "403 Forbidden: bob may not push oss/lib" in p.stderr, p.stderr[-2000:]

    # bob, into alice's private namespace: he may not even look at its blobs; the reason names no namespace
    # he may not see (AccessDenial).
    p, seen = refused_push("alice/ctr:bob", "--user", creds(BOB))
    assert not [m for m, _ in seen if m in ("PUT", "PATCH")], seen
    assert "bob may not push alice/ctr: no namespace alice that bob may push to" in p.stderr, p.stderr[-2000:]

    # Nothing of the refused pushes was stored.
    admin = V2Client(server, auth=ADMIN)
    for repo, tags in (("oss/lib", ["v1"]), ("alice/ctr", ["v1"])):
        r = admin.get(f"/v2/{repo}/tags/list")
        assert r.status_code == 200 and r.json()["tags"] == tags, describe(r)


def test_ctr_pulls_an_image_pushed_by_skopeo(server, containerd, skopeo, tmp_path):
    hosts = hosts_dir(server, tmp_path / "hosts")
    certs = server.cert_dir(tmp_path / "certs")
    layout = write_oci_layout(tmp_path / "src", "v1", n_layers=2, layer_size=8192)
    skopeo("copy", "--preserve-digests", "--retry-times", "0", "--dest-cert-dir", str(certs), "--dest-creds",
           creds(ALICE), f"oci:{layout.path}:v1", f"docker://{server.host}/alice/fresh:v1")

    image = f"{server.host}/alice/fresh:v1"
    # Without credentials the private image is refused, and ctr says it was not allowed.
    p = containerd.ctr("images", "pull", "--hosts-dir", str(hosts), image, check=False)
    assert p.returncode != 0 and "insufficient_scope" in p.stderr, p.stderr[-2000:]
    # bob is told why.
    p = containerd.ctr("images", "pull", "--hosts-dir", str(hosts), "--user", creds(BOB), image, check=False)
    assert p.returncode != 0 and "bob may not pull alice/fresh" in p.stderr, p.stderr[-2000:]

    containerd.ctr("images", "pull", "--hosts-dir", str(hosts), "--user", creds(ALICE), image)
    listed = containerd.ctr("images", "ls").stdout
    assert any(line.split()[:1] == [image] and layout.top_digest in line for line in listed.splitlines()), listed
    # The layers came through intact (ctr checked their digests too).
    for layer in layout.images[0].layers:
        blob = subprocess.run([containerd.ctr_bin, "--address", str(containerd.socket), "content", "get", layer.digest],
                              capture_output=True, timeout=60)
        assert blob.returncode == 0, blob.stderr
        assert blob.stdout == layout_blob(layout.path, layer.digest).read_bytes(), layer.digest
