"""Token auth must fail closed, black-box against a real `wharf serve` with auth on.

Every attack here is answered 401/403 (or 400 with a reason at /v2/token), never 2xx, and each
comes with a positive control (the same request with a legitimate credential succeeds) so that
the tests can fail.

JWTs are forged with the Python standard library and the `openssl` CLI: `openssl dgst -sha256
-sign DATA/certs/server.key` signs with the server's real key, which lets us build tokens with
chosen claims and show the checks beyond the signature (exp, nbf, aud, iss, account status,
revoked credentials).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

import pytest
import requests

from conftest import Wharf
from ocihelpers import MT_OCI_CONFIG, MT_OCI_LAYER_GZIP, MT_OCI_MANIFEST, describe, error_codes, parse_challenge, \
    raw_request, relative_location, sha256

ROOT = ("root", "root-pass-1234")
ALICE = ("alice", "alice-pass-1234")
BOB = ("bob", "bob-pass-12345")
SERVICE_PASSWORD = "svc-secret-pass-42"

REFUSED = (401, 403)


# --------------------------------------------------------------------------- JWT helpers


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def jwt_parts(token: str) -> tuple[dict, dict, str]:
    h, p, s = token.split(".")
    return json.loads(unb64url(h)), json.loads(unb64url(p)), s


def encode_segment(obj: dict) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def rs256_sign(key: Path, signing_input: bytes) -> str:
    p = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key)], input=signing_input,
                       capture_output=True, check=True, timeout=30)
    return b64url(p.stdout)


def forge_rs256(key: Path, header: dict, claims: dict) -> str:
    signing_input = f"{encode_segment(header)}.{encode_segment(claims)}"
    return f"{signing_input}.{rs256_sign(key, signing_input.encode())}"


def public_key_pem(w: Wharf) -> bytes:
    return subprocess.run(["openssl", "x509", "-in", str(w.cert_path), "-pubkey", "-noout"],
                          capture_output=True, check=True, timeout=30).stdout


# --------------------------------------------------------------------------- server helpers


def start(wharf_factory, env: Optional[dict] = None, admin: bool = True) -> Wharf:
    """Wharf with token auth; `root` is an admin created up front (so nobody is promoted on first
    login), alice and bob are plain users with personal (private) namespaces."""
    w = wharf_factory(tls=True, auth=True, env=env, start=False)
    if admin:
        w.create_user(*ROOT, "--admin")
    w.create_user(*ALICE)
    w.create_user(*BOB)
    w.start()
    return w


def token_response(w: Wharf, creds, *scopes: str, service: str = "wharf", **params) -> requests.Response:
    q = [("service", service)] + [("scope", s) for s in scopes] + list(params.items())
    return requests.get(w.url("/v2/token"), params=q, auth=creds, verify=w.verify, timeout=30)


def get_token(w: Wharf, creds, *scopes: str, service: str = "wharf", **params) -> str:
    r = token_response(w, creds, *scopes, service=service, **params)
    assert r.status_code == 200, describe(r)
    return r.json()["token"]


def access_of(token: str) -> list:
    return jwt_parts(token)[1].get("access") or []


def granted(token: str, type_: str, name: str) -> set[str]:
    out: set[str] = set()
    for a in access_of(token):
        if a.get("type") == type_ and a.get("name") == name:
            out.update(a.get("actions") or [])
    return out


def call(w: Wharf, method: str, path: str, token: Optional[str] = None, *, basic=None, headers=None,
         **kw) -> requests.Response:
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    return requests.request(method, path if path.startswith("http") else w.url(path), headers=h, auth=basic,
                            verify=w.verify, timeout=60, allow_redirects=False, **kw)


def assert_refused(r: requests.Response, codes=REFUSED, what: str = "") -> None:
    assert r.status_code in codes, f"{what}: expected {codes}, got {describe(r)}"


def push_blob(w: Wharf, token: str, repo: str, data: bytes) -> str:
    d = sha256(data)
    r = call(w, "POST", f"/v2/{repo}/blobs/uploads/", token)
    assert r.status_code == 202, describe(r)
    r = call(w, "PUT", relative_location(r), token, params={"digest": d}, data=data,
             headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201, describe(r)
    return d


def push_image(w: Wharf, creds, repo: str, tag: str = "v1") -> str:
    """Push a tiny image to repo:tag as `creds`; returns the manifest digest."""
    tok = get_token(w, creds, f"repository:{repo}:pull,push")
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "repo": repo}).encode()
    layer = os.urandom(512)
    cd, ld = push_blob(w, tok, repo, cfg), push_blob(w, tok, repo, layer)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
        "config": {"mediaType": MT_OCI_CONFIG, "digest": cd, "size": len(cfg)},
        "layers": [{"mediaType": MT_OCI_LAYER_GZIP, "digest": ld, "size": len(layer)}],
    }).encode()
    r = call(w, "PUT", f"/v2/{repo}/manifests/{tag}", tok, data=manifest,
             headers={"Content-Type": MT_OCI_MANIFEST})
    assert r.status_code == 201, describe(r)
    return sha256(manifest)


def pull_manifest(w: Wharf, token: Optional[str], repo: str, tag: str = "v1", **kw) -> requests.Response:
    return call(w, "GET", f"/v2/{repo}/manifests/{tag}", token, headers={"Accept": MT_OCI_MANIFEST}, **kw)


def users(w: Wharf) -> dict[str, dict[str, str]]:
    out = {}
    for line in w.cli("user", "list").stdout.splitlines():
        name, *fields = line.split()
        out[name] = dict(f.split("=", 1) for f in fields)
    return out


def refresh_ids(w: Wharf, user: str) -> list[str]:
    return re.findall(r"^(refresh:\S+)", w.cli("token", "list", user).stdout, re.M)


@pytest.fixture
def registry(wharf_factory) -> Wharf:
    """Auth on; alice/app:v1 and bob/app:v1 and alice/other:v1 pushed by their owners."""
    w = start(wharf_factory)
    push_image(w, ALICE, "alice/app")
    push_image(w, ALICE, "alice/other")
    push_image(w, BOB, "bob/app")
    return w


# --------------------------------------------------------------------------- 1. JWT attacks


def _real(w: Wharf) -> tuple[str, dict, dict]:
    """A real token of alice's for pulling alice/app, with its header and claims."""
    tok = get_token(w, ALICE, "repository:alice/app:pull")
    h, c, _ = jwt_parts(tok)
    assert c["access"] == [{"type": "repository", "name": "alice/app", "actions": ["pull"]}], c
    return tok, h, c


def test_controls_real_and_resigned_tokens_work(registry):
    """Positive controls: the real token and the same claims re-signed by openssl with the server key pull;
    no token at all is refused with a challenge naming the scope."""
    w = registry
    tok, h, c = _real(w)
    assert pull_manifest(w, tok, "alice/app").status_code == 200
    resigned = forge_rs256(w.key_path, h, c)
    r = pull_manifest(w, resigned, "alice/app")
    assert r.status_code == 200, "a token re-signed with the real key must work (else the forgeries prove nothing): " \
                                 + describe(r)
    # a token with freshly chosen times, signed with the real key, also works
    now = int(time.time())
    r = pull_manifest(w, forge_rs256(w.key_path, h, {**c, "iat": now, "nbf": now - 5, "exp": now + 300,
                                                     "jti": "forged-ok"}), "alice/app")
    assert r.status_code == 200, describe(r)
    r = pull_manifest(w, None, "alice/app")
    assert r.status_code == 401, describe(r)
    scheme, params = parse_challenge(r.headers.get("WWW-Authenticate", ""))
    assert scheme == "bearer" and params.get("scope") == "repository:alice/app:pull", r.headers


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_refused(registry, alg):
    w = registry
    tok, h, c = _real(w)
    assert pull_manifest(w, tok, "alice/app").status_code == 200
    forged_h = {**h, "alg": alg}
    for sig in ("", tok.split(".")[2]):
        forged = f"{encode_segment(forged_h)}.{encode_segment(c)}.{sig}"
        assert_refused(pull_manifest(w, forged, "alice/app"), (401,), f"alg={alg} sig={'kept' if sig else 'empty'}")
    # alg none without the trailing dot
    assert_refused(pull_manifest(w, f"{encode_segment(forged_h)}.{encode_segment(c)}", "alice/app"), (401,),
                   "two-segment alg none")


