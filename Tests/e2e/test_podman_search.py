"""`podman search HOST:PORT/[TERM]` against Wharf with token auth, anonymously and logged in.

podman (containers/image) pings `/v2/`, takes a token without a scope, and asks the token endpoint for
`registry:catalog:*` only when `/v2/_catalog` answers that token 401 with a Bearer challenge carrying
`error="insufficient_scope"` and `scope="registry:catalog:*"`; without them it gives up. The catalogue then lists
what the caller may pull: public repositories for anyone, the caller's own private ones once logged in. A TERM
first tries the v1 search endpoint (no auth; Wharf has none), then filters the catalogue by substring.
"""

from __future__ import annotations

import json

import pytest

from conftest import REFUSAL_ADMIN, REFUSAL_ALICE, REFUSAL_BOB
from ocihelpers import V2Client, describe, write_oci_layout
from test_client_messages import podman  # noqa: F401 (the hermetic podman fixture)

ALICE, BOB = REFUSAL_ALICE, REFUSAL_BOB
# Every name holds "lib", so a search for "lib" matches them all and only access decides what is listed.
PUBLIC = "oss/lib"
ALICES = "alice/privlib"
BOBS = "bob/boblib"


@pytest.fixture
def server(refusal_server, skopeo, tmp_path):
    """refusal_server (public namespace oss of alice's team; alice's and bob's personal namespaces private) with
    one image in each: oss/lib and alice/privlib pushed by alice, bob/boblib by bob."""
    certs = refusal_server.cert_dir(tmp_path / "certs")
    src = write_oci_layout(tmp_path / "src", "v1", n_layers=1, layer_size=4096)
    for name, account in ((PUBLIC, ALICE), (ALICES, ALICE), (BOBS, BOB)):
        skopeo("copy", "--retry-times", "0", "--dest-cert-dir", str(certs), "--dest-creds", f"{account[0]}:{account[1]}",
               f"oci:{src.path}:v1", f"docker://{refusal_server.host}/{name}:v1")
    r = V2Client(refusal_server, auth=REFUSAL_ADMIN).get("/v2/_catalog")
    assert r.status_code == 200 and r.json()["repositories"] == sorted([PUBLIC, ALICES, BOBS]), describe(r)
    return refusal_server


def search(podman, server, term: str = "", *options: str) -> list[str]:
    """The names `podman search HOST:PORT/TERM` lists (podman's JSON output), failing the test when it fails."""
    p = podman("search", "--tls-verify=false", "--format", "json", *options, f"{server.host}/{term}", check=False)
    if p.returncode != 0:
        pytest.fail(f"podman search {server.host}/{term} {' '.join(options)} exited {p.returncode}\n"
                    f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}", pytrace=False)
    return sorted(entry["Name"] for entry in json.loads(p.stdout or "[]"))


def test_podman_search_lists_public_repositories_anonymously_and_private_ones_to_their_owner(server, podman,
                                                                                           tmp_path):
    def listed(*names: str) -> list[str]:
        return sorted(f"{server.host}/{name}" for name in names)

    # Anonymous (the fixture's auth file is empty): the public repository, nothing private.
    assert search(podman, server) == listed(PUBLIC)
    assert search(podman, server, "lib") == listed(PUBLIC)
    assert search(podman, server, "privlib") == []

    # Logged in as alice (her own auth file): her private repository too, not bob's.
    authfile = tmp_path / "alice-auth.json"
    p = podman("login", "--tls-verify=false", "--authfile", str(authfile), "-u", ALICE[0], "-p", ALICE[1],
               server.host)
    assert "Login Succeeded" in p.stdout, p.stdout + p.stderr
    assert search(podman, server, "", "--authfile", str(authfile)) == listed(PUBLIC, ALICES)
    assert search(podman, server, "lib", "--authfile", str(authfile)) == listed(PUBLIC, ALICES)
    assert search(podman, server, "privlib", "--authfile", str(authfile)) == listed(ALICES)

    # The login went to that file only; without it podman is anonymous again.
    assert search(podman, server) == listed(PUBLIC)


def test_podman_search_is_told_to_log_in_when_anonymous_callers_may_not_list(wharf_factory, podman):
    """With anonymous pulls off an anonymous token gets no catalogue: podman fails and prints why."""
    w = wharf_factory(tls=True, auth=True, env={"WHARF_AUTH_ANONYMOUS_PULL": "off"})
    p = podman("search", "--tls-verify=false", f"{w.host}/", check=False)
    assert p.returncode != 0, f"podman search succeeded without a catalogue:\n{p.stdout}"
    assert "authentication required to list the catalogue" in p.stderr, p.stderr
