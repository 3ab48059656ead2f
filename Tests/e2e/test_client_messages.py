"""What a person sees when Wharf refuses them, through skopeo and podman (containerd: test_containerd.py).

These clients print a registry error's `code: message` and drop its `detail`, and of a 403 answering a `HEAD`
(the blob check every push starts with) only `403 (Forbidden)`. So Wharf's reason is the `message`, and a
refused `HEAD` on a blob under a token is answered 401 `insufficient_scope` with the reason as the challenge's
`error_description`, which they print. Also: podman's login, push and `manifest push --all` as the README shows
them, skopeo trusting Wharf through a `certs.d` folder, and JSON bodies that do not escape slashes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import pytest
import requests

from conftest import REFUSAL_ADMIN, REFUSAL_ALICE, REFUSAL_BOB, require_executable
from ocihelpers import MT_OCI_INDEX, MT_OCI_MANIFEST, V2Client, describe, write_oci_archive, write_oci_layout

ADMIN, ALICE, BOB = REFUSAL_ADMIN, REFUSAL_ALICE, REFUSAL_BOB
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"

# The reasons, as AccessDenial words them (bob may not see whether namespace alice exists, so he is not told).
BOB_PULLS_ALICE = "bob may not pull alice/app: no namespace alice that bob may pull from"
BOB_PUSHES_OSS = "bob may not push oss/lib"
ALICE_PUSHES_GLOBAL = "alice may not push plain"
ANONYMOUS_PUSHES_OSS = "authentication required to push oss/lib"


@pytest.fixture
def server(refusal_server):
    return refusal_server


def creds(account: tuple[str, str]) -> str:
    return f"{account[0]}:{account[1]}"


def assert_refused(p: subprocess.CompletedProcess, what: str, *reasons: str) -> None:
    """The client failed, and what it printed says `reasons`."""
    if p.returncode == 0:
        pytest.fail(f"{what}: succeeded but must be refused\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}", pytrace=False)
    missing = [r for r in reasons if r not in p.stderr]
    if missing:
        pytest.fail(f"{what}: refused, but the message does not say {missing}:\n{p.stderr}", pytrace=False)


# --------------------------------------------------------------------------- skopeo


def test_skopeo_shows_the_reason_of_a_refusal(server, skopeo, tmp_path):
    certs = server.cert_dir(tmp_path / "certs")
    src = write_oci_layout(tmp_path / "src", "v1", n_layers=1, layer_size=4096)
    copy = ("copy", "--retry-times", "0", "--dest-cert-dir", str(certs))

    def push(ref: str, *options: str) -> subprocess.CompletedProcess:
        return skopeo(*copy, *options, f"oci:{src.path}:v1", f"docker://{server.host}/{ref}", check=False)

    assert push("alice/app:v1", "--dest-creds", creds(ALICE)).returncode == 0
    assert push("oss/lib:v1", "--dest-creds", creds(ALICE)).returncode == 0

    # bob may not even check alice's blobs: the push fails on that HEAD, and says why.
    assert_refused(push("alice/app:bob", "--dest-creds", creds(BOB)), "bob pushing into alice/app", BOB_PULLS_ALICE)
    # He may look into oss (public) but not push there: refused on the upload.
    assert_refused(push("oss/lib:bob", "--dest-creds", creds(BOB)), "bob pushing into oss/lib", BOB_PUSHES_OSS)
    # Nobody but admins pushes into the global namespace.
    assert_refused(push("plain:v1", "--dest-creds", creds(ALICE)), "alice pushing into plain", ALICE_PUSHES_GLOBAL)
    # Anonymous callers are told to log in.
    assert_refused(push("oss/lib:anonymous"), "anonymous push into oss/lib", ANONYMOUS_PUSHES_OSS)
    # A pull refused on its manifest GET says why too.
    p = skopeo("inspect", "--cert-dir", str(certs), "--creds", creds(BOB), f"docker://{server.host}/alice/app:v1",
               check=False)
    assert_refused(p, "bob inspecting alice/app", BOB_PULLS_ALICE)

    # Nothing refused was stored.
    admin = V2Client(server, auth=ADMIN)
    for repo, tags in (("alice/app", ["v1"]), ("oss/lib", ["v1"])):
        r = admin.get(f"/v2/{repo}/tags/list")
        assert r.status_code == 200 and r.json()["tags"] == tags, describe(r)
    assert admin.get("/v2/plain/tags/list").status_code == 404


def test_skopeo_trusts_wharf_through_certs_d_without_cert_dir(server, skopeo, tmp_path):
    """With HOST:PORT/ca.crt in a certs.d folder (here the user's ~/.config/containers/certs.d, which skopeo reads
    like /etc/containers/certs.d), skopeo needs no --cert-dir."""
    dest = f"docker://{server.host}/alice/trusted:v1"
    src = write_oci_layout(tmp_path / "src", "v1", n_layers=1, layer_size=4096)
    p = skopeo("copy", "--retry-times", "0", "--dest-creds", creds(ALICE), f"oci:{src.path}:v1", dest, check=False)
    assert p.returncode != 0 and "certificate signed by unknown authority" in p.stderr, p.stderr
    home = tmp_path / "skopeo-home"  # the skopeo fixture's HOME
    trust = home / ".config" / "containers" / "certs.d" / server.host
    trust.mkdir(parents=True)
    shutil.copyfile(server.cert_path, trust / "ca.crt")
    skopeo("copy", "--retry-times", "0", "--dest-creds", creds(ALICE), f"oci:{src.path}:v1", dest)
    info = json.loads(skopeo("inspect", "--creds", creds(ALICE), dest).stdout)
    assert info["Digest"] == src.top_digest, info


# --------------------------------------------------------------------------- podman


@pytest.fixture
def podman(tmp_path_factory) -> Callable[..., subprocess.CompletedProcess]:
    """Run podman hermetically as root: its own storage (vfs, no mounts needed), run root, temporary folder,
    registries.conf, auth file and home; no event log. (A short folder: podman refuses a run root longer than 50
    characters.)"""
    exe = require_executable(os.environ.get("PODMAN", "podman"), "podman")
    if os.geteuid() != 0:
        pytest.fail("the podman tests run podman as root with its storage in a temporary folder; run them as root",
                    pytrace=False)
    home = tmp_path_factory.mktemp("pm")
    (home / ".config" / "containers").mkdir(parents=True)
    (home / "tmp").mkdir()
    registries_conf = home / "registries.conf"
    registries_conf.write_text("unqualified-search-registries = []\n")
    policy = home / "policy.json"
    policy.write_text('{"default": [{"type": "insecureAcceptAnything"}]}\n')
    (home / "auth.json").write_text('{"auths": {}}\n')  # podman wants REGISTRY_AUTH_FILE to exist
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_AUTH_FILE", "CONTAINERS_"))}
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               TMPDIR=str(home / "tmp"), CONTAINERS_REGISTRIES_CONF=str(registries_conf),
               REGISTRY_AUTH_FILE=str(home / "auth.json"))
    base = [exe, "--root", str(home / "storage"), "--runroot", str(home / "run"), "--storage-driver", "vfs",
            "--events-backend", "none", "--tmpdir", str(home / "libpod-tmp")]

    def run(*args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
        words = 2 if args[0] == "manifest" else 1  # the (sub)command, then its options
        command, rest = list(args[:words]), list(args[words:])
        if command in (["pull"], ["push"]):
            rest = ["--signature-policy", str(policy), *rest]
        cmd = [*base, *command, *rest]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            pytest.fail(f"`{' '.join(cmd)}` exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}",
                        pytrace=False)
        return p

    return run


def oci_archive(tmp_path: Path, name: str) -> tuple[Path, str]:
    """A one-layer OCI image as an archive; returns (archive, manifest digest)."""
    layout = write_oci_layout(tmp_path / name, "v1", n_layers=1, layer_size=4096)
    return write_oci_archive(layout, tmp_path / f"{name}.tar"), layout.top_digest


def test_podman_login_push_pull_and_refusals(server, podman, tmp_path):
    certs = server.cert_dir(tmp_path / "certs")
    archive, _ = oci_archive(tmp_path, "img")
    podman("pull", f"oci-archive:{archive}")
    local = "localhost/v1:latest"  # what podman names an OCI archive's image tagged v1
    assert local in podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout

    # README: podman login, then push without credentials on the command line.
    p = podman("login", "--cert-dir", str(certs), "-u", ALICE[0], "-p", ALICE[1], server.host)
    assert "Login Succeeded" in p.stdout, p.stdout + p.stderr
    podman("push", "--cert-dir", str(certs), local, f"docker://{server.host}/alice/app:v1")
    podman("push", "--cert-dir", str(certs), local, f"docker://{server.host}/oss/lib:v1")
    # podman pushes what it stores (its own compression): the registry serves that manifest
    digest = V2Client(server, "alice/app", auth=ALICE).get(
        "/v2/<name>/manifests/v1", headers={"Accept": MT_OCI_MANIFEST}).headers.get("Docker-Content-Digest")
    assert digest and digest.startswith("sha256:")

    # README: a multi-platform list pushed with its images.
    podman("manifest", "create", "wharf-list")
    podman("manifest", "add", "wharf-list", f"containers-storage:{local}")
    podman("manifest", "push", "--all", "--cert-dir", str(certs), "wharf-list",
           f"docker://{server.host}/alice/multi:v1")
    r = V2Client(server, "alice/multi", auth=ALICE).get(
        "/v2/<name>/manifests/v1", headers={"Accept": f"{MT_OCI_INDEX}, {MT_DOCKER_LIST}"})
    assert r.status_code == 200 and len(r.json()["manifests"]) == 1, describe(r)
    child = r.json()["manifests"][0]["digest"]
    r = V2Client(server, "alice/multi", auth=ALICE).head(f"/v2/<name>/manifests/{child}",
                                                          headers={"Accept": MT_OCI_MANIFEST})
    assert r.status_code == 200, f"the list's image was not pushed with it: {describe(r)}"

    # pull back into empty storage as alice
    podman("rmi", "--all", "--force")
    podman("pull", "--cert-dir", str(certs), f"{server.host}/alice/app:v1")
    assert f"{server.host}/alice/app:v1" in podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    podman("logout", server.host)

    # Refusals say why.
    def push(ref: str, *options: str) -> subprocess.CompletedProcess:
        return podman("push", "--cert-dir", str(certs), *options, f"{server.host}/alice/app:v1",
                      f"docker://{server.host}/{ref}", check=False)

    assert_refused(push("alice/app:bob", "--creds", creds(BOB)), "podman: bob pushing into alice/app", BOB_PULLS_ALICE)
    assert_refused(push("oss/lib:bob", "--creds", creds(BOB)), "podman: bob pushing into oss/lib", BOB_PUSHES_OSS)
    assert_refused(push("plain:v1", "--creds", creds(ALICE)), "podman: alice pushing into plain", ALICE_PUSHES_GLOBAL)
    assert_refused(push("oss/lib:anonymous"), "podman: anonymous push into oss/lib", ANONYMOUS_PUSHES_OSS)
    p = podman("pull", "--cert-dir", str(certs), "--creds", creds(BOB), f"{server.host}/alice/app:v1", check=False)
    assert_refused(p, "podman: bob pulling alice/app", BOB_PULLS_ALICE)


# --------------------------------------------------------------------------- JSON bodies


def test_json_bodies_do_not_escape_slashes(server, tmp_path):
    """Repository names keep their `/` in every JSON body (Foundation's encoder writes `\\/` unless told not to)."""
    alice = V2Client(server, "alice/app", auth=ALICE)
    config = b'{"architecture":"amd64","os":"linux"}'
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": alice.push_blob(config), "size": len(config)},
                           "layers": []}).encode()
    alice.push_manifest("v1", manifest)
    bodies = {}
    bodies["tags"] = alice.get("/v2/<name>/tags/list")
    bodies["catalog"] = V2Client(server, auth=ADMIN).get("/v2/_catalog")
    bodies["denied"] = V2Client(server, auth=BOB).get("/v2/alice/app/tags/list")
    bodies["unauthorized"] = requests.get(server.url("/v2/alice/app/tags/list"), verify=server.verify, timeout=30)
    bodies["token"] = requests.post(server.url("/v2/token"), verify=server.verify, timeout=30, data={
        "grant_type": "password", "client_id": "e2e", "username": "alice", "password": ALICE[1],
        "scope": "repository:alice/app:pull"})
    for what, r in bodies.items():
        assert r.status_code in (200, 401, 403), f"{what}: {describe(r)}"
        assert "\\/" not in r.text, f"{what} escapes slashes: {r.text[:400]}"
    assert '"alice/app"' in bodies["tags"].text and '"alice/app"' in bodies["catalog"].text
    assert "bob may not pull alice/app" in bodies["denied"].text, bodies["denied"].text
    assert "repository:alice/app:pull" in bodies["token"].text, bodies["token"].text
    # the refusal's reason is its message (clients print code: message), and still its detail
    error = bodies["denied"].json()["errors"][0]
    assert error["code"] == "DENIED" and error["message"].startswith("bob may not pull alice/app"), error
    assert error["detail"] == error["message"], error