def test_signature_stripped_or_garbage_refused(registry):
    w = registry
    tok, h, c = _real(w)
    head, payload, sig = tok.split(".")
    for bad in (f"{head}.{payload}.", f"{head}.{payload}.{sig[:-4]}AAAA", f"{head}.{payload}.{b64url(b'x' * 256)}",
                f"{head}.{payload}", "not-a-jwt", f"{head}.{payload}.{sig}.{sig}"):
        assert_refused(pull_manifest(w, bad, "alice/app"), (401,), f"token {bad[-20:]!r}")


def test_hs256_with_public_key_as_secret_refused(registry):
    """The classic RS256->HS256 confusion: HMAC keyed with the server's public key in every plausible form."""
    w = registry
    tok, h, c = _real(w)
    pem = public_key_pem(w)
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem, capture_output=True,
                         check=True).stdout
    pkcs1 = subprocess.run(["openssl", "rsa", "-pubin", "-RSAPublicKey_out"], input=pem, capture_output=True,
                           check=True).stdout
    secrets = [pem, pem.strip(), w.cert_path.read_bytes(), der, pkcs1]
    for alg, digest in (("HS256", hashlib.sha256), ("HS384", hashlib.sha384), ("HS512", hashlib.sha512)):
        for i, secret in enumerate(secrets):
            signing_input = f"{encode_segment({**h, 'alg': alg})}.{encode_segment(c)}"
            sig = b64url(hmac.new(secret, signing_input.encode(), digest).digest())
            r = pull_manifest(w, f"{signing_input}.{sig}", "alice/app")
            assert_refused(r, (401,), f"{alg} keyed with public key form #{i}")


def test_token_signed_by_another_key_refused(registry, tmp_path):
    """Same kid, RS256, but signed by an attacker's key (also embedded as `jwk`, pointed at by `jku`/`x5c`)."""
    w = registry
    tok, h, c = _real(w)
    key = tmp_path / "attacker.key"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], capture_output=True, check=True)
    assert_refused(pull_manifest(w, forge_rs256(key, h, c), "alice/app"), (401,), "attacker key, real kid")
    cert = tmp_path / "attacker.crt"
    subprocess.run(["openssl", "req", "-x509", "-key", str(key), "-subj", "/CN=attacker", "-days", "1",
                    "-out", str(cert), "-outform", "DER"], capture_output=True, check=True)
    mod = subprocess.run(["openssl", "rsa", "-in", str(key), "-noout", "-modulus"], capture_output=True, text=True,
                         check=True).stdout.strip().split("=", 1)[1]
    jwk = {"kty": "RSA", "e": "AQAB", "n": b64url(bytes.fromhex(mod))}
    hdr = {**h, "jwk": jwk, "jku": "https://127.0.0.1:1/jwks.json", "x5c": [base64.b64encode(cert.read_bytes()).decode()]}
    assert_refused(pull_manifest(w, forge_rs256(key, hdr, c), "alice/app"), (401,), "attacker key in jwk/x5c header")


def _resigned_with(w: Wharf, **changes) -> tuple[str, str]:
    tok, h, c = _real(w)
    claims = {**c, **changes}
    claims = {k: v for k, v in claims.items() if v is not None}
    return tok, forge_rs256(w.key_path, h, claims)


def test_expired_token_refused(registry):
    w = registry
    now = int(time.time())
    tok, forged = _resigned_with(w, iat=now - 1000, nbf=now - 1005, exp=now - 60)
    assert pull_manifest(w, tok, "alice/app").status_code == 200
    assert_refused(pull_manifest(w, forged, "alice/app"), (401,), "exp 60 s in the past")
    # just beyond the 5 s leeway
    _, forged = _resigned_with(w, iat=now - 100, nbf=now - 105, exp=now - 8)
    assert_refused(pull_manifest(w, forged, "alice/app"), (401,), "exp 8 s in the past (leeway is 5 s)")


def test_not_yet_valid_token_refused(registry):
    w = registry
    now = int(time.time())
    tok, forged = _resigned_with(w, iat=now, nbf=now + 120, exp=now + 900)
    assert pull_manifest(w, tok, "alice/app").status_code == 200
    assert_refused(pull_manifest(w, forged, "alice/app"), (401,), "nbf 120 s in the future")
    # issued in the future too
    _, forged = _resigned_with(w, iat=now + 600, nbf=now + 595, exp=now + 1500)
    assert_refused(pull_manifest(w, forged, "alice/app"), (401,), "iat/nbf 10 min in the future")


@pytest.mark.parametrize("aud", ["registry.example.com", "Wharf", "wharf ", "", ["other"]])
def test_wrong_audience_refused(registry, aud):
    w = registry
    tok, forged = _resigned_with(w, aud=aud)
    assert pull_manifest(w, tok, "alice/app").status_code == 200
    assert_refused(pull_manifest(w, forged, "alice/app"), (401,), f"aud={aud!r}")


def test_token_for_another_service_refused(registry):
    """A token the server itself issued, but for another `service` (aud), is not accepted by the registry."""
    w = registry
    tok = get_token(w, ALICE, "repository:alice/app:pull", service="registry.example.com")
    assert jwt_parts(tok)[1]["aud"] == "registry.example.com"
    assert_refused(pull_manifest(w, tok, "alice/app"), (401,), "token with aud=registry.example.com")


@pytest.mark.parametrize("iss", ["evil", "Wharf", "", "https://127.0.0.1"])
def test_wrong_issuer_refused(registry, iss):
    w = registry
    tok, forged = _resigned_with(w, iss=iss)
    assert pull_manifest(w, tok, "alice/app").status_code == 200
    assert_refused(pull_manifest(w, forged, "alice/app"), (401,), f"iss={iss!r}")


@pytest.mark.parametrize("claim", ["exp", "iss", "aud", "sub"])
def test_token_missing_required_claim_refused(registry, claim):
    """Signed with the real key but lacking exp/iss/aud/sub: checks must not be skipped when a claim is absent."""
    w = registry
    tok, forged = _resigned_with(w, **{claim: None})
    assert claim not in jwt_parts(forged)[1]
    assert_refused(pull_manifest(w, forged, "alice/app"), (401,), f"no {claim}")


def test_tampered_payload_refused(registry):
    """Access widened in the payload, original signature kept."""
    w = registry
    tok = get_token(w, BOB, "repository:alice/app:pull")
    assert access_of(tok) == [] or granted(tok, "repository", "alice/app") == set(), access_of(tok)
    assert_refused(pull_manifest(w, tok, "alice/app"), (403,), "bob's honest token on alice/app")
    h, c, sig = jwt_parts(tok)
    for access in ([{"type": "repository", "name": "alice/app", "actions": ["pull", "push", "delete"]}],
                   [{"type": "repository", "name": "alice/app", "actions": ["*"]}]):
        forged = f"{encode_segment(h)}.{encode_segment({**c, 'access': access})}.{sig}"
        assert_refused(pull_manifest(w, forged, "alice/app"), (401,), "widened access with the old signature")
        assert_refused(call(w, "POST", "/v2/alice/app/blobs/uploads/", forged), (401,), "widened access, push")
    # sub changed to an admin, access as issued
    own = get_token(w, BOB, "repository:bob/app:pull")
    h, c, sig = jwt_parts(own)
    assert pull_manifest(w, own, "bob/app").status_code == 200
    forged = f"{encode_segment(h)}.{encode_segment({**c, 'sub': 'root'})}.{sig}"
    assert_refused(pull_manifest(w, forged, "bob/app"), (401,), "sub changed, old signature")
    # the payload re-encoded with other whitespace (same claims) no longer matches its signature either
    raw = json.dumps(c, indent=1).encode()
    forged = f"{encode_segment(h)}.{b64url(raw)}.{sig}"
    assert_refused(pull_manifest(w, forged, "bob/app"), (401,), "payload re-encoded")


