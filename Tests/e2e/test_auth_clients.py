"""Real clients through Wharf's token flow: skopeo (credentials, application
tokens, `skopeo login`, anonymous pulls from a public namespace), oras-py
(username/password with its token and basic backends) and a raw `requests`
walk of the challenge -> /v2/token -> Bearer dance, including docker login's
refresh tokens. TLS on, verified against the generated certificate; token auth
on (Wharf's default)."""

from __future__ import annotations

import base64
import json
import os
import re
import time

import oras.client
import pytest

from ocihelpers import (MT_OCI_MANIFEST, V2Client, describe, error_codes, parse_challenge,
                        read_layout_ref, write_oci_layout)
from test_skopeo import assert_same_layout

ADMIN = ("root", "root password")
ALICE = ("alice", "alice password")
BOB = ("bob", "bob password")
# What skopeo prints for a 401 (no or wrong credentials) and for a 403 (credentials without the right).
UNAUTHORIZED = re.compile(r"unauthorized|authentication required|401", re.IGNORECASE)
DENIED = re.compile(r"denied|403|forbidden", re.IGNORECASE)


@pytest.fixture
def server(wharf_factory):
    """Wharf with token auth; an admin first, so alice and bob stay plain users (the first login of a user
    while no admin exists would promote them)."""
    w = wharf_factory(tls=True, auth=True)
    w.create_user(*ADMIN, "--admin")
    w.create_user(*ALICE)
    w.create_user(*BOB)
    return w


def creds(account: tuple[str, str]) -> str:
    return f"{account[0]}:{account[1]}"


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def manifest_digest(server, name: str, ref: str, account=ALICE) -> str:
    """The digest the registry serves for NAME:REF, read as `account` through the token flow."""
    c = V2Client(server, name, auth=account)
    r = c.get(f"/v2/<name>/manifests/{ref}", headers={"Accept": MT_OCI_MANIFEST})
    if r.status_code != 200:
        pytest.fail(f"{account[0]} cannot read {name}:{ref}: {describe(r)}")
    return r.headers["Docker-Content-Digest"]


