"""The token endpoint of a running `wharf serve`, black-box: users made with
the CLI, tokens fetched with requests, the JWT checked by hand (base64url,
header, claims) and its RS256 signature verified with openssl against the
public key of DATA/certs/server.crt."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

from conftest import wharf_bin


def cli(data: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}
    r = subprocess.run([wharf_bin(), *args, "--data", str(data)], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, f"wharf {' '.join(args)}: exit {r.returncode}: {r.stderr}"
    return r.stdout


def b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def libtrust_kid(spki_der: bytes) -> str:
    encoded = base64.b32encode(hashlib.sha256(spki_der).digest()[:30]).decode()
    return ":".join(encoded[i:i + 4] for i in range(0, len(encoded), 4))


def verify_with_openssl(token: str, cert: Path, work: Path) -> None:
    header, payload, signature = token.split(".")
    (work / "input").write_bytes(f"{header}.{payload}".encode())
    (work / "signature").write_bytes(b64url(signature))
    pub = subprocess.run(["openssl", "x509", "-in", str(cert), "-pubkey", "-noout"], capture_output=True, check=True).stdout
    (work / "pub.pem").write_bytes(pub)
    r = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", str(work / "pub.pem"), "-signature", str(work / "signature"), str(work / "input")],
        capture_output=True, text=True,
    )
    assert r.returncode == 0 and "Verified OK" in r.stdout, r.stdout + r.stderr


def test_token_endpoint(wharf_factory, tmp_path):
    data = tmp_path / "data"
    cli(data, "user", "create", "alice", "--password", "correct horse")
    cli(data, "user", "create", "bob", "--password", "battery staple")
    # An admin exists, so alice's first login does not make her one (she must not see bob's namespace).
    cli(data, "user", "create", "root", "--password", "root password", "--admin")
    app_token = cli(data, "token", "create", "alice", "--name", "ci").strip()
    server = wharf_factory(tls=True, data_dir=data, auth=True)
    session = server.session()
    url = server.url("/v2/token")

    r = session.get(url, params=[("service", "registry.test"), ("scope", "repository:alice/app:pull,push"),
                                 ("scope", "repository:bob/app:pull"), ("scope", "repository:alice/app:pull")],
                    auth=("alice", "correct horse"), timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == 900
    assert body["issued_at"].endswith("Z")
    token = body["token"]

    header = json.loads(b64url(token.split(".")[0]))
    assert header["alg"] == "RS256"
    spki = subprocess.run(
        ["openssl", "x509", "-in", str(server.cert_path), "-pubkey", "-noout"], capture_output=True, check=True
    ).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=spki, capture_output=True, check=True).stdout
    assert header["kid"] == libtrust_kid(der)

    claims = json.loads(b64url(token.split(".")[1]))
    assert claims["iss"] == "wharf"
    assert claims["sub"] == "alice"
    assert claims["aud"] == "registry.test"
    assert claims["access"] == [{"type": "repository", "name": "alice/app", "actions": ["pull", "push"]}]
    assert claims["nbf"] == claims["iat"] - 5 and claims["exp"] == claims["iat"] + 900
    assert abs(claims["iat"] - time.time()) < 120
    assert claims["jti"]
    verify_with_openssl(token, server.cert_path, tmp_path)

    # Tampering with the claims breaks the signature.
    forged = json.dumps({**claims, "sub": "bob"}).encode()
    tampered = ".".join([token.split(".")[0], base64.urlsafe_b64encode(forged).decode().rstrip("="), token.split(".")[2]])
    (tmp_path / "input").write_bytes(".".join(tampered.split(".")[:2]).encode())
    r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(tmp_path / "pub.pem"), "-signature",
                        str(tmp_path / "signature"), str(tmp_path / "input")], capture_output=True, text=True)
    assert r.returncode != 0

    # The application token works as alice's password, and only as hers.
    r = session.get(url, params={"service": "registry.test", "scope": "repository:alice/app:push"}, auth=("alice", app_token), timeout=30)
    assert r.status_code == 200, r.text
    assert json.loads(b64url(r.json()["token"].split(".")[1]))["access"][0]["actions"] == ["push"]
    assert session.get(url, params={"service": "registry.test"}, auth=("bob", app_token), timeout=30).status_code == 401

    # Anonymous: a token with nothing in a private namespace.
    r = session.get(url, params={"service": "registry.test", "scope": "repository:alice/app:pull"}, timeout=30)
    assert r.status_code == 200, r.text
    anonymous = json.loads(b64url(r.json()["token"].split(".")[1]))
    assert anonymous["sub"] == "" and anonymous["access"] == []

    # Wrong password, disabled user: 401 with a JSON error; malformed scope: 400.
    r = session.get(url, params={"service": "registry.test"}, auth=("alice", "wrong password"), timeout=30)
    assert r.status_code == 401 and r.json()["errors"][0]["code"] == "UNAUTHORIZED"
    cli(data, "user", "disable", "bob")
    assert session.get(url, params={"service": "registry.test"}, auth=("bob", "battery staple"), timeout=30).status_code == 401
    r = session.get(url, params={"service": "registry.test", "scope": "repository:alice/app"}, timeout=30)
    assert r.status_code == 400 and "\n" not in r.json()["errors"][0]["message"]

    # The OAuth2 password grant.
    r = session.post(url, data={"grant_type": "password", "client_id": "e2e", "username": "alice", "password": "correct horse",
                                "service": "registry.test", "scope": "repository:alice/app:pull"}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "repository:alice/app:pull"
    verify_with_openssl(r.json()["access_token"], server.cert_path, tmp_path)

    # The registry around it: anonymous callers get the challenge naming this endpoint; a token for this
    # registry's service ("wharf") opens /v2/, one for another audience does not.
    r = session.get(server.url("/v2/"), timeout=30)
    assert r.status_code == 401 and r.headers["Docker-Distribution-API-Version"] == "registry/2.0", r.text
    assert r.headers["WWW-Authenticate"] == f'Bearer realm="{url}",service="wharf"', r.headers
    r = session.get(url, params={"service": "wharf"}, auth=("alice", "correct horse"), timeout=30)
    assert r.status_code == 200, r.text
    assert json.loads(b64url(r.json()["token"].split(".")[1]))["aud"] == "wharf"
    r = session.get(server.url("/v2/"), headers={"Authorization": f"Bearer {r.json()['token']}"}, timeout=30)
    assert r.status_code == 200 and r.headers["Docker-Distribution-API-Version"] == "registry/2.0", r.text
    r = session.get(server.url("/v2/"), headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 401, f"a token for audience registry.test was accepted: {r.status_code} {r.text}"