def test_token_for_repository_a_refused_on_b(registry):
    w = registry
    tok = get_token(w, ALICE, "repository:alice/app:pull,push")
    assert pull_manifest(w, tok, "alice/app").status_code == 200
    # alice may pull alice/other by her rules, but this token does not say so: 401 insufficient_scope
    r = pull_manifest(w, tok, "alice/other")
    assert_refused(r, (401,), "alice/app token on alice/other")
    assert 'error="insufficient_scope"' in r.headers.get("WWW-Authenticate", ""), r.headers
    assert_refused(call(w, "POST", "/v2/alice/other/blobs/uploads/", tok), (401,), "push to alice/other")
    # bob/app is not alice's at all: 403 DENIED with a reason
    r = pull_manifest(w, tok, "bob/app")
    assert_refused(r, (403,), "alice/app token on bob/app")
    assert "DENIED" in error_codes(r), describe(r)
    assert_refused(call(w, "POST", "/v2/bob/app/blobs/uploads/", tok), (403,), "push to bob/app")
    # nor do prefixes / look-alike names match
    for other in ("alice/app/sub", "alice/ap", "alice/appx"):
        assert_refused(call(w, "GET", f"/v2/{other}/tags/list", tok), REFUSED, other)
    # a pull-only token does not allow writes to the repository it names
    pull_only = get_token(w, ALICE, "repository:alice/app:pull")
    r = call(w, "POST", "/v2/alice/app/blobs/uploads/", pull_only)
    assert_refused(r, (401,), "pull-only token, push")
    assert 'error="insufficient_scope"' in r.headers.get("WWW-Authenticate", ""), r.headers
    r = call(w, "DELETE", "/v2/alice/app/manifests/v1", tok)
    assert_refused(r, REFUSED, "pull,push token, delete")


def test_catalog_needs_catalog_scope(registry):
    w = registry
    tok = get_token(w, ALICE, "repository:alice/app:pull")
    assert_refused(call(w, "GET", "/v2/_catalog", tok), (401,), "repository token on _catalog")
    cat = get_token(w, ALICE, "registry:catalog:*")
    r = call(w, "GET", "/v2/_catalog", cat)
    assert r.status_code == 200, describe(r)
    repos = r.json()["repositories"]
    assert "alice/app" in repos and "bob/app" not in repos, repos


def test_disabled_user_token_refused(registry):
    w = registry
    tok = get_token(w, ALICE, "repository:alice/app:pull")
    assert pull_manifest(w, tok, "alice/app").status_code == 200
    secret = w.cli("token", "create", "alice", "--name", "ci").stdout.strip()
    assert token_response(w, ("alice", secret)).status_code == 200
    r = _post_token(w, grant_type="password", client_id="e2e", username=ALICE[0], password=ALICE[1],
                    service="wharf", access_type="offline")
    refresh = r.json()["refresh_token"]
    w.cli("user", "disable", "alice")
    time.sleep(1.5)
    assert_refused(pull_manifest(w, tok, "alice/app"), REFUSED, "token of a disabled user")
    assert_refused(token_response(w, ALICE, "repository:alice/app:pull"), (401,), "disabled user at /v2/token")
    assert_refused(call(w, "GET", "/v2/", basic=ALICE), (401,), "disabled user, direct Basic")
    # nor do its application token or refresh tokens
    assert_refused(token_response(w, ("alice", secret)), (401,), "disabled user's app token at /v2/token")
    r = _post_token(w, grant_type="refresh_token", client_id="e2e", refresh_token=refresh, service="wharf")
    assert r.status_code in (400, 401) and "access_token" not in r.text, "disabled user's refresh: " + describe(r)
    # re-enabled: works again (the refusal was about the status)
    w.cli("user", "disable", "alice", "--enable")
    time.sleep(1.5)
    r = pull_manifest(w, tok, "alice/app")
    assert r.status_code == 200, describe(r)


def test_deleted_user_token_refused(wharf_factory):
    """The token names a repository that survives the user's deletion (a protected namespace), so only the
    account check can refuse it."""
    w = start(wharf_factory)
    w.cli("team", "create", "acme", "--owner", "root")
    w.cli("namespace", "create", "acme", "--team", "acme", "--visibility", "protected")
    push_image(w, ROOT, "acme/tool")
    tok = get_token(w, ALICE, "repository:acme/tool:pull")
    assert granted(tok, "repository", "acme/tool") == {"pull"}, access_of(tok)
    assert pull_manifest(w, tok, "acme/tool").status_code == 200
    w.cli("user", "delete", "alice")
    time.sleep(1.5)
    assert_refused(pull_manifest(w, tok, "acme/tool"), REFUSED, "token of a deleted user")
    assert_refused(token_response(w, ALICE, "repository:acme/tool:pull"), (401,), "deleted user at /v2/token")
    # control: other accounts' tokens for the same repository keep working
    bob = get_token(w, BOB, "repository:acme/tool:pull")
    assert pull_manifest(w, bob, "acme/tool").status_code == 200


def _post_token(w: Wharf, **form) -> requests.Response:
    return requests.post(w.url("/v2/token"), data=form, verify=w.verify, timeout=30)


def test_access_token_from_revoked_refresh_token_refused(registry):
    w = registry
    r = _post_token(w, grant_type="password", client_id="e2e", username=ALICE[0], password=ALICE[1],
                    scope="repository:alice/app:pull", service="wharf", access_type="offline")
    assert r.status_code == 200, describe(r)
    refresh = r.json()["refresh_token"]
    r = _post_token(w, grant_type="refresh_token", client_id="e2e", refresh_token=refresh,
                    scope="repository:alice/app:pull", service="wharf")
    assert r.status_code == 200, describe(r)
    tok = r.json()["access_token"]
    cred = jwt_parts(tok)[1].get("wharf_cred", "")
    assert cred.startswith("refresh:"), jwt_parts(tok)[1]
    assert pull_manifest(w, tok, "alice/app").status_code == 200
    ids = refresh_ids(w, "alice")
    assert cred in ids, (cred, ids)
    w.cli("token", "revoke", "alice", cred)
    time.sleep(1.5)
    assert_refused(pull_manifest(w, tok, "alice/app"), (401,), "access token of a revoked refresh token")
    r = _post_token(w, grant_type="refresh_token", client_id="e2e", refresh_token=refresh,
                    scope="repository:alice/app:pull", service="wharf")
    assert r.status_code in (400, 401) and "access_token" not in r.text, describe(r)


def test_refresh_tokens_revoked_by_passwd(registry):
    w = registry
    r = _post_token(w, grant_type="password", client_id="e2e", username=ALICE[0], password=ALICE[1],
                    scope="repository:alice/app:pull", service="wharf", access_type="offline")
    refresh = r.json()["refresh_token"]
    r = _post_token(w, grant_type="refresh_token", client_id="e2e", refresh_token=refresh, service="wharf",
                    scope="repository:alice/app:pull")
    tok = r.json()["access_token"]
    assert pull_manifest(w, tok, "alice/app").status_code == 200
    w.cli("user", "passwd", "alice", "--password", "new-alice-pass-99")
    time.sleep(1.5)
    assert_refused(pull_manifest(w, tok, "alice/app"), (401,), "access token of a refresh token revoked by passwd")
    r = _post_token(w, grant_type="refresh_token", client_id="e2e", refresh_token=refresh, service="wharf")
    assert "access_token" not in r.text and r.status_code in (400, 401), describe(r)


def test_access_token_from_revoked_app_token_refused(registry):
    w = registry
    secret = w.cli("token", "create", "alice", "--name", "ci").stdout.strip()
    tok = get_token(w, ("alice", secret), "repository:alice/app:pull")
    assert jwt_parts(tok)[1].get("wharf_cred", "").startswith("app:"), jwt_parts(tok)[1]
    assert pull_manifest(w, tok, "alice/app").status_code == 200
    w.cli("token", "revoke", "alice", "ci")
    time.sleep(1.5)
    assert_refused(pull_manifest(w, tok, "alice/app"), (401,), "access token of a revoked app token")
    assert_refused(token_response(w, ("alice", secret), "repository:alice/app:pull"), (401,),
                   "revoked app token at /v2/token")
    # direct Basic with the revoked app token (never used directly before, so nothing remembered)
    assert_refused(pull_manifest(w, None, "alice/app", basic=("alice", secret)), (401,),
                   "revoked app token, direct Basic")