def assert_refused(p, what: str, because: re.Pattern = UNAUTHORIZED) -> None:
    """A skopeo run the registry must have refused: non-zero exit, and the message says why (`because`)."""
    if p.returncode == 0:
        pytest.fail(f"{what}: skopeo succeeded but must be refused\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    if not because.search(p.stderr):
        pytest.fail(f"{what}: skopeo failed, but its message does not match /{because.pattern}/:\n{p.stderr}")


# --------------------------------------------------------------------------- skopeo


def test_skopeo_push_and_pull_with_credentials(server, skopeo, tmp_path):
    certs = server.cert_dir(tmp_path / "certs")
    src = write_oci_layout(tmp_path / "src", "v1", n_layers=2)
    dest = f"docker://{server.host}/alice/app:v1"
    copy = ("copy", "--preserve-digests", "--retry-times", "0")

    # Without credentials the push is refused, and nothing is stored.
    p = skopeo(*copy, "--dest-cert-dir", str(certs), f"oci:{src.path}:v1", dest, check=False)
    assert_refused(p, "anonymous push to alice/app")
    r = V2Client(server, "alice/app", auth=ALICE).get("/v2/<name>/tags/list")
    assert r.status_code == 404 and error_codes(r) == ["NAME_UNKNOWN"], describe(r)

    # A wrong password is refused too.
    p = skopeo(*copy, "--dest-cert-dir", str(certs), "--dest-creds", "alice:wrong password",
               f"oci:{src.path}:v1", dest, check=False)
    assert_refused(p, "push with a wrong password")

    # alice pushes into her personal namespace and copies it back.
    skopeo(*copy, "--dest-cert-dir", str(certs), "--dest-creds", creds(ALICE), f"oci:{src.path}:v1", dest)
    assert manifest_digest(server, "alice/app", "v1") == src.top_digest
    out = tmp_path / "out"
    skopeo(*copy, "--src-cert-dir", str(certs), "--src-creds", creds(ALICE), dest, f"oci:{out}:v1")
    assert read_layout_ref(out, "v1")["digest"] == src.top_digest
    assert_same_layout(src, out)

    info = json.loads(skopeo("inspect", "--cert-dir", str(certs), "--creds", creds(ALICE), dest).stdout)
    assert info["Digest"] == src.top_digest, info
    assert info["RepoTags"] == ["v1"], info
    tags = json.loads(skopeo("list-tags", "--cert-dir", str(certs), "--creds", creds(ALICE),
                             f"docker://{server.host}/alice/app").stdout)
    assert tags["Tags"] == ["v1"], tags

    # Her namespace is private: neither anonymous callers nor bob may pull it, nor may bob push into it.
    p = skopeo("inspect", "--cert-dir", str(certs), "--no-creds", dest, check=False)
    assert_refused(p, "anonymous pull of private alice/app")
    p = skopeo(*copy, "--src-cert-dir", str(certs), dest, f"oci:{tmp_path / 'anon'}:v1", check=False)
    assert_refused(p, "anonymous copy from private alice/app")
    p = skopeo("inspect", "--cert-dir", str(certs), "--creds", creds(BOB), dest, check=False)
    assert_refused(p, "bob pulling alice/app", DENIED)
    p = skopeo(*copy, "--dest-cert-dir", str(certs), "--dest-creds", creds(BOB), f"oci:{src.path}:v1",
               f"docker://{server.host}/alice/app:bob", check=False)
    assert_refused(p, "bob pushing into alice/app", DENIED)

    # Deleting needs the delete action; alice owns her namespace.
    skopeo("delete", "--cert-dir", str(certs), "--creds", creds(ALICE), dest)
    p = skopeo("inspect", "--cert-dir", str(certs), "--creds", creds(ALICE), dest, check=False)
    assert p.returncode != 0 and "manifest unknown" in p.stderr.lower(), p.stderr


def test_skopeo_anonymous_pull_from_a_public_namespace(server, skopeo, tmp_path):
    server.cli("team", "create", "oss", "--owner", "alice")
    server.cli("namespace", "create", "oss", "--team", "oss", "--visibility", "public")
    certs = server.cert_dir(tmp_path / "certs")
    src = write_oci_layout(tmp_path / "src", "v1", n_layers=2)
    public = f"docker://{server.host}/oss/lib:v1"
    copy = ("copy", "--preserve-digests", "--retry-times", "0")

    # Anonymous callers may not push into a public namespace; its team owner may.
    p = skopeo(*copy, "--dest-cert-dir", str(certs), f"oci:{src.path}:v1", public, check=False)
    assert_refused(p, "anonymous push to public oss/lib")
    skopeo(*copy, "--dest-cert-dir", str(certs), "--dest-creds", creds(ALICE), f"oci:{src.path}:v1", public)

    # Anyone pulls it, without credentials.
    out = tmp_path / "out"
    skopeo(*copy, "--src-cert-dir", str(certs), public, f"oci:{out}:v1")
    assert_same_layout(src, out)
    info = json.loads(skopeo("inspect", "--cert-dir", str(certs), "--no-creds", public).stdout)
    assert info["Digest"] == src.top_digest, info
    # bob (no role in oss) pulls it too, but may not push
    info = json.loads(skopeo("inspect", "--cert-dir", str(certs), "--creds", creds(BOB), public).stdout)
    assert info["Digest"] == src.top_digest, info
    p = skopeo(*copy, "--dest-cert-dir", str(certs), "--dest-creds", creds(BOB), f"oci:{src.path}:v1",
               f"docker://{server.host}/oss/lib:bob", check=False)
    assert_refused(p, "bob pushing into oss (no role)", DENIED)

    # The private personal namespace next to it stays closed to anonymous callers.
    skopeo(*copy, "--dest-cert-dir", str(certs), "--dest-creds", creds(ALICE), f"oci:{src.path}:v1",
           f"docker://{server.host}/alice/lib:v1")
    p = skopeo(*copy, "--src-cert-dir", str(certs), f"docker://{server.host}/alice/lib:v1",
               f"oci:{tmp_path / 'private'}:v1", check=False)
    assert_refused(p, "anonymous pull of private alice/lib")

    # Made private, the same repository refuses anonymous pulls (the running server sees the change).
    server.cli("namespace", "set", "oss", "--visibility", "private")
    time.sleep(1.5)
    p = skopeo("inspect", "--cert-dir", str(certs), "--no-creds", public, check=False)
    assert_refused(p, "anonymous pull after oss was made private")
    info = json.loads(skopeo("inspect", "--cert-dir", str(certs), "--creds", creds(ALICE), public).stdout)
    assert info["Digest"] == src.top_digest, info


def test_skopeo_login_and_logout(server, skopeo, tmp_path):
    certs = server.cert_dir(tmp_path / "certs")
    src = write_oci_layout(tmp_path / "src", "v1", n_layers=1)
    dest = f"docker://{server.host}/alice/login:v1"

    p = skopeo("login", "--cert-dir", str(certs), "-u", "alice", "-p", "wrong password", server.host, check=False)
    assert p.returncode != 0, f"skopeo login with a wrong password succeeded: {p.stdout}"
    assert UNAUTHORIZED.search(p.stderr) or "invalid username/password" in p.stderr.lower(), p.stderr

    p = skopeo("login", "--cert-dir", str(certs), "-u", ALICE[0], "-p", ALICE[1], server.host)
    assert "Login Succeeded" in p.stdout, p.stdout + p.stderr
    # The saved credentials are used without --creds, for pushing and pulling.
    skopeo("copy", "--retry-times", "0", "--dest-cert-dir", str(certs), f"oci:{src.path}:v1", dest)
    info = json.loads(skopeo("inspect", "--cert-dir", str(certs), dest).stdout)
    assert info["Digest"] == src.top_digest, info

    skopeo("logout", server.host)
    p = skopeo("inspect", "--cert-dir", str(certs), dest, check=False)
    assert_refused(p, "inspect after logout")


def test_skopeo_with_an_application_token(server, skopeo, tmp_path):
    token = server.cli("token", "create", "alice", "--name", "ci").stdout.strip()
    assert token.startswith("wharf_"), token
    certs = server.cert_dir(tmp_path / "certs")
    src = write_oci_layout(tmp_path / "src", "v1", n_layers=2)
    dest = f"docker://{server.host}/alice/tool:v1"
    as_ci = f"alice:{token}"

    skopeo("copy", "--preserve-digests", "--retry-times", "0", "--dest-cert-dir", str(certs), "--dest-creds", as_ci,
           f"oci:{src.path}:v1", dest)
    out = tmp_path / "out"
    skopeo("copy", "--preserve-digests", "--retry-times", "0", "--src-cert-dir", str(certs), "--src-creds", as_ci,
           dest, f"oci:{out}:v1")
    assert_same_layout(src, out)
    info = json.loads(skopeo("inspect", "--cert-dir", str(certs), "--creds", as_ci, dest).stdout)
    assert info["Digest"] == src.top_digest, info

    # The token is alice's only, and the registry records its use (in batches, every 30 s and at shutdown:
    # a restart writes them).
    p = skopeo("inspect", "--cert-dir", str(certs), "--creds", f"bob:{token}", dest, check=False)
    assert_refused(p, "alice's application token used as bob")
    server.restart()
    listed = server.cli("token", "list", "alice").stdout
    assert re.search(r"^ci created=\S+Z last_used=(?!never)\S+", listed, re.MULTILINE), listed

    # Revoked, it no longer works.
    server.cli("token", "revoke", "alice", "ci")
    time.sleep(1.5)
    p = skopeo("inspect", "--cert-dir", str(certs), "--creds", as_ci, dest, check=False)
    assert_refused(p, "inspect with a revoked application token")
    # ... while her password still does
    info = json.loads(skopeo("inspect", "--cert-dir", str(certs), "--creds", creds(ALICE), dest).stdout)
    assert info["Digest"] == src.top_digest, info


# --------------------------------------------------------------------------- oras


def test_oras_push_and_pull_with_username_and_password(server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # oras-py only pushes files below the working directory
    repo = f"{server.host}/alice/artifact"
    payload = os.urandom(200_000)
    (tmp_path / "data.bin").write_bytes(payload)
    verify = str(server.cert_path)

    # Push with oras-py's basic backend: the credentials go straight to /v2 (Wharf takes Basic there too).
    # (Its token backend cannot push to a token registry: it keeps the first token it got, for the pull scope of
    # the HEAD on the blob, and answers the upload's 401 insufficient_scope with that same token again; it
    # only fetches a new one after a 403. distribution's token auth answers the same 401.)
    pusher = oras.client.OrasClient(hostname=server.host, tls_verify=verify, auth_backend="basic")
    pusher.auth.set_basic_auth(*ALICE)
    r = pusher.push(target=f"{repo}:v1", files=["data.bin"], do_chunked=True, chunk_size=64 * 1024, quiet=True)
    assert r.status_code == 201, describe(r)
    digest = r.headers.get("Docker-Content-Digest")
    assert digest and digest == manifest_digest(server, "alice/artifact", "v1")
    assert pusher.get_tags(repo) == ["v1"]

    # Pull with the token backend (the default) after `login`: the credentials are used at the token realm
    # (and written to a config file of this test, never to ~/.docker).
    config = tmp_path / "docker-config.json"
    client = oras.client.OrasClient(hostname=server.host, tls_verify=verify)
    client.login(username=ALICE[0], password=ALICE[1], hostname=server.host, config_path=str(config))
    assert server.host in json.loads(config.read_text())["auths"], config.read_text()
    files = client.pull(target=f"{repo}:v1", outdir=str(tmp_path / "pulled"))
    assert [os.path.basename(f) for f in files] == ["data.bin"]
    assert open(files[0], "rb").read() == payload
    assert client.auth.token, "oras-py pulled without fetching a token"
    claims = claims_of(client.auth.token)
    assert claims["sub"] == "alice" and claims["access"] == [
        {"type": "repository", "name": "alice/artifact", "actions": ["pull"]}], claims

    # Anonymous (token backend, anonymous token) and bob (Basic) are refused the private artifact.
    anonymous = oras.client.OrasClient(hostname=server.host, tls_verify=verify)
    bob = oras.client.OrasClient(hostname=server.host, tls_verify=verify, auth_backend="basic")
    bob.auth.set_basic_auth(*BOB)
    for who, c, status in (("anonymous", anonymous, 401), ("bob", bob, 403)):
        r = c.do_request(f"https://{server.host}/v2/alice/artifact/manifests/v1", "GET",
                         headers={"Accept": MT_OCI_MANIFEST})
        if r.status_code != status:
            pytest.fail(f"{who} reading alice's private artifact: expected {status}, got {describe(r)}")


# --------------------------------------------------------------------------- raw requests


def test_raw_token_flow(server):
    s = server.session()
    token_url = server.url("/v2/token")

    # The ping: 401 naming the realm and service, no scope.
    r = s.get(server.url("/v2/"), timeout=10)
    assert r.status_code == 401 and error_codes(r) == ["UNAUTHORIZED"], describe(r)
    scheme, params = parse_challenge(r.headers.get("WWW-Authenticate", ""))
    assert scheme == "bearer", r.headers
    assert params.get("realm", "").endswith("/v2/token") and params["realm"] == token_url, params
    assert params.get("service") == "wharf" and "scope" not in params, params

    # A repository names its scope.
    r = s.get(server.url("/v2/alice/app/tags/list"), timeout=10)
    assert r.status_code == 401, describe(r)
    _, params = parse_challenge(r.headers["WWW-Authenticate"])
    assert params == {"realm": token_url, "service": "wharf", "scope": "repository:alice/app:pull"}, params

    t = s.get(params["realm"], params={"service": params["service"], "scope": params["scope"]}, auth=ALICE,
              timeout=10)
    assert t.status_code == 200, t.text
    body = t.json()
    assert body["token"] == body["access_token"] and body["expires_in"] > 0, body
    claims = claims_of(body["token"])
    assert claims["sub"] == "alice" and claims["aud"] == "wharf", claims
    assert claims["access"] == [{"type": "repository", "name": "alice/app", "actions": ["pull"]}], claims
    pull = {"Authorization": f"Bearer {body['token']}"}
    r = s.get(server.url("/v2/alice/app/tags/list"), headers=pull, timeout=10)
    assert r.status_code == 404 and error_codes(r) == ["NAME_UNKNOWN"], describe(r)  # allowed, just empty
    assert s.get(server.url("/v2/"), headers=pull, timeout=10).status_code == 200

    # Pushing with the pull-only token: she would be allowed, so 401 insufficient_scope asking pull,push.
    r = s.post(server.url("/v2/alice/app/blobs/uploads/"), headers=pull, timeout=10)
    assert r.status_code == 401, describe(r)
    _, params = parse_challenge(r.headers["WWW-Authenticate"])
    assert params.get("scope") == "repository:alice/app:pull,push", params
    assert params.get("error") == "insufficient_scope", r.headers
    t = s.get(token_url, params={"service": "wharf", "scope": params["scope"]}, auth=ALICE, timeout=10)
    push = {"Authorization": f"Bearer {t.json()['token']}"}
    c = V2Client(server, "alice/app")
    c.session.headers.update(push)
    config = b'{"architecture":"amd64","os":"linux"}'
    cfg = c.push_blob(config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg,
                                      "size": len(config)}, "layers": []}).encode()
    c.push_manifest("v1", manifest)
    r = s.get(server.url("/v2/alice/app/tags/list"), headers=pull, timeout=10)
    assert r.status_code == 200 and r.json() == {"name": "alice/app", "tags": ["v1"]}, describe(r)

    # bob asks for the same scope: a token without it, and the registry refuses him.
    t = s.get(token_url, params={"service": "wharf", "scope": "repository:alice/app:pull,push"}, auth=BOB, timeout=10)
    assert t.status_code == 200 and claims_of(t.json()["token"])["access"] == [], t.text
    r = s.get(server.url("/v2/alice/app/tags/list"), headers={"Authorization": f"Bearer {t.json()['token']}"},
              timeout=10)
    assert r.status_code == 403 and error_codes(r) == ["DENIED"], describe(r)

    # Wrong password at the realm: 401.
    t = s.get(token_url, params={"service": "wharf"}, auth=("alice", "wrong password"), timeout=10)
    assert t.status_code == 401, t.text


