"""The main flow of `/api/v1`, typed as a script would write it: bootstrap the first admin, create a user, a team,
a namespace and an application token through the API, push a multi-arch image with skopeo using that token, see
the tag in the API with its size and platforms, delete it through the API, and find that the registry no longer
serves it."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import quote

import requests

from ocihelpers import write_oci_layout


@dataclass
class API:
    """A small typed client of /api/v1."""

    base: str
    verify: Any
    auth: Optional[tuple[str, str]] = None
    token: Optional[str] = None

    def call(self, method: str, path: str, body: Optional[dict] = None, expect: int = 200) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        r = requests.request(method, f"{self.base}/api/v1{path}", json=body, auth=None if self.token else self.auth,
                             headers=headers, verify=self.verify, timeout=60)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        if r.status_code != 204:
            assert r.headers["Content-Type"].startswith("application/json"), r.headers
            return r.json()
        return None

    def as_token(self, token: str) -> "API":
        return API(self.base, self.verify, token=token)

    def as_user(self, name: str, password: str) -> "API":
        return API(self.base, self.verify, auth=(name, password))


def repo_path(name: str) -> str:
    return quote(name, safe="")


def test_bootstrap_to_push_to_delete_through_the_api(wharf_factory, skopeo, tmp_path):
    wharf = wharf_factory(tls=True, auth=True)
    anonymous = API(wharf.base_url, wharf.verify)

    # The first admin and their token, on an empty installation; then bootstrap is closed.
    root_password = secrets.token_urlsafe(16)
    boot = anonymous.call("POST", "/users/bootstrap", {"name": "root", "password": root_password}, expect=201)
    assert boot["user"]["admin"] is True and boot["user"]["name"] == "root"
    admin = anonymous.as_token(boot["token"]["secret"])
    anonymous.call("POST", "/users/bootstrap", {"name": "eve", "password": "eve-password"}, expect=403)

    # A developer, their team, a private namespace and a CI token.
    alice_password = secrets.token_urlsafe(16)
    alice_user = admin.call("POST", "/users", {"name": "alice", "password": alice_password, "email": "alice@example.org"},
                            expect=201)
    assert alice_user["admin"] is False and alice_user["email"] == "alice@example.org"
    alice = anonymous.as_user("alice", alice_password)
    team = alice.call("POST", "/teams", {"name": "web", "description": "the web team"}, expect=201)
    assert team["role"] == "owner"
    namespace = alice.call("POST", "/namespaces", {"name": "web", "team": "web", "visibility": "private",
                                                   "description": "Our *images*"}, expect=201)
    assert namespace["permissions"] == {"pull": True, "push": True, "delete": True, "manage": True}
    created = alice.call("POST", "/me/tokens", {"label": "ci", "expires_in_days": 30}, expect=201)
    ci = anonymous.as_token(created["secret"])
    assert ci.call("GET", "/me")["user"]["name"] == "alice"

    # skopeo pushes a two-platform image with the token as the password.
    layout = write_oci_layout(tmp_path / "src", "v1", platforms=["amd64", "arm64"], n_layers=2)
    certs = wharf.cert_dir(tmp_path / "certs")
    dest = f"docker://{wharf.host}/web/app:v1"
    skopeo("copy", "--all", "--dest-cert-dir", str(certs), "--dest-creds", f"alice:{created['secret']}",
           f"oci:{layout.path}:v1", dest)

    # The tag is there at once (the push wrote the catalogue), with its size and platforms.
    repository = ci.call("GET", f"/repositories/{repo_path('web/app')}")
    assert repository["tag_count"] == 1 and repository["size"] > 2 * 96 * 1024
    groups = ci.call("GET", f"/repositories/{repo_path('web/app')}/tags")["items"]
    assert len(groups) == 1
    group = groups[0]
    assert group["tags"] == ["v1"]
    assert group["digest"] == layout.top_digest
    assert group["size"] > 2 * 96 * 1024
    assert sorted(p["architecture"] for p in group["platforms"]) == ["amd64", "arm64"]
    assert all(p["os"] == "linux" and p["digest"].startswith("sha256:") and p["size"] > 0 for p in group["platforms"])
    detail = ci.call("GET", f"/repositories/{repo_path('web/app')}/tags/v1")
    assert detail["digest"] == layout.top_digest
    assert sorted(p["architecture"] for p in detail["platforms"]) == ["amd64", "arm64"]
    listed = ci.call("GET", "/namespaces/web/repositories")["items"]
    assert [r["name"] for r in listed] == ["web/app"]

    # Another user sees nothing of the private namespace.
    bob_password = secrets.token_urlsafe(16)
    admin.call("POST", "/users", {"name": "bob", "password": bob_password}, expect=201)
    bob = anonymous.as_user("bob", bob_password)
    bob.call("GET", f"/repositories/{repo_path('web/app')}", expect=404)
    bob.call("DELETE", f"/repositories/{repo_path('web/app')}/manifests/{layout.top_digest}", expect=404)

    # Deleted through the API: the registry no longer serves it, and the audit log says who did it.
    ci.call("DELETE", f"/repositories/{repo_path('web/app')}/manifests/{layout.top_digest}", expect=204)
    p = skopeo("inspect", "--cert-dir", str(certs), "--creds", f"alice:{created['secret']}", dest, check=False)
    assert p.returncode != 0 and "manifest unknown" in p.stderr.lower(), p.stderr
    assert ci.call("GET", f"/repositories/{repo_path('web/app')}/tags")["items"] == []
    activities = admin.call("GET", "/activities?namespace=web&type=repository.")["items"]
    actions = [(a["action"], a["actor"]) for a in activities]
    assert ("repository.delete", "alice") in actions and ("repository.push", "alice") in actions

    # Revoking the token ends it for the API and the registry alike.
    alice.call("DELETE", f"/me/tokens/{created['id']}", expect=204)
    ci.call("GET", "/me", expect=401)
    p = skopeo("list-tags", "--cert-dir", str(certs), "--creds", f"alice:{created['secret']}", f"docker://{wharf.host}/web/app",
               check=False)
    assert p.returncode != 0


def test_machines_stars_comments_search_and_webhooks_through_the_api(wharf_factory, skopeo, tmp_path):
    wharf = wharf_factory(tls=True, auth=True)
    anonymous = API(wharf.base_url, wharf.verify)
    boot = anonymous.call("POST", "/users/bootstrap", {"name": "root", "password": "root-password-1"}, expect=201)
    admin = anonymous.as_token(boot["token"]["secret"])
    admin.call("POST", "/teams", {"name": "ops"}, expect=201)
    admin.call("POST", "/namespaces", {"name": "ops", "team": "ops", "visibility": "private"}, expect=201)
    layout = write_oci_layout(tmp_path / "src", "v1", n_layers=1)
    certs = wharf.cert_dir(tmp_path / "certs")
    skopeo("copy", "--dest-cert-dir", str(certs), "--dest-creds", f"root:{boot['token']['secret']}", f"oci:{layout.path}:v1",
           f"docker://{wharf.host}/ops/tool:v1")

    # A pull-only scoped token for a cluster: it pulls, it cannot push, and the API refuses it.
    robot = admin.call("POST", "/namespaces/ops/tokens", {"name": "cluster", "repositories": "tool",
                                                          "expires_in_days": 30}, expect=201)
    assert robot["username"] == "robot$ops+cluster" and robot["actions"] == "pull"
    creds = f"{robot['username']}:{robot['secret']}"
    skopeo("inspect", "--cert-dir", str(certs), "--creds", creds, f"docker://{wharf.host}/ops/tool:v1")
    p = skopeo("copy", "--dest-cert-dir", str(certs), "--dest-creds", creds, f"oci:{layout.path}:v1",
               f"docker://{wharf.host}/ops/tool:v2", check=False)
    assert p.returncode != 0
    anonymous.as_user(robot["username"], robot["secret"]).call("GET", "/namespaces", expect=403)
    listed = admin.call("GET", "/namespaces/ops/tokens")["items"]
    assert [t["name"] for t in listed] == ["cluster"] and "secret" not in listed[0]
    admin.call("DELETE", f"/namespaces/ops/tokens/{robot['id']}", expect=204)
    p = skopeo("inspect", "--cert-dir", str(certs), "--creds", creds, f"docker://{wharf.host}/ops/tool:v1", check=False)
    assert p.returncode != 0

    # Stars, comments and search.
    path = repo_path("ops/tool")
    admin.call("PUT", f"/repositories/{path}/star", expect=204)
    assert admin.call("GET", f"/repositories/{path}")["starred"] is True
    assert [r["name"] for r in admin.call("GET", "/me/starred")["items"]] == ["ops/tool"]
    comment = admin.call("POST", f"/repositories/{path}/comments", {"body": "Built **nightly**"}, expect=201)
    assert [c["body"] for c in admin.call("GET", f"/repositories/{path}/comments")["items"]] == ["Built **nightly**"]
    admin.call("DELETE", f"/repositories/{path}/comments/{comment['id']}", expect=204)
    found = admin.call("GET", "/search?q=too")
    assert [r["name"] for r in found["repositories"]] == ["ops/tool"]
    assert anonymous.call("GET", "/search?q=too")["repositories"] == []
    statistics = admin.call("GET", "/statistics")
    assert statistics["counts"]["repositories"] == 1 and statistics["storage"]["bytes"] > 0

    # A namespace webhook through the API: created with its secret once, tested, listed with its deliveries.
    hook = admin.call("POST", "/webhooks", {"namespace": "ops", "name": "ci", "url": "http://127.0.0.1:9/hook",
                                            "events": ["push"], "headers": [{"name": "X-Team", "value": "ops"}]},
                      expect=201)
    assert len(hook["secret"]) >= 16 and hook["headers"] == ["X-Team"]
    assert "secret" not in admin.call("GET", f"/webhooks/{hook['id']}")
    result = admin.call("POST", f"/webhooks/{hook['id']}/test")
    assert result["delivered"] is False and result["error"]
    deliveries = admin.call("GET", f"/webhooks/{hook['id']}/deliveries")["items"]
    assert [d["event"] for d in deliveries] == ["ping"] and deliveries[0]["state"] == "failed"
    admin.call("DELETE", f"/webhooks/{hook['id']}", expect=204)
    admin.call("GET", f"/webhooks/{hook['id']}", expect=404)