def test_direct_basic_memory_does_not_outlive_revocation(wharf_factory):
    """Direct Basic on /v2 is remembered 10 s per header; after that a revoked app token, a changed password and
    a locked account's password must be refused even though the same header worked just before."""
    w = start(wharf_factory, env={"WHARF_AUTH_LOCKOUT_ATTEMPTS": "3"})
    push_image(w, ALICE, "alice/app")
    push_image(w, BOB, "bob/app")
    w.create_user("carol", "carol-pass-123")
    secret = w.cli("token", "create", "alice", "--name", "direct").stdout.strip()
    app, old_pw, locked = ("alice", secret), BOB, ("carol", "carol-pass-123")
    assert pull_manifest(w, None, "alice/app", basic=app).status_code == 200
    assert pull_manifest(w, None, "bob/app", basic=old_pw).status_code == 200
    assert call(w, "GET", "/v2/", basic=locked).status_code == 200
    w.cli("token", "revoke", "alice", "direct")
    w.cli("user", "passwd", "bob", "--password", "bob-new-pass-987")
    for i in range(3):
        assert token_response(w, ("carol", f"wrong-{i}")).status_code == 401
    assert users(w)["carol"]["locked"] == "yes"
    time.sleep(11.5)
    assert_refused(pull_manifest(w, None, "alice/app", basic=app), (401,), "revoked app token, direct Basic, 11.5 s")
    assert_refused(pull_manifest(w, None, "bob/app", basic=old_pw), (401,), "old password, direct Basic, 11.5 s")
    assert_refused(call(w, "GET", "/v2/", basic=locked), (401,), "locked account, direct Basic, 11.5 s")
    assert pull_manifest(w, None, "bob/app", basic=("bob", "bob-new-pass-987")).status_code == 200


def test_expired_app_token_refused(registry):
    w = registry
    secret = w.cli("token", "create", "alice", "--name", "short", "--expires", "3s").stdout.strip()
    created = time.monotonic()
    r = token_response(w, ("alice", secret), "repository:alice/app:pull")
    assert r.status_code == 200, "control: the app token works before it expires: " + describe(r)
    tok = r.json()["token"]
    assert pull_manifest(w, tok, "alice/app").status_code == 200
    listed = w.cli("token", "list", "alice").stdout
    assert re.search(r"^short .*expires=\S+", listed, re.M), listed
    time.sleep(max(0.0, 4.5 - (time.monotonic() - created)))
    assert_refused(token_response(w, ("alice", secret), "repository:alice/app:pull"), (401,),
                   "expired app token at /v2/token")
    assert_refused(pull_manifest(w, None, "alice/app", basic=("alice", secret)), (401,),
                   "expired app token, direct Basic")
    assert_refused(pull_manifest(w, tok, "alice/app"), (401,),
                   "access token issued from an app token that has since expired")


# --------------------------------------------------------------------------- 2. scope tricks at /v2/token


def _scope_error(r: requests.Response) -> str:
    assert r.status_code == 400, describe(r)
    errs = r.json()["errors"]
    assert errs and errs[0]["code"] == "SCOPE_INVALID" and errs[0].get("message"), r.text
    assert "token" not in r.json()
    return errs[0]["message"]


def test_scope_case_variants_invalid(registry):
    w = registry
    for scope in ("repository:Alice/App:pull", "repository:alice/App:pull", "repository:ALICE/app:pull"):
        msg = _scope_error(token_response(w, ALICE, scope))
        assert "invalid repository name" in msg, msg
    assert granted(get_token(w, ALICE, "repository:alice/app:pull"), "repository", "alice/app") == {"pull"}
    r = _post_token(w, grant_type="password", client_id="e2e", username=ALICE[0], password=ALICE[1],
                    scope="repository:Alice/App:pull", service="wharf")
    assert r.status_code == 400 and r.json().get("error") == "invalid_scope", describe(r)
    assert "access_token" not in r.json()


def test_scope_path_traversal_and_encoded_slashes(registry):
    w = registry
    for scope in ("repository:bob/../alice/app:pull", "repository:../alice/app:pull", "repository:alice/./app:pull",
                  "repository:bob/app/..:pull", "repository:bob%2F..%2Falice/app:pull",
                  "repository:alice%252Fapp:pull", "repository:/alice/app:pull", "repository:alice//app:pull",
                  "repository:alice/app/:pull", "repository:alice\\app:pull"):
        # send the scope exactly as written (requests would re-encode the %)
        r = requests.get(w.url("/v2/token?service=wharf&scope=" + scope.replace("\\", "%5C")), auth=BOB,
                         verify=w.verify, timeout=30)
        _scope_error(r)
    # %2F in a query is just "/": bob asking for alice%2Fapp gets what he would get for alice/app: nothing
    r = requests.get(w.url("/v2/token?service=wharf&scope=repository:alice%2Fapp:pull,push"), auth=BOB,
                     verify=w.verify, timeout=30)
    assert r.status_code in (200, 400), describe(r)
    if r.status_code == 200:
        assert not any(a.get("actions") for a in access_of(r.json()["token"])), access_of(r.json()["token"])
    # and the registry path: %2F does not smuggle another repository's name
    tok = get_token(w, BOB, "repository:bob/app:pull")
    for raw in ("/v2/bob%2F..%2Falice/app/manifests/v1", "/v2/bob/../alice/app/manifests/v1",
                "/v2/bob/app/..%2F..%2Falice/app/manifests/v1", "/v2/alice%2Fapp/manifests/v1"):
        status, _, body = raw_request(w, "GET", raw, headers={"Authorization": f"Bearer {tok}",
                                                              "Accept": MT_OCI_MANIFEST})
        assert status not in range(200, 300), f"GET {raw} with bob's bob/app token -> {status} {body[:200]!r}"


def test_scope_overlong_name(registry):
    w = registry
    long_name = "alice/" + "a" * 250  # 256 characters
    assert len(long_name) == 256
    msg = _scope_error(token_response(w, ALICE, f"repository:{long_name}:pull"))
    assert "invalid repository name" in msg, msg
    _scope_error(token_response(w, ALICE, f"repository:alice/{'b' * 5000}:pull"))
    # control: 255 characters is still a valid name (alice's own namespace: pull granted)
    ok_name = "alice/" + "a" * 249
    tok = get_token(w, ALICE, f"repository:{ok_name}:pull")
    assert granted(tok, "repository", ok_name) == {"pull"}, access_of(tok)


def test_scope_repeated_and_contradictory_are_merged(registry):
    w = registry
    tok = get_token(w, ALICE, "repository:alice/app:pull", "repository:alice/app:push,pull")
    entries = [a for a in access_of(tok) if a["name"] == "alice/app"]
    assert len(entries) == 1 and sorted(entries[0]["actions"]) == ["pull", "push"], access_of(tok)
    # bob asking the same for alice's private repository gets nothing, however often he asks
    tok = get_token(w, BOB, "repository:alice/app:pull", "repository:alice/app:push,pull", "repository:alice/app:*",
                    "repository:alice/app:pull,pull,push,delete")
    assert granted(tok, "repository", "alice/app") == set(), access_of(tok)
    assert_refused(pull_manifest(w, tok, "alice/app"), (403,), "bob's merged token on alice/app")
    # bob's own and alice's in one request: only his own granted
    tok = get_token(w, BOB, "repository:bob/app:pull,push", "repository:alice/app:pull,push")
    assert granted(tok, "repository", "bob/app") == {"pull", "push"}
    assert granted(tok, "repository", "alice/app") == set(), access_of(tok)
    # delete is not granted to a non-owner... alice owns her namespace so she gets it; bob on alice's does not
    tok = get_token(w, BOB, "repository:alice/app:delete")
    assert granted(tok, "repository", "alice/app") == set(), access_of(tok)


def test_scope_unknown_actions_invalid(registry):
    w = registry
    for scope in ("repository:alice/app:admin", "repository:alice/app:PULL", "repository:alice/app:pull,admin",
                  "repository:alice/app:", "repository:alice/app", "repository:alice/app:pull,,push",
                  "repository:alice/app:pull push"):
        r = token_response(w, ALICE, scope)
        assert r.status_code == 400, f"scope {scope!r}: {describe(r)}"
        assert "token" not in r.json(), r.text
    msg = _scope_error(token_response(w, ALICE, "repository:alice/app:admin"))
    assert "admin" in msg, msg


