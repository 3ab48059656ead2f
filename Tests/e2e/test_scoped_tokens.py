"""Scoped tokens for machines (Harbor's robot accounts, Kubernetes pull secrets) with real skopeo: a namespace's
token logs in as `robot$NAMESPACE+NAME` and may pull, or pull and push, only the repositories of its namespace
that match its pattern; never another namespace, a delete, the catalogue or a new namespace; revoked and expired
tokens are refused. Wharf over TLS with token auth, tokens made with `wharf token scoped`."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest
import requests

from ocihelpers import describe, read_layout_ref, write_oci_layout
from test_auth_clients import DENIED, UNAUTHORIZED, assert_refused, claims_of
from test_skopeo import assert_same_layout

ADMIN = ("root", "root password")
COPY = ("copy", "--preserve-digests", "--retry-times", "0")


@pytest.fixture
def server(wharf_factory):
    """Wharf with token auth, an admin, and team apps owning the private namespaces apps and other."""
    w = wharf_factory(tls=True, auth=True)
    w.create_user(*ADMIN, "--admin")
    w.cli("team", "create", "apps")
    w.cli("namespace", "create", "apps", "--team", "apps")
    w.cli("namespace", "create", "other", "--team", "apps")
    return w


@pytest.fixture
def certs(server, tmp_path):
    return server.cert_dir(tmp_path / "certs")


@pytest.fixture
def image(tmp_path):
    return write_oci_layout(tmp_path / "src", "v1", n_layers=2)


def scoped_token(server, namespace: str, name: str, repositories: str, actions: str, expires: str = "30d") -> str:
    """`wharf token scoped create`: the secret, the only thing it prints on standard output."""
    p = server.cli("token", "scoped", "create", namespace, name, "--repositories", repositories, "--actions", actions,
                   "--expires", expires)
    secret = p.stdout.strip()
    assert secret.startswith("wharf_") and "\n" not in secret, p.stdout
    assert f"robot${namespace}+{name}" in p.stderr, p.stderr
    return secret


def listed(server, namespace: str) -> dict[str, dict]:
    """`wharf token scoped list NAMESPACE --json`, by token name."""
    return {t["name"]: t for t in json.loads(server.cli("token", "scoped", "list", namespace, "--json").stdout)}


def robot(namespace: str, name: str, secret: str) -> str:
    return f"robot${namespace}+{name}:{secret}"


def push(skopeo, server, certs, image, dest: str, creds: str, check: bool = True):
    return skopeo(*COPY, "--dest-cert-dir", str(certs), "--dest-creds", creds, f"oci:{image.path}:v1",
                  f"docker://{server.host}/{dest}", check=check)


def pull(skopeo, server, certs, src: str, creds: str, out, check: bool = True):
    return skopeo(*COPY, "--src-cert-dir", str(certs), "--src-creds", creds, f"docker://{server.host}/{src}",
                  f"oci:{out}:v1", check=check)


def test_a_pull_token_pulls_its_namespace_and_nothing_else(server, skopeo, certs, image, tmp_path):
    admin = ":".join(ADMIN)
    push(skopeo, server, certs, image, "apps/web:v1", admin)
    push(skopeo, server, certs, image, "other/web:v1", admin)
    secret = scoped_token(server, "apps", "puller", "*", "pull")
    creds = robot("apps", "puller", secret)

    # It pulls what its namespace holds, as the admin pushed it.
    out = tmp_path / "out"
    pull(skopeo, server, certs, "apps/web:v1", creds, out)
    assert read_layout_ref(out, "v1")["digest"] == image.top_digest
    assert_same_layout(image, out)
    tags = json.loads(skopeo("list-tags", "--cert-dir", str(certs), "--creds", creds,
                             f"docker://{server.host}/apps/web").stdout)
    assert tags["Tags"] == ["v1"], tags

    # It may not push, not even where it pulls, nor pull from another namespace, nor delete.
    p = push(skopeo, server, certs, image, "apps/web:v2", creds, check=False)
    assert_refused(p, "a pull token pushing into apps/web", DENIED)
    p = pull(skopeo, server, certs, "other/web:v1", creds, tmp_path / "other", check=False)
    assert_refused(p, "a token of apps pulling other/web", DENIED)
    p = skopeo("delete", "--cert-dir", str(certs), "--creds", creds, f"docker://{server.host}/apps/web:v1",
               check=False)
    assert_refused(p, "a pull token deleting apps/web", DENIED)
    info = json.loads(skopeo("inspect", "--cert-dir", str(certs), "--creds", admin,
                             f"docker://{server.host}/apps/web:v1").stdout)
    assert info["Digest"] == image.top_digest, info

    # The token endpoint grants it no more than that, however much is asked: `$` and `+` in the username.
    user, _, password = creds.partition(":")
    r = requests.get(server.url("/v2/token"), auth=(user, password), verify=server.verify, timeout=30, params=[
        ("account", user), ("offline_token", "true"),
        ("scope", "repository:apps/web:pull,push,delete"), ("scope", "repository:other/web:pull"),
        ("scope", "registry:catalog:*"), ("scope", "repository:newspace/web:pull,push")])
    assert r.status_code == 200, describe(r)
    body = r.json()
    assert "refresh_token" not in body, body
    claims = claims_of(body["token"])
    assert claims["sub"] == "robot$apps+puller", claims
    assert claims["access"] == [{"type": "repository", "name": "apps/web", "actions": ["pull"]}], claims
    # Direct Basic on /v2: no catalogue, no delete.
    r = requests.get(server.url("/v2/_catalog"), auth=(user, password), verify=server.verify, timeout=30)
    assert r.status_code == 403, describe(r)
    r = requests.delete(server.url(f"/v2/apps/web/manifests/{image.top_digest}"), auth=(user, password),
                        verify=server.verify, timeout=30)
    assert r.status_code == 403, describe(r)
    assert listed(server, "apps")["puller"]["actions"] == ["pull"]


def test_a_push_token_pushes_only_where_its_pattern_matches(server, skopeo, certs, image, tmp_path):
    secret = scoped_token(server, "apps", "ci", "app-*", "pull,push")
    creds = robot("apps", "ci", secret)

    push(skopeo, server, certs, image, "apps/app-web:v1", creds)
    out = tmp_path / "out"
    pull(skopeo, server, certs, "apps/app-web:v1", creds, out)
    assert read_layout_ref(out, "v1")["digest"] == image.top_digest

    for dest in ("apps/web:v1", "apps/tools/app-cli:v1", "other/app-web:v1", "newspace/app-web:v1", "app-web:v1"):
        p = push(skopeo, server, certs, image, dest, creds, check=False)
        assert_refused(p, f"a token for apps/app-* pushing {dest}", DENIED)
    # Its push created no namespace (a bot's push could, under the default rules).
    namespaces = server.cli("namespace", "list").stdout
    assert "newspace" not in namespaces, namespaces
    tags = json.loads(skopeo("list-tags", "--cert-dir", str(certs), "--creds", ":".join(ADMIN),
                             f"docker://{server.host}/apps/app-web").stdout)
    assert tags["Tags"] == ["v1"], tags
    r = requests.get(server.url("/v2/apps/web/tags/list"), auth=ADMIN, verify=server.verify, timeout=30)
    assert r.status_code == 404, describe(r)

    activity = server.cli("activity", "list", "--action", "token.scoped", "--namespace", "apps").stdout
    assert "token.scoped.create" in activity and "robot$apps+ci" in activity, activity


def test_revoked_and_expired_tokens_are_refused(server, skopeo, certs, image, tmp_path):
    push(skopeo, server, certs, image, "apps/web:v1", ":".join(ADMIN))

    secret = scoped_token(server, "apps", "revoked", "*", "pull")
    pull(skopeo, server, certs, "apps/web:v1", robot("apps", "revoked", secret), tmp_path / "before")
    token = listed(server, "apps")["revoked"]
    assert token["username"] == "robot$apps+revoked", token
    server.cli("token", "scoped", "revoke", "apps", str(token["id"]))
    assert "revoked" not in listed(server, "apps")
    p = pull(skopeo, server, certs, "apps/web:v1", robot("apps", "revoked", secret), tmp_path / "after", check=False)
    assert_refused(p, "a revoked token pulling apps/web", UNAUTHORIZED)

    secret = scoped_token(server, "apps", "short", "*", "pull", expires="1s")
    expires = datetime.fromisoformat(listed(server, "apps")["short"]["expires_at"].replace("Z", "+00:00"))
    # Wait for the clock to pass the expiry (what is asserted is the refusal after it, not a duration).
    while datetime.now(timezone.utc) <= expires:
        time.sleep(0.2)
    assert listed(server, "apps")["short"]["expired"] is True
    p = pull(skopeo, server, certs, "apps/web:v1", robot("apps", "short", secret), tmp_path / "expired", check=False)
    assert_refused(p, "an expired token pulling apps/web", UNAUTHORIZED)
    user, _, password = robot("apps", "short", secret).partition(":")
    r = requests.get(server.url("/v2/apps/web/tags/list"), auth=(user, password), verify=server.verify, timeout=30)
    assert r.status_code == 401, describe(r)

    # Expiry is required, and at most a year ahead.
    p = server.cli("token", "scoped", "create", "apps", "long", "--repositories", "*", "--actions", "pull",
                   "--expires", "400d", check=False)
    assert p.returncode == 1 and "year" in p.stderr, p.stderr
    p = server.cli("token", "scoped", "create", "apps", "forever", "--repositories", "*", "--actions", "pull",
                   check=False)
    assert p.returncode != 0 and "--expires" in p.stderr, p.stderr