def _refresh_id(server, client_id: str) -> str:
    listed = server.cli("token", "list", "alice").stdout
    m = re.search(rf"^(refresh:\S+) .*client={re.escape(client_id)}", listed, re.MULTILINE)
    if not m:
        pytest.fail(f"no refresh token of client {client_id} in `token list alice`:\n{listed}")
    return m.group(1)


def test_docker_login_refresh_token(server):
    s = server.session()
    token_url = server.url("/v2/token")
    scope = "repository:alice/app:pull"
    probe = server.url("/v2/alice/app/tags/list")

    # docker login: GET with Basic credentials and offline_token=true -> a refresh token.
    r = s.get(token_url, params={"service": "wharf", "account": "alice", "client_id": "docker",
                                 "offline_token": "true"}, auth=ALICE, timeout=10)
    assert r.status_code == 200, r.text
    refresh = r.json().get("refresh_token")
    assert refresh, f"no refresh_token for offline_token=true: {r.json()}"
    assert refresh != r.json()["token"], "the refresh token must not be the access token"
    # Without offline_token there is none.
    r = s.get(token_url, params={"service": "wharf"}, auth=ALICE, timeout=10)
    assert r.status_code == 200 and "refresh_token" not in r.json(), r.json()

    # Later pulls: POST grant_type=refresh_token (no password) -> a working access token.
    r = s.post(token_url, data={"grant_type": "refresh_token", "client_id": "docker", "refresh_token": refresh,
                                "service": "wharf", "scope": scope}, timeout=10)
    assert r.status_code == 200, r.text
    access = r.json()["access_token"]
    claims = claims_of(access)
    assert claims["sub"] == "alice" and claims["access"] == [
        {"type": "repository", "name": "alice/app", "actions": ["pull"]}], claims
    bearer = {"Authorization": f"Bearer {access}"}
    r = s.get(probe, headers=bearer, timeout=10)
    assert r.status_code == 404 and error_codes(r) == ["NAME_UNKNOWN"], describe(r)  # authorized; nothing pushed

    # A wrong refresh token gets nothing.
    r = s.post(token_url, data={"grant_type": "refresh_token", "client_id": "docker", "refresh_token": refresh + "x",
                                "service": "wharf", "scope": scope}, timeout=10)
    assert r.status_code in (400, 401) and r.json().get("error") == "invalid_grant", r.text

    # The OAuth2 password grant with access_type=offline gives one too (another client).
    r = s.post(token_url, data={"grant_type": "password", "client_id": "e2e-client", "username": ALICE[0],
                                "password": ALICE[1], "service": "wharf", "scope": scope, "access_type": "offline"},
               timeout=10)
    assert r.status_code == 200 and r.json().get("refresh_token"), r.text
    other_refresh = r.json()["refresh_token"]

    # Revoking docker's refresh token: it stops granting, and its access tokens stop working.
    server.cli("token", "revoke", "alice", _refresh_id(server, "docker"))
    time.sleep(1.5)
    r = s.post(token_url, data={"grant_type": "refresh_token", "client_id": "docker", "refresh_token": refresh,
                                "service": "wharf", "scope": scope}, timeout=10)
    assert r.status_code in (400, 401) and r.json().get("error") == "invalid_grant", \
        f"revoked refresh token: {r.status_code} {r.text}"
    r = s.get(probe, headers=bearer, timeout=10)
    assert r.status_code == 401, f"access token from a revoked refresh token still works: {describe(r)}"
    # the other client's refresh token is untouched
    r = s.post(token_url, data={"grant_type": "refresh_token", "client_id": "e2e-client",
                                "refresh_token": other_refresh, "service": "wharf", "scope": scope}, timeout=10)
    assert r.status_code == 200, r.text
    assert s.get(probe, headers={"Authorization": f"Bearer {r.json()['access_token']}"}, timeout=10).status_code == 404