def test_scope_wildcard_on_other_users_private_repo(registry):
    w = registry
    own = get_token(w, ALICE, "repository:alice/app:*")
    assert granted(own, "repository", "alice/app") >= {"pull", "push"}, access_of(own)
    tok = get_token(w, BOB, "repository:alice/app:*")
    assert granted(tok, "repository", "alice/app") == set(), access_of(tok)
    assert_refused(pull_manifest(w, tok, "alice/app"), (403,), "bob's * token on alice/app")
    assert_refused(call(w, "DELETE", "/v2/alice/app/manifests/v1", tok), REFUSED, "bob's * token, delete")
    assert_refused(call(w, "POST", "/v2/alice/app/blobs/uploads/", tok), REFUSED, "bob's * token, push")
    # wildcards in the *name* are not patterns
    for scope in ("repository:alice/*:pull", "repository:*:pull", "repository:*/*:*"):
        r = token_response(w, BOB, scope)
        assert r.status_code in (200, 400), describe(r)
        if r.status_code == 200:
            assert not any(a.get("actions") for a in access_of(r.json()["token"])), (scope, r.json())


def test_scope_catalog_only_star(registry):
    w = registry
    for scope in ("registry:catalog:push", "registry:catalog:pull", "registry:catalog:delete"):
        msg = _scope_error(token_response(w, ALICE, scope))
        assert "catalog" in msg, msg
    tok = get_token(w, ALICE, "registry:catalog:*")
    assert granted(tok, "registry", "catalog") == {"*"}, access_of(tok)


def test_anonymous_token_grants_nothing_private(registry):
    w = registry
    r = token_response(w, None, "repository:alice/app:pull,push", "repository:bob/app:*", account="alice")
    assert r.status_code == 200, describe(r)
    tok = r.json()["token"]
    assert jwt_parts(tok)[1].get("sub") in ("", None), jwt_parts(tok)[1]
    assert not any(a.get("actions") for a in access_of(tok)), access_of(tok)
    assert_refused(pull_manifest(w, tok, "alice/app"), (401,), "anonymous token on a private repository")
    assert_refused(call(w, "POST", "/v2/alice/app/blobs/uploads/", tok), (401,), "anonymous push")
    assert_refused(pull_manifest(w, None, "alice/app"), (401,), "no token at all")
    # another user's name in `account` with one's own credentials is refused
    assert_refused(token_response(w, BOB, "repository:alice/app:pull", account="alice"), (400, 401, 403),
                   "bob asking as account=alice")
    # usernames are exact: case and whitespace variants do not log in
    for name in ("Alice", "ALICE", "alice ", " alice"):
        assert_refused(token_response(w, (name, ALICE[1])), (401,), f"username {name!r}")


def test_repository_isolation_mounts_and_blobs(registry):
    """Blobs of alice's private repository cannot be reached from bob's: not by cross-repository mount
    (with or without `from`), not by GET on his own repository, not via tags/referrers/catalog."""
    w = registry
    alice = get_token(w, ALICE, "repository:alice/app:pull,push", "repository:alice/other:pull,push")
    secret = os.urandom(700)
    d = push_blob(w, alice, "alice/app", secret)
    # control: alice mounts from her own repository
    r = call(w, "POST", "/v2/alice/other/blobs/uploads/", alice, params={"mount": d, "from": "alice/app"})
    assert r.status_code == 201, describe(r)
    bob = get_token(w, BOB, "repository:bob/app:pull,push", "repository:alice/app:pull")
    assert granted(bob, "repository", "alice/app") == set()
    for params in ({"mount": d, "from": "alice/app"}, {"mount": d}, {"mount": d, "from": "bob/app"}):
        r = call(w, "POST", "/v2/bob/app/blobs/uploads/", bob, params=params)
        assert r.status_code in (202, 401, 403), f"mount {params}: {describe(r)}"
        assert r.status_code != 201, f"bob mounted alice's blob with {params}: {describe(r)}"
    for method in ("HEAD", "GET"):
        r = call(w, method, f"/v2/bob/app/blobs/{d}", bob)
        assert r.status_code == 404, f"alice's blob through bob/app: {describe(r)}"
    refused = call(w, "GET", f"/v2/alice/app/blobs/{d}", bob)
    assert_refused(refused, (403,), "bob on alice's blob")
    # A HEAD has no body for the reason: refused as distribution does, 401 insufficient_scope, with the same
    # reason as the challenge's error_description (what skopeo and podman print).
    r = call(w, "HEAD", f"/v2/alice/app/blobs/{d}", bob)
    assert_refused(r, (401,), "bob's HEAD on alice's blob")
    _, challenge = parse_challenge(r.headers.get("WWW-Authenticate", ""))
    assert challenge.get("error") == "insufficient_scope", r.headers
    assert challenge.get("error_description") == refused.json()["errors"][0]["message"], (r.headers, refused.text)
    assert_refused(call(w, "GET", "/v2/alice/app/tags/list", bob), (403,), "bob on alice's tags")
    assert_refused(call(w, "GET", f"/v2/alice/app/referrers/{d}", bob), (403,), "bob on alice's referrers")
    cat = get_token(w, BOB, "registry:catalog:*")
    for params in ({}, {"n": "1000"}, {"n": "1", "last": "alice/a"}, {"last": ""}):
        r = call(w, "GET", "/v2/_catalog", cat, params=params)
        assert r.status_code == 200, describe(r)
        assert not [n for n in r.json().get("repositories") or [] if n.startswith("alice/")], (params, r.text)
        assert "alice" not in r.headers.get("Link", ""), r.headers


# --------------------------------------------------------------------------- 3. lockout


def test_lockout_after_failed_logins(wharf_factory):
    w = start(wharf_factory, env={"WHARF_AUTH_LOCKOUT_ATTEMPTS": "3"})
    push_image(w, ALICE, "alice/app")
    secret = w.cli("token", "create", "alice", "--name", "ci").stdout.strip()
    wrong = [token_response(w, ("alice", f"wrong-{i}"), "repository:alice/app:pull") for i in range(3)]
    for r in wrong:
        assert r.status_code == 401, describe(r)
    assert users(w)["alice"]["locked"] == "yes", w.cli("user", "list").stdout
    assert "account locked after failed logins" in w.log_path.read_text(errors="replace")
    right = token_response(w, ALICE, "repository:alice/app:pull")
    assert right.status_code == 401, "locked account must refuse the right password: " + describe(right)
    assert right.content == wrong[-1].content, (right.content, wrong[-1].content)
    assert right.headers.get("WWW-Authenticate") == wrong[-1].headers.get("WWW-Authenticate")
    another_wrong = token_response(w, ALICE[0:1] + ("still-wrong",), "repository:alice/app:pull")
    assert right.content == another_wrong.content and another_wrong.status_code == 401
    # POST password grant and direct Basic on /v2 are refused too
    r = _post_token(w, grant_type="password", client_id="e2e", username=ALICE[0], password=ALICE[1],
                    scope="repository:alice/app:pull", service="wharf")
    assert_refused(r, (400, 401), "locked account, POST password grant")
    assert "access_token" not in r.text
    assert_refused(call(w, "GET", "/v2/", basic=ALICE), (401,), "locked account, direct Basic on /v2/")
    assert_refused(pull_manifest(w, None, "alice/app", basic=ALICE), (401,), "locked account, direct Basic pull")
    # application tokens still work, at /v2/token and directly
    tok = get_token(w, ("alice", secret), "repository:alice/app:pull")
    assert pull_manifest(w, tok, "alice/app").status_code == 200
    assert pull_manifest(w, None, "alice/app", basic=("alice", secret)).status_code == 200
    # other users are not affected
    assert token_response(w, BOB, "repository:bob/app:pull").status_code == 200
    # unlock lets the password in again
    w.cli("user", "unlock", "alice")
    assert users(w)["alice"]["locked"] == "no"
    r = token_response(w, ALICE, "repository:alice/app:pull")
    assert r.status_code == 200, describe(r)
    assert call(w, "GET", "/v2/", basic=ALICE).status_code == 200


def test_lockout_counts_direct_basic_failures(wharf_factory):
    w = start(wharf_factory, env={"WHARF_AUTH_LOCKOUT_ATTEMPTS": "3"})
    for i in range(3):
        assert call(w, "GET", "/v2/", basic=("alice", f"wrong-{i}")).status_code == 401
    r = call(w, "GET", "/v2/", basic=ALICE)
    assert_refused(r, (401,), "right password via direct Basic after 3 direct Basic failures")
    assert_refused(token_response(w, ALICE), (401,), "right password at /v2/token after 3 direct Basic failures")
    assert users(w)["alice"]["locked"] == "yes"


def test_lockout_counts_post_password_grant_failures(wharf_factory):
    w = start(wharf_factory, env={"WHARF_AUTH_LOCKOUT_ATTEMPTS": "3"})
    for i in range(3):
        r = _post_token(w, grant_type="password", client_id="e2e", username="alice", password=f"wrong-{i}",
                        service="wharf")
        assert r.status_code in (400, 401) and "access_token" not in r.text, describe(r)
    r = _post_token(w, grant_type="password", client_id="e2e", username=ALICE[0], password=ALICE[1],
                    service="wharf")
    assert r.status_code in (400, 401) and "access_token" not in r.text, "locked, POST grant: " + describe(r)
    assert_refused(token_response(w, ALICE), (401,), "locked by POST failures, GET /v2/token")
    assert users(w)["alice"]["locked"] == "yes"


def test_lockout_window_and_duration_are_honoured(wharf_factory):
    w = start(wharf_factory, env={"WHARF_AUTH_LOCKOUT_ATTEMPTS": "2", "WHARF_AUTH_LOCKOUT_WINDOW": "3s",
                                  "WHARF_AUTH_LOCKOUT_DURATION": "4s"})
    # failures further apart than the window do not add up
    assert token_response(w, ("alice", "wrong-1")).status_code == 401
    time.sleep(3.5)
    assert token_response(w, ("alice", "wrong-2")).status_code == 401
    assert token_response(w, ALICE).status_code == 200
    # two within the window lock for the duration, then the lock lapses
    assert token_response(w, ("alice", "wrong-3")).status_code == 401
    assert token_response(w, ("alice", "wrong-4")).status_code == 401
    locked_at = time.monotonic()
    assert_refused(token_response(w, ALICE), (401,), "right password inside the lockout duration")
    time.sleep(max(0.0, 5.0 - (time.monotonic() - locked_at)))
    r = token_response(w, ALICE)
    assert r.status_code == 200, "after the lockout duration: " + describe(r)


def test_failed_logins_below_threshold_do_not_lock(wharf_factory):
    w = start(wharf_factory, env={"WHARF_AUTH_LOCKOUT_ATTEMPTS": "3"})
    for i in range(2):
        assert token_response(w, ("alice", f"wrong-{i}")).status_code == 401
    assert token_response(w, ALICE).status_code == 200
    assert users(w)["alice"]["locked"] == "no"


# --------------------------------------------------------------------------- 4. first admin


def test_logging_in_never_makes_an_admin(wharf_factory):
    """Issue 9: users made with `wharf user create` (no --admin) on a server without any admin stay plain users
    whatever they log in with; the first of them used to become admin silently, hiding every permission problem
    an operator was testing. The CLI says how to make an admin instead."""
    w = start(wharf_factory, admin=False)
    created = w.cli("user", "create", "carol", "--password", "carol-pass-123")
    assert "no administrator exists yet" in created.stdout and "wharf user promote" in created.stdout, created.stdout
    w.create_user("robot", "robot-pass-123", "--bot")
    assert token_response(w, ("robot", "robot-pass-123")).status_code == 200
    assert token_response(w, BOB).status_code == 200
    assert call(w, "GET", "/v2/", basic=ALICE).status_code == 200
    r = _post_token(w, grant_type="password", client_id="e2e", username="carol", password="carol-pass-123", service="wharf")
    assert r.status_code == 200, describe(r)
    assert all(u["admin"] == "no" for u in users(w).values()), users(w)
    # and nobody got admin rights in fact
    push_image(w, ALICE, "alice/app")
    assert granted(get_token(w, BOB, "repository:alice/app:pull,push"), "repository", "alice/app") == set()
    # once an admin exists, the CLI no longer prints the hint
    w.cli("user", "promote", "bob")
    assert "no administrator" not in w.cli("user", "create", "dave", "--password", "dave-pass-1234").stdout


def test_racing_first_logins_promote_nobody(wharf_factory):
    """Several users logging in at the same moment on a fresh server: nobody becomes admin."""
    w = start(wharf_factory, admin=False)
    people = [(f"user{i}", f"user{i}-pass-123") for i in range(6)]
    for name, pw in people:
        w.create_user(name, pw)
    barrier = threading.Barrier(len(people))

    def login(creds):
        barrier.wait()
        return token_response(w, creds).status_code

    with ThreadPoolExecutor(len(people)) as ex:
        codes = list(ex.map(login, people))
    assert codes == [200] * len(people), codes
    admins = [n for n, u in users(w).items() if u["admin"] == "yes"]
    assert admins == [], users(w)


def test_no_first_admin_when_an_admin_was_created(wharf_factory):
    w = start(wharf_factory, admin=True)
    assert token_response(w, ALICE).status_code == 200
    assert token_response(w, BOB).status_code == 200
    u = users(w)
    assert u["alice"]["admin"] == "no" and u["bob"]["admin"] == "no", u


def test_no_first_admin_after_the_only_admin_was_deleted(wharf_factory):
    """"While no admin has ever existed": deleting the created admin does not reopen the promotion."""
    w = start(wharf_factory, admin=True)
    w.cli("user", "delete", "root")
    assert token_response(w, ALICE).status_code == 200
    assert users(w)["alice"]["admin"] == "no", users(w)


def test_no_first_admin_after_a_promote(wharf_factory):
    w = start(wharf_factory, admin=False)
    w.cli("user", "promote", "bob")
    w.cli("user", "promote", "bob", "--demote")
    assert token_response(w, ALICE).status_code == 200
    assert users(w)["alice"]["admin"] == "no", users(w)


# --------------------------------------------------------------------------- 5. service account


def test_service_account(wharf_factory):
    w = start(wharf_factory, env={"WHARF_AUTH_SERVICE_PASSWORD": SERVICE_PASSWORD})
    push_image(w, ALICE, "alice/app")
    push_image(w, BOB, "bob/app")
    svc = ("portus", SERVICE_PASSWORD)
    tok = get_token(w, svc, "repository:alice/app:pull,push,delete", "repository:bob/app:*", "registry:catalog:*")
    assert granted(tok, "repository", "alice/app") == {"pull"}, access_of(tok)
    assert granted(tok, "repository", "bob/app") == {"pull"}, access_of(tok)
    assert granted(tok, "registry", "catalog") == {"*"}, access_of(tok)
    assert pull_manifest(w, tok, "alice/app").status_code == 200
    r = call(w, "GET", "/v2/_catalog", tok)
    assert r.status_code == 200 and {"alice/app", "bob/app"} <= set(r.json()["repositories"]), describe(r)
    # no push, no delete, with the token or directly
    assert_refused(call(w, "POST", "/v2/alice/app/blobs/uploads/", tok), REFUSED, "service account push")
    assert_refused(call(w, "DELETE", "/v2/alice/app/manifests/v1", tok), REFUSED, "service account delete")
    assert pull_manifest(w, None, "alice/app", basic=svc).status_code == 200
    assert_refused(call(w, "POST", "/v2/alice/app/blobs/uploads/", basic=svc), REFUSED, "service account, Basic push")
    assert_refused(call(w, "DELETE", "/v2/alice/app/manifests/v1", basic=svc), REFUSED,
                   "service account, Basic delete")
    assert pull_manifest(w, tok, "alice/app").status_code == 200  # still there
    # wrong password
    assert_refused(token_response(w, ("portus", "wrong-password")), (401,), "service account, wrong password")
    assert_refused(token_response(w, ("portus", SERVICE_PASSWORD + "x")), (401,), "service account, longer pw")
    assert_refused(call(w, "GET", "/v2/", basic=("portus", "wrong-password")), (401,), "portus direct wrong pw")
    # the name cannot be taken by a database user
    p = w.cli("user", "create", "portus", "--password", "another-pass-123", check=False)
    lines = p.stderr.strip().splitlines()
    assert p.returncode != 0 and len(lines) == 1 and lines[0].strip(), (p.returncode, p.stderr)
    assert "portus" not in users(w), w.cli("user", "list").stdout
    assert_refused(token_response(w, ("portus", "another-pass-123")), (401,), "portus with the refused DB password")


def test_service_account_token_refused_once_the_account_is_gone(wharf_factory):
    """A token issued to the service account stops working when the server runs without
    auth.service_password (the account no longer exists), although it is validly signed and unexpired."""
    w = start(wharf_factory, env={"WHARF_AUTH_SERVICE_PASSWORD": SERVICE_PASSWORD})
    push_image(w, ALICE, "alice/app")
    tok = get_token(w, ("portus", SERVICE_PASSWORD), "repository:alice/app:pull", "registry:catalog:*")
    assert pull_manifest(w, tok, "alice/app").status_code == 200
    w.stop()
    w.extra_env.pop("WHARF_AUTH_SERVICE_PASSWORD")
    w.start()
    assert pull_manifest(w, get_token(w, ALICE, "repository:alice/app:pull"), "alice/app").status_code == 200
    assert_refused(pull_manifest(w, tok, "alice/app"), REFUSED, "service account token, account switched off")
    assert_refused(call(w, "GET", "/v2/_catalog", tok), REFUSED, "service account catalog, account switched off")


def test_service_account_absent_without_password(wharf_factory):
    w = start(wharf_factory)
    push_image(w, ALICE, "alice/app")
    assert_refused(token_response(w, ("portus", SERVICE_PASSWORD), "repository:alice/app:pull"), (401,),
                   "portus without auth.service_password")
    assert_refused(pull_manifest(w, None, "alice/app", basic=("portus", SERVICE_PASSWORD)), (401,),
                   "portus direct Basic without auth.service_password")
    assert_refused(token_response(w, ("portus", "")), (401,), "portus with an empty password")


def test_service_password_too_short_does_not_open_the_account(wharf_factory):
    """Fewer than 8 characters: the server must not run with a guessable service account (it refuses to start
    with a one-line reason, or at least refuses the login)."""
    w = wharf_factory(tls=True, auth=True, env={"WHARF_AUTH_SERVICE_PASSWORD": "short"}, start=False)
    proc = subprocess.Popen(w.command(), env=w.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            out = None
        if out is not None:
            assert proc.returncode != 0 and b"service_password" in out, out
            return
        # still running: then the short password must not log in
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not w.ready()[0]:
            time.sleep(0.2)
        r = token_response(w, ("portus", "short"))
        assert r.status_code == 401, "service account with a 5-character password: " + describe(r)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=15)


# --------------------------------------------------------------------------- 6. uploads outliving the token


def test_an_upload_cannot_be_finished_after_the_push_right_was_taken_away(wharf_factory):
    """Issue 9: someone removed from the team cannot finish (or continue with an expired token) a session started
    before: the commit is checked against today's push rights, not the token's."""
    w = start(wharf_factory, env={"WHARF_AUTH_TOKEN_EXPIRY": "3s"})
    w.cli("team", "create", "zeta", "--owner", "alice")
    w.cli("team", "add", "zeta", "bob", "--role", "contributor")
    w.cli("namespace", "create", "zeta", "--team", "zeta")
    data = os.urandom(4096)
    tok = get_token(w, BOB, "repository:zeta/app:pull,push")
    assert granted(tok, "repository", "zeta/app") == {"pull", "push"}
    r = call(w, "POST", "/v2/zeta/app/blobs/uploads/", tok)
    assert r.status_code == 202, describe(r)
    expiring = relative_location(r)
    r = call(w, "POST", "/v2/zeta/app/blobs/uploads/", tok)
    assert r.status_code == 202, describe(r)
    valid = relative_location(r)
    w.cli("team", "remove", "zeta", "bob")
    # with the token still valid, the commit is refused at once
    time.sleep(1.2)  # the server remembers a grant for a second
    r = call(w, "PUT", valid, tok, params={"digest": sha256(data)}, data=data,
             headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 403, "commit after losing the push right: " + describe(r)
    # and with the token expired (past exp + the 5 s leeway), continuing and committing are refused too
    claims = jwt_parts(tok)[1]
    while time.time() < claims["exp"] + 6.5:
        time.sleep(0.25)
    r = call(w, "PATCH", expiring, tok, data=data[:100], headers={"Content-Type": "application/octet-stream"})
    assert_refused(r, REFUSED, "expired token continuing after losing the push right")
    r = call(w, "PUT", expiring, tok, params={"digest": sha256(data)}, data=data,
             headers={"Content-Type": "application/octet-stream"})
    assert_refused(r, REFUSED, "expired token committing after losing the push right")
    # nothing was stored under zeta/app
    admin = get_token(w, ROOT, "repository:zeta/app:pull")
    assert call(w, "HEAD", f"/v2/zeta/app/blobs/{sha256(data)}", admin).status_code == 404


def test_upload_continues_after_token_expiry(wharf_factory):
    w = start(wharf_factory, env={"WHARF_AUTH_TOKEN_EXPIRY": "3s"})
    push_image(w, BOB, "bob/app")
    old = get_token(w, ALICE, "repository:alice/app:pull,push")
    c = jwt_parts(old)[1]
    assert c["exp"] - c["iat"] == 3, c
    bob_old = get_token(w, BOB, "repository:bob/app:pull,push", "repository:alice/app:pull,push")
    assert granted(bob_old, "repository", "alice/app") == set()
    r = call(w, "POST", "/v2/alice/app/blobs/uploads/", old)
    assert r.status_code == 202, describe(r)
    session = relative_location(r)
    # a pull-only token of alice's, obtained at the same time
    pull_old = get_token(w, ALICE, "repository:alice/app:pull")
    # bob's session in his own repository, to try to hijack alice's from
    r = call(w, "POST", "/v2/bob/app/blobs/uploads/", bob_old)
    assert r.status_code == 202, describe(r)
    bob_session = relative_location(r)
    # wait past exp + the 5 s leeway
    while time.time() < c["exp"] + 6.5:
        time.sleep(0.25)
    assert_refused(pull_manifest(w, old, "alice/app"), (401,), "expired token on a non-upload request")
    assert_refused(call(w, "POST", "/v2/alice/app/blobs/uploads/", old), (401,), "new upload with an expired token")
    # the expired token is no good for anything but continuing its session: manifests, blobs, the session list
    r = call(w, "PUT", "/v2/alice/app/manifests/v2", old, data=b"{}", headers={"Content-Type": MT_OCI_MANIFEST})
    assert_refused(r, (401,), "manifest PUT with an expired token")
    assert_refused(call(w, "HEAD", f"/v2/alice/app/blobs/{sha256(b'x')}", old), (401,), "blob HEAD, expired token")
    assert_refused(call(w, "GET", "/v2/alice/app/tags/list", old), (401,), "tags with an expired token")
    sid = session.split("?")[0].rstrip("/").rsplit("/", 1)[1]
    for raw in (f"/v2/alice/app/blobs/uploads/{sid}/../../../manifests/v2",
                f"/v2/alice/app/blobs/uploads/{sid}%2F..%2F..%2F..%2Fmanifests%2Fv2",
                f"/v2/alice/app/blobs/uploads/../../../manifests/v2"):
        status, _, body = raw_request(w, "PUT", raw, body=b"{}", headers={"Authorization": f"Bearer {old}",
                                                                           "Content-Type": MT_OCI_MANIFEST})
        assert status not in range(200, 300), f"PUT {raw} with an expired token -> {status} {body[:200]!r}"
    # a token obtained now, and a session it starts: the old token must not continue that one
    fresh = get_token(w, ALICE, "repository:alice/app:pull,push")
    r = call(w, "POST", "/v2/alice/app/blobs/uploads/", fresh)
    assert r.status_code == 202, describe(r)
    late_session = relative_location(r)
    r = call(w, "PATCH", late_session, old, data=b"zz", headers={"Content-Type": "application/octet-stream"})
    assert_refused(r, (401,), "expired token continuing a session started after it expired")
    # bob's expired token cannot continue alice's session, under either name
    data = os.urandom(3000)
    r = call(w, "PATCH", session, bob_old, data=data[:10], headers={"Content-Type": "application/octet-stream"})
    assert_refused(r, REFUSED, "bob's expired token on alice's upload session")
    uid = session.rstrip("/").split("?")[0].rsplit("/", 1)[1]
    r = call(w, "PATCH", f"/v2/bob/app/blobs/uploads/{uid}", bob_old, data=data[:10],
             headers={"Content-Type": "application/octet-stream"})
    assert r.status_code not in range(200, 300), "alice's session id under bob/app: " + describe(r)
    # an expired token without push on alice/app cannot continue the session either
    r = call(w, "PATCH", session, pull_old, data=data[:10], headers={"Content-Type": "application/octet-stream"})
    assert_refused(r, REFUSED, "alice's expired pull-only token on her upload session")
    # bob continues his own session with his expired token (control), but not once he is disabled
    r = call(w, "PATCH", bob_session, bob_old, data=b"b" * 10,
             headers={"Content-Type": "application/octet-stream", "Content-Range": "0-9"})
    assert r.status_code == 202, "bob continuing his own session with his expired token: " + describe(r)
    bob_session = relative_location(r) or bob_session
    w.cli("user", "disable", "bob")
    time.sleep(1.5)
    r = call(w, "PATCH", bob_session, bob_old, data=b"b" * 10,
             headers={"Content-Type": "application/octet-stream", "Content-Range": "10-19"})
    assert_refused(r, REFUSED, "expired token of a now disabled user continuing his session")
    # alice continues with her expired token
    r = call(w, "PATCH", session, old, data=data[:1000],
             headers={"Content-Type": "application/octet-stream", "Content-Range": "0-999"})
    assert r.status_code == 202, "PATCH with the expired token of the session: " + describe(r)
    r = call(w, "GET", relative_location(r), old)
    assert r.status_code == 204 and r.headers.get("Range") == "0-999", describe(r)
    r = call(w, "PATCH", relative_location(r) or session, old, data=data[1000:2000],
             headers={"Content-Type": "application/octet-stream", "Content-Range": "1000-1999"})
    assert r.status_code == 202, describe(r)
    r = call(w, "PUT", relative_location(r), old, params={"digest": sha256(data)}, data=data[2000:],
             headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201, "PUT with the expired token of the session: " + describe(r)
    r = call(w, "GET", f"/v2/alice/app/blobs/{sha256(data)}", get_token(w, ALICE, "repository:alice/app:pull"))
    if r.status_code in (301, 302, 303, 307, 308):
        r = requests.get(r.headers["Location"], verify=w.verify, timeout=30)
    assert r.status_code == 200 and r.content == data, describe(r)
    # the finished session is gone; the expired token does not open a new one
    assert_refused(call(w, "POST", "/v2/alice/app/blobs/uploads/", old), (401,), "new upload with the expired token")


# --------------------------------------------------------------------------- 7. policy settings fail closed


def _actions(w: Wharf, creds, repo: str, actions: str = "pull,push,delete") -> set[str]:
    return granted(get_token(w, creds, f"repository:{repo}:{actions}"), "repository", repo)


def test_namespace_squatting_blocks_user_creation(wharf_factory):
    """alice pushing to dave/app creates a team namespace `dave`; creating user dave afterwards must not hand
    him (or leave alice in) a personal namespace alice controls: the CLI refuses with one line."""
    w = start(wharf_factory)
    tok = get_token(w, ALICE, "repository:dave/app:pull,push")
    r = call(w, "POST", "/v2/dave/app/blobs/uploads/", tok)
    assert r.status_code == 202, describe(r)
    p = w.cli("user", "create", "dave", "--password", "dave-pass-1234", check=False)
    lines = p.stderr.strip().splitlines()
    assert p.returncode != 0 and len(lines) == 1 and "dave" in lines[0], (p.returncode, p.stderr)
    assert "dave" not in users(w)
    assert_refused(token_response(w, ("dave", "dave-pass-1234")), (401,), "dave was not created")


def test_team_roles_and_visibility(wharf_factory):
    w = start(wharf_factory)
    w.create_user("ci", "ci-pass-12345", "--bot")
    w.cli("team", "create", "acme", "--owner", "alice")
    w.cli("team", "add", "acme", "bob", "--role", "viewer")
    w.cli("team", "add", "acme", "ci", "--role", "contributor")
    w.cli("namespace", "create", "acme", "--team", "acme", "--visibility", "private")
    w.cli("namespace", "create", "pub", "--team", "acme", "--visibility", "public")
    w.cli("namespace", "create", "prot", "--team", "acme", "--visibility", "protected")
    carol = ("carol", "carol-pass-123")
    w.create_user(*carol)
    ci = ("ci", "ci-pass-12345")
    assert _actions(w, ALICE, "acme/app") == {"pull", "push", "delete"}       # owner
    assert _actions(w, ci, "acme/app") == {"pull", "push"}                     # contributor: no delete by default
    assert _actions(w, BOB, "acme/app") == {"pull"}                            # viewer
    assert _actions(w, carol, "acme/app") == set()                             # outsider, private
    assert _actions(w, carol, "prot/app") == {"pull"}                          # protected: logged-in users pull
    assert _actions(w, carol, "pub/app") == {"pull"}
    assert _actions(w, None, "pub/app") == {"pull"}                            # public: anonymous pull
    assert _actions(w, None, "prot/app") == set() and _actions(w, None, "acme/app") == set()
    # global namespace: logged-in users pull, only admins push; anonymous nothing
    assert _actions(w, ALICE, "busybox") == {"pull"}
    assert _actions(w, None, "busybox") == set()
    assert _actions(w, ROOT, "busybox") == {"pull", "push", "delete"}
    # the viewer's and outsider's attempts at the registry are denied
    push_image(w, ALICE, "acme/app")
    viewer = get_token(w, BOB, "repository:acme/app:pull,push,delete")
    assert pull_manifest(w, viewer, "acme/app").status_code == 200
    assert_refused(call(w, "POST", "/v2/acme/app/blobs/uploads/", viewer), (403,), "viewer push")
    assert_refused(call(w, "DELETE", "/v2/acme/app/manifests/v1", viewer), (403,), "viewer delete")
    contrib = get_token(w, ci, "repository:acme/app:pull,push,delete")
    assert_refused(call(w, "DELETE", "/v2/acme/app/manifests/v1", contrib), (403,), "contributor delete")
    assert_refused(call(w, "POST", "/v2/busybox/blobs/uploads/", get_token(w, ALICE, "repository:busybox:push")),
                   (403,), "user push to the global namespace")
    # removed from the team: new tokens no longer grant anything
    w.cli("team", "remove", "acme", "bob")
    assert _actions(w, BOB, "acme/app") == set()


@pytest.mark.parametrize("setting, creds, repo, expected", [
    ({"WHARF_AUTH_ANONYMOUS_PULL": "off"}, None, "pub/app", set()),
    ({"WHARF_NAMESPACES_CREATE_ON_PUSH": "off"}, ALICE, "newns/app", set()),
    ({"WHARF_PERMISSIONS_PUSH_POLICY": "admin-only"}, ALICE, "alice/app", {"pull", "delete"}),
    ({"WHARF_PERMISSIONS_PUSH_POLICY": "allow-personal"}, ALICE, "acme/app", {"pull", "delete"}),
    ({"WHARF_PERMISSIONS_DELETE": "off"}, ROOT, "alice/app", {"pull", "push"}),
    ({"WHARF_PERMISSIONS_DELETE": "off"}, ALICE, "alice/app", {"pull", "push"}),
    ({"WHARF_PERMISSIONS_CONTRIBUTORS_DELETE": "on"}, BOB, "acme/app", {"pull", "push", "delete"}),
])
def test_policy_settings(wharf_factory, setting, creds, repo, expected):
    w = start(wharf_factory, env=setting)
    w.cli("team", "create", "acme", "--owner", "alice")
    w.cli("team", "add", "acme", "bob", "--role", "contributor")
    w.cli("namespace", "create", "acme", "--team", "acme", "--visibility", "private")
    w.cli("namespace", "create", "pub", "--team", "acme", "--visibility", "public")
    got = _actions(w, creds, repo)
    assert got == expected, f"{setting}: {creds and creds[0]} on {repo}: {got}"
    tok = get_token(w, creds, f"repository:{repo}:pull,push,delete")
    if "push" not in expected:
        r = call(w, "POST", f"/v2/{repo}/blobs/uploads/", tok)
        assert_refused(r, (401, 403), f"{setting}: push to {repo}")
        if creds is not None:
            assert r.status_code == 403 and "DENIED" in error_codes(r), describe(r)
            if repo == "newns/app":
                assert "newns" in r.text, describe(r)
    if "delete" not in expected:
        assert_refused(call(w, "DELETE", f"/v2/{repo}/manifests/{sha256(b'x')}", tok), (401, 403),
                       f"{setting}: delete in {repo}")
    if "pull" not in expected:
        assert_refused(pull_manifest(w, tok, repo), (401, 403), f"{setting}: pull {repo}")
