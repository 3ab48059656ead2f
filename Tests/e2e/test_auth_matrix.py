"""Who may do what through the real registry with token auth on.

Every cell of the permission matrix (subject x namespace visibility x action) is checked with real requests:
the client walks challenge -> /v2/token -> request like docker does (`V2Client(auth=...)`), and a few cells
are checked again with Basic credentials sent straight to /v2. Then: the global namespace, namespaces created
on push, the filtered catalogue, cross-repository mounts, and the token realm / Location behind proxies.

The expected matrix is written out below as data; the variants (contributors delete, admin-only push,
no anonymous pull) are written as the rows that differ from the default table.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Optional

import pytest
import requests

from conftest import Wharf, free_port
from ocihelpers import (MT_OCI_CONFIG, MT_OCI_LAYER_GZIP, MT_OCI_MANIFEST, V2Client, describe, error_codes,
                        parse_challenge, relative_location, sha256)

# --------------------------------------------------------------------------- the expected matrix

# Subjects (set up in `_setup_matrix`):
#   anonymous    no credentials (anonymous token flow)
#   user         carol, a user with no role in team acme
#   viewer       vic, viewer of team acme
#   contributor  connie, contributor of team acme
#   owner        olga, owner of team acme
#   admin        root, created with --admin
#   bot          robo, a --bot account, contributor of team acme
#   service      portus, the service account (WHARF_AUTH_SERVICE_PASSWORD)
#   apptoken     connie's application token used as her password
# Namespaces `private`, `protected`, `public` (that visibility) are all owned by team acme; each holds the
# repository <ns>/app with tag v1, pushed by the admin.
#
# Columns: pull = GET manifest v1; push = POST upload + PUT manifest of a new tag; delete = DELETE manifest by
# digest of a fresh throwaway image; catalog = GET /v2/_catalog lists <ns>/app.   Y = allowed, - = refused.

DEFAULT_MATRIX = """
subject      visibility  pull push delete catalog
anonymous    private     -    -    -      -
anonymous    protected   -    -    -      -
anonymous    public      Y    -    -      Y
user         private     -    -    -      -
user         protected   Y    -    -      Y
user         public      Y    -    -      Y
viewer       private     Y    -    -      Y
viewer       protected   Y    -    -      Y
viewer       public      Y    -    -      Y
contributor  private     Y    Y    -      Y
contributor  protected   Y    Y    -      Y
contributor  public      Y    Y    -      Y
owner        private     Y    Y    Y      Y
owner        protected   Y    Y    Y      Y
owner        public      Y    Y    Y      Y
admin        private     Y    Y    Y      Y
admin        protected   Y    Y    Y      Y
admin        public      Y    Y    Y      Y
bot          private     Y    Y    -      Y
bot          protected   Y    Y    -      Y
bot          public      Y    Y    -      Y
service      private     Y    -    -      Y
service      protected   Y    -    -      Y
service      public      Y    -    -      Y
apptoken     private     Y    Y    -      Y
apptoken     protected   Y    Y    -      Y
apptoken     public      Y    Y    -      Y
"""

# WHARF_PERMISSIONS_CONTRIBUTORS_DELETE=on: contributors (and the bot and app token acting as one) delete.
CONTRIBUTORS_DELETE_ROWS = """
subject      visibility  pull push delete catalog
contributor  private     Y    Y    Y      Y
contributor  protected   Y    Y    Y      Y
contributor  public      Y    Y    Y      Y
bot          private     Y    Y    Y      Y
bot          protected   Y    Y    Y      Y
bot          public      Y    Y    Y      Y
apptoken     private     Y    Y    Y      Y
apptoken     protected   Y    Y    Y      Y
apptoken     public      Y    Y    Y      Y
"""

# WHARF_PERMISSIONS_PUSH_POLICY=admin-only: only the admin pushes (owners still delete).
ADMIN_ONLY_ROWS = """
subject      visibility  pull push delete catalog
contributor  private     Y    -    -      Y
contributor  protected   Y    -    -      Y
contributor  public      Y    -    -      Y
owner        private     Y    -    Y      Y
owner        protected   Y    -    Y      Y
owner        public      Y    -    Y      Y
bot          private     Y    -    -      Y
bot          protected   Y    -    -      Y
bot          public      Y    -    -      Y
apptoken     private     Y    -    -      Y
apptoken     protected   Y    -    -      Y
apptoken     public      Y    -    -      Y
"""

# WHARF_AUTH_ANONYMOUS_PULL=off: anonymous pulls nothing, public included (and gets no catalogue).
NO_ANONYMOUS_PULL_ROWS = """
subject      visibility  pull push delete catalog
anonymous    public      -    -    -      -
"""

ACTIONS = ("pull", "push", "delete", "catalog")
SUBJECTS = ("anonymous", "user", "viewer", "contributor", "owner", "admin", "bot", "service", "apptoken")
VISIBILITIES = ("private", "protected", "public")


def parse_table(text: str) -> dict[tuple[str, str], dict[str, bool]]:
    lines = [l.split() for l in text.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    assert header == ["subject", "visibility", *ACTIONS], header
    out = {}
    for row in rows:
        assert len(row) == len(header) and all(c in "Y-" for c in row[2:]), row
        assert row[0] in SUBJECTS and row[1] in VISIBILITIES, row
        out[(row[0], row[1])] = {a: c == "Y" for a, c in zip(ACTIONS, row[2:])}
    return out


def matrix(*overrides: str) -> dict[tuple[str, str], dict[str, bool]]:
    m = parse_table(DEFAULT_MATRIX)
    assert set(m) == {(s, v) for s in SUBJECTS for v in VISIBILITIES}, "the default table must be complete"
    for o in overrides:
        m.update(parse_table(o))
    return m


SERVICE_PASSWORD = "service-secret-123"

CONFIGS = {
    "default": ({}, matrix()),
    "contributors-delete": ({"WHARF_PERMISSIONS_CONTRIBUTORS_DELETE": "on"}, matrix(CONTRIBUTORS_DELETE_ROWS)),
    "push-admin-only": ({"WHARF_PERMISSIONS_PUSH_POLICY": "admin-only"}, matrix(ADMIN_ONLY_ROWS)),
    "no-anonymous-pull": ({"WHARF_AUTH_ANONYMOUS_PULL": "off"}, matrix(NO_ANONYMOUS_PULL_ROWS)),
}

PASSWORDS = {"root": "root-pass-1", "carol": "carol-pass-1", "vic": "vic-pass-12", "connie": "connie-pass-1",
             "olga": "olga-pass-12", "robo": "robo-pass-12", "alice": "alice-pass-1", "bob": "bob-pass-123"}

# --------------------------------------------------------------------------- helpers


def push_image(client: V2Client, repo: str, tag: str) -> tuple[str, list[requests.Response]]:
    """Push a fresh tiny image (unique config + layer) as repo:tag. Returns (manifest digest, responses); asserts
    nothing: the caller decides. The digest is '' when a step failed; the last response tells why."""
    seen = []
    salt = os.urandom(8).hex()
    config = json.dumps({"architecture": "amd64", "os": "linux", "salt": salt,
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    layer = b"layer " + salt.encode()
    for data in (config, layer):
        r = client.post(f"/v2/{repo}/blobs/uploads/")
        seen.append(r)
        if r.status_code != 202:
            return "", seen
        r = client.put(relative_location(r), params={"digest": sha256(data)}, data=data,
                       headers={"Content-Type": "application/octet-stream"})
        seen.append(r)
        if r.status_code != 201:
            return "", seen
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
        "config": {"mediaType": MT_OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": MT_OCI_LAYER_GZIP, "digest": sha256(layer), "size": len(layer)}],
    }).encode()
    r = client.put(f"/v2/{repo}/manifests/{tag}", data=manifest, headers={"Content-Type": MT_OCI_MANIFEST})
    seen.append(r)
    if r.status_code != 201:
        return "", seen
    return sha256(manifest), seen


def admin_push(server: Wharf, repo: str, tag: str) -> str:
    client = V2Client(server, auth=("root", PASSWORDS["root"]))
    digest, seen = push_image(client, repo, tag)
    assert digest, "admin push failed: " + describe(seen[-1])
    return digest


def denied_as_expected(r: requests.Response, anonymous: bool) -> Optional[str]:
    """None when `r` is the contract's refusal: 401 UNAUTHORIZED for anonymous callers, 403 DENIED with a reason
    in `detail` for everyone else (the token flow already happened, so insufficient_scope is not expected)."""
    if anonymous:
        if r.status_code == 401 and "UNAUTHORIZED" in error_codes(r) \
                and r.headers.get("WWW-Authenticate", "").lower().startswith("bearer "):
            return None
        return "expected 401 UNAUTHORIZED with a Bearer challenge: " + describe(r)
    if r.status_code != 403 or "DENIED" not in error_codes(r):
        return "expected 403 DENIED: " + describe(r)
    details = [e.get("detail") for e in r.json()["errors"]]
    if not any(isinstance(d, str) and d.strip() for d in details):
        return "403 DENIED without a reason in detail: " + describe(r)
    return None


def catalog(client: V2Client, n: Optional[int] = None) -> tuple[list[str], list[requests.Response]]:
    """Every repository of /v2/_catalog, following Link pages. ([], [resp]) when refused."""
    names, pages = [], []
    path = "/v2/_catalog" + (f"?n={n}" if n else "")
    for _ in range(200):
        r = client.get(path)
        pages.append(r)
        if r.status_code != 200:
            return names, pages
        names += r.json().get("repositories") or []
        link = r.headers.get("Link")
        if not link:
            return names, pages
        m = re.match(r"\s*<([^>]+)>", link)
        assert m, f"unparsable Link {link!r}"
        path = m.group(1)
    raise AssertionError("catalogue paging did not end")


def namespace_rows(server: Wharf) -> dict[str, str]:
    out = {}
    for line in server.cli("namespace", "list").stdout.splitlines():
        if line.strip():
            name, _, rest = line.partition(" ")
            out[name] = rest
    return out


# --------------------------------------------------------------------------- the matrix


def _setup_matrix(server: Wharf) -> dict[str, tuple]:
    """Accounts, team acme, its three namespaces with <ns>/app:v1. Returns subject -> V2Client auth tuple."""
    # the admin first: otherwise the first user to log in would become admin
    server.create_user("root", PASSWORDS["root"], "--admin")
    for name in ("carol", "vic", "connie", "olga"):
        server.create_user(name, PASSWORDS[name])
    server.create_user("robo", PASSWORDS["robo"], "--bot")
    server.cli("team", "create", "acme")
    for name, role in (("vic", "viewer"), ("connie", "contributor"), ("olga", "owner"), ("robo", "contributor")):
        server.cli("team", "add", "acme", name, "--role", role)
    for vis in VISIBILITIES:
        server.cli("namespace", "create", vis, "--team", "acme", "--visibility", vis)
    app_token = server.cli("token", "create", "connie", "--name", "ci").stdout.strip().splitlines()[-1].strip()
    assert app_token.startswith("wharf_"), app_token
    for vis in VISIBILITIES:
        admin_push(server, f"{vis}/app", "v1")
    return {
        "anonymous": (None, None),
        "user": ("carol", PASSWORDS["carol"]),
        "viewer": ("vic", PASSWORDS["vic"]),
        "contributor": ("connie", PASSWORDS["connie"]),
        "owner": ("olga", PASSWORDS["olga"]),
        "admin": ("root", PASSWORDS["root"]),
        "bot": ("robo", PASSWORDS["robo"]),
        "service": ("portus", SERVICE_PASSWORD),
        "apptoken": ("connie", app_token),
    }


class MatrixServer:
    def __init__(self, server: Wharf, creds: dict, expected: dict, config_env: dict):
        self.server, self.creds, self.expected, self.config_env = server, creds, expected, config_env
        # one admin client for the whole module (a password login costs ~0.4 s in a debug build)
        self.admin = V2Client(server, auth=creds["admin"])
        # a fresh throwaway image per delete check, pushed up front: (subject, visibility) -> manifest digest
        self.victims = {}
        for subject in SUBJECTS:
            for vis in VISIBILITIES:
                digest, seen = push_image(self.admin, f"{vis}/app", f"throwaway-{subject}")
                assert digest, "admin push failed: " + describe(seen[-1])
                self.victims[(subject, vis)] = digest


@pytest.fixture(scope="module", params=list(CONFIGS))
def matrix_server(request, tmp_path_factory):
    config_env, expected = CONFIGS[request.param]
    work = tmp_path_factory.mktemp(f"wharf-matrix-{request.param}")
    env = {"WHARF_AUTH_SERVICE_PASSWORD": SERVICE_PASSWORD, **config_env}
    server = Wharf(work / "data", free_port(), True, work / "wharf.log", auth=True, env=env)
    server.start()
    try:
        creds = _setup_matrix(server)
        yield MatrixServer(server, creds, expected, config_env)
    finally:
        server.stop()


def _cell_ids():
    return [f"{s}-{v}" for s in SUBJECTS for v in VISIBILITIES]


@pytest.mark.parametrize("cell", _cell_ids())
def test_permission_matrix(matrix_server, cell):
    subject, vis = cell.rsplit("-", 1)
    ms = matrix_server
    server, expected = ms.server, ms.expected[(subject, vis)]
    anonymous = subject == "anonymous"
    repo = f"{vis}/app"
    problems = []

    def client():  # a fresh client (fresh token flow) per action
        return V2Client(server, auth=ms.creds[subject])

    # pull
    r = client().get(f"/v2/{repo}/manifests/v1", headers={"Accept": MT_OCI_MANIFEST})
    if expected["pull"]:
        if r.status_code != 200:
            problems.append(f"pull: expected 200: {describe(r)}")
    else:
        why = denied_as_expected(r, anonymous)
        if why:
            problems.append("pull: " + why)

    # push (a new tag)
    digest, seen = push_image(client(), repo, f"by-{subject}")
    if expected["push"]:
        if not digest:
            problems.append(f"push: expected success: {describe(seen[-1])}")
    else:
        if digest:
            problems.append(f"push: expected refusal, but it succeeded ({digest})")
        else:
            if len(seen) != 1:
                problems.append(f"push: the upload POST should be refused, not a later step: {describe(seen[-1])}")
            why = denied_as_expected(seen[-1], anonymous)
            if why:
                problems.append("push: " + why)

    # delete (a fresh throwaway image pushed by the admin)
    victim = ms.victims[(subject, vis)]
    r = client().delete(f"/v2/{repo}/manifests/{victim}")
    still_there = ms.admin.get(f"/v2/{repo}/manifests/{victim}", headers={"Accept": MT_OCI_MANIFEST}).status_code
    if expected["delete"]:
        if r.status_code != 202:
            problems.append(f"delete: expected 202: {describe(r)}")
        elif still_there != 404:
            problems.append(f"delete: answered 202 but the manifest still answers {still_there}")
    else:
        why = denied_as_expected(r, anonymous)
        if why:
            problems.append("delete: " + why)
        if still_there != 200:
            problems.append(f"delete: refused, yet the manifest answers {still_there} afterwards")

    # catalog
    names, pages = catalog(client())
    anonymous_refused = anonymous and ms.config_env.get("WHARF_AUTH_ANONYMOUS_PULL") == "off"
    if anonymous_refused:
        if pages[-1].status_code != 401:
            problems.append(f"catalog: anonymous without anonymous_pull should get 401: {describe(pages[-1])}")
    elif pages[-1].status_code != 200:
        problems.append(f"catalog: expected 200: {describe(pages[-1])}")
    if (repo in names) != expected["catalog"]:
        problems.append(f"catalog: expected {repo} {'listed' if expected['catalog'] else 'not listed'}; "
                        f"got {names}")

    assert not problems, f"{subject} on {vis} ({ms.config_env or 'default config'}):\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------- Basic credentials straight to /v2


def test_basic_credentials_direct(wharf_factory):
    server = wharf_factory(tls=True, auth=True, env={"WHARF_AUTH_SERVICE_PASSWORD": SERVICE_PASSWORD})
    creds = _setup_matrix(server)

    def req(method, path, who, **kw):
        return requests.request(method, server.url(path), auth=creds[who], verify=server.verify, timeout=30,
                                **kw)

    mt = {"Accept": MT_OCI_MANIFEST}
    # pull
    assert req("GET", "/v2/private/app/manifests/v1", "contributor", headers=mt).status_code == 200
    assert req("GET", "/v2/private/app/manifests/v1", "viewer", headers=mt).status_code == 200
    assert req("GET", "/v2/private/app/manifests/v1", "apptoken", headers=mt).status_code == 200
    assert req("GET", "/v2/private/app/manifests/v1", "service", headers=mt).status_code == 200
    assert req("GET", "/v2/protected/app/manifests/v1", "user", headers=mt).status_code == 200
    r = req("GET", "/v2/private/app/manifests/v1", "user", headers=mt)
    assert denied_as_expected(r, anonymous=False) is None, describe(r)
    # push: upload session opened for a contributor, refused for a viewer and the service account
    r = req("POST", "/v2/private/app/blobs/uploads/", "contributor")
    assert r.status_code == 202, describe(r)
    r = req("POST", "/v2/private/app/blobs/uploads/", "bot")
    assert r.status_code == 202, describe(r)
    for who in ("viewer", "service", "user"):
        r = req("POST", "/v2/private/app/blobs/uploads/", who)
        assert denied_as_expected(r, anonymous=False) is None, f"{who}: {describe(r)}"
    # delete: owner yes, contributor no
    victim = admin_push(server, "private/app", "basic-victim")
    r = req("DELETE", f"/v2/private/app/manifests/{victim}", "contributor")
    assert denied_as_expected(r, anonymous=False) is None, describe(r)
    r = req("DELETE", f"/v2/private/app/manifests/{victim}", "owner")
    assert r.status_code == 202, describe(r)
    # catalog: the service account sees everything, carol not the private namespace
    r = req("GET", "/v2/_catalog", "service")
    assert r.status_code == 200 and {"private/app", "protected/app", "public/app"} <= set(r.json()["repositories"]), \
        describe(r)
    r = req("GET", "/v2/_catalog", "user")
    assert r.status_code == 200, describe(r)
    assert "private/app" not in r.json()["repositories"] and "protected/app" in r.json()["repositories"], describe(r)
    # wrong password: 401 with a challenge, whatever the resource
    r = requests.get(server.url("/v2/public/app/manifests/v1"), auth=("connie", "wrong-password"),
                     verify=server.verify, timeout=30, headers=mt)
    assert r.status_code == 401, describe(r)
    assert r.headers.get("WWW-Authenticate", "").lower().startswith("bearer "), r.headers


# --------------------------------------------------------------------------- global namespace


def test_global_namespace(wharf_factory):
    server = wharf_factory(tls=True, auth=True)
    server.create_user("root", PASSWORDS["root"], "--admin")
    server.create_user("carol", PASSWORDS["carol"])
    admin_push(server, "globalapp", "v1")

    carol = V2Client(server, auth=("carol", PASSWORDS["carol"]))
    r = carol.get("/v2/globalapp/manifests/v1", headers={"Accept": MT_OCI_MANIFEST})
    assert r.status_code == 200, describe(r)

    digest, seen = push_image(V2Client(server, auth=("carol", PASSWORDS["carol"])), "globalapp", "carols")
    assert not digest, "a plain user pushed into the global namespace"
    assert len(seen) == 1 and seen[0].status_code == 403 and "DENIED" in error_codes(seen[0]), describe(seen[0])
    detail = " ".join(str(e.get("detail") or "") for e in seen[0].json()["errors"])
    assert detail.strip(), f"403 DENIED without a reason: {describe(seen[0])}"

    anon = V2Client(server, auth=(None, None))
    r = anon.get("/v2/globalapp/manifests/v1", headers={"Accept": MT_OCI_MANIFEST})
    assert r.status_code == 401 and "UNAUTHORIZED" in error_codes(r), describe(r)


# --------------------------------------------------------------------------- namespaces created on push


def test_push_creates_namespace(wharf_factory):
    server = wharf_factory(tls=True, auth=True)
    server.create_user("root", PASSWORDS["root"], "--admin")
    server.create_user("alice", PASSWORDS["alice"])
    server.create_user("bob", PASSWORDS["bob"])
    assert "newteam" not in namespace_rows(server)

    alice = V2Client(server, auth=("alice", PASSWORDS["alice"]))
    digest, seen = push_image(alice, "newteam/app", "v1")
    assert digest, describe(seen[-1])
    r = alice.get("/v2/newteam/app/manifests/v1", headers={"Accept": MT_OCI_MANIFEST})
    assert r.status_code == 200, describe(r)

    ns = namespace_rows(server)
    assert "newteam" in ns, ns
    assert "kind=team" in ns["newteam"].split() and "team=newteam" in ns["newteam"].split(), ns["newteam"]
    assert "visibility=private" in ns["newteam"].split(), ns["newteam"]
    teams = {l.split()[0]: l for l in server.cli("team", "list").stdout.splitlines() if l.strip()}
    assert "newteam" in teams and re.search(r"\balice:owner\b", teams["newteam"]), teams

    bob = V2Client(server, auth=("bob", PASSWORDS["bob"]))
    r = bob.get("/v2/newteam/app/manifests/v1", headers={"Accept": MT_OCI_MANIFEST})
    assert denied_as_expected(r, anonymous=False) is None, describe(r)


def test_create_on_push_off(wharf_factory):
    server = wharf_factory(tls=True, auth=True, env={"WHARF_NAMESPACES_CREATE_ON_PUSH": "off"})
    server.create_user("root", PASSWORDS["root"], "--admin")
    server.create_user("alice", PASSWORDS["alice"])
    teams_before = server.cli("team", "list").stdout

    alice = V2Client(server, auth=("alice", PASSWORDS["alice"]))
    digest, seen = push_image(alice, "other/app", "v1")
    assert not digest, "the push into a missing namespace succeeded with create_on_push off"
    r = seen[-1]
    assert len(seen) == 1 and r.status_code == 403, describe(r)
    body = r.json()
    assert [e["code"] for e in body["errors"]] == ["DENIED"], body
    assert "other" in re.findall(r"[a-z0-9-]+", body["errors"][0]["detail"]), body

    # the manifest PUT alone is refused the same way
    r = alice.put("/v2/other/app/manifests/v1", data=b"{}", headers={"Content-Type": MT_OCI_MANIFEST})
    assert r.status_code == 403 and "DENIED" in error_codes(r), describe(r)

    assert "other" not in namespace_rows(server)
    assert server.cli("team", "list").stdout == teams_before
    repo_dir = server.data_dir / "registry" / "docker" / "registry" / "v2" / "repositories" / "other"
    assert not repo_dir.exists(), sorted(str(p) for p in repo_dir.rglob("*"))

    # her own namespace still works, so the refusal is about `other`
    digest, seen = push_image(alice, "alice/app", "v1")
    assert digest, describe(seen[-1])


# --------------------------------------------------------------------------- catalogue


def test_catalog_filtering(wharf_factory):
    server = wharf_factory(tls=True, auth=True)
    server.create_user("root", PASSWORDS["root"], "--admin")
    server.create_user("alice", PASSWORDS["alice"])
    server.create_user("bob", PASSWORDS["bob"])
    server.cli("team", "create", "shop")
    server.cli("team", "add", "shop", "alice", "--role", "viewer")
    server.cli("team", "create", "other")
    for ns, team, vis in (("shop", "shop", "private"), ("secret", "other", "private"),
                          ("docs", "other", "protected"), ("open", "other", "public")):
        server.cli("namespace", "create", ns, "--team", team, "--visibility", vis)
    repos = ["alice/tool", "bob/tool", "docs/a", "docs/b", "open/a", "open/b", "secret/a", "secret/b",
             "shop/a", "shop/b", "toplevel"]
    for repo in repos:
        admin_push(server, repo, "v1")

    everything = sorted(repos)
    alice_may = sorted(["alice/tool", "docs/a", "docs/b", "open/a", "open/b", "shop/a", "shop/b", "toplevel"])
    anonymous_may = ["open/a", "open/b"]

    for who, auth, want in (("admin", ("root", PASSWORDS["root"]), everything),
                            ("alice", ("alice", PASSWORDS["alice"]), alice_may),
                            ("anonymous", (None, None), anonymous_may)):
        names, pages = catalog(V2Client(server, auth=auth))
        assert pages[-1].status_code == 200, describe(pages[-1])
        assert sorted(names) == want, f"{who}: {names}"
        names, pages = catalog(V2Client(server, auth=auth), n=1)
        assert all(p.status_code == 200 for p in pages), [describe(p) for p in pages]
        assert all(len(p.json().get("repositories") or []) <= 1 for p in pages), [p.text for p in pages]
        assert sorted(names) == want, f"{who} with n=1: {names}"


# --------------------------------------------------------------------------- mounts


def test_mounts_only_from_pullable_repositories(wharf_factory):
    server = wharf_factory(tls=True, auth=True)
    server.create_user("root", PASSWORDS["root"], "--admin")
    server.create_user("alice", PASSWORDS["alice"])
    server.create_user("bob", PASSWORDS["bob"])
    alice = V2Client(server, auth=("alice", PASSWORDS["alice"]))
    secret = b"only in alice/private " + os.urandom(16)
    d = alice.push_blob(secret, name="alice/private")

    bob = V2Client(server, auth=("bob", PASSWORDS["bob"]))
    # like docker, ask for pull on the source too (it is silently dropped for bob)
    bob.session.auth.scopes.append("repository:alice/private:pull")
    r = bob.post(f"/v2/bob/app/blobs/uploads/?mount={d}&from=alice/private")
    assert r.status_code == 202, describe(r)
    assert "/blobs/uploads/" in r.headers.get("Location", ""), describe(r)
    r = bob.post(f"/v2/bob/app/blobs/uploads/?mount={d}")
    assert r.status_code == 202, describe(r)
    assert "/blobs/uploads/" in r.headers.get("Location", ""), describe(r)
    r = bob.head(f"/v2/bob/app/blobs/{d}")
    assert r.status_code == 404, f"the blob leaked into bob/app: {describe(r)}"
    r = bob.get(f"/v2/alice/private/blobs/{d}")
    assert r.status_code == 403, describe(r)

    alice.session.auth.scopes.append("repository:alice/private:pull")
    r = alice.post(f"/v2/alice/copy/blobs/uploads/?mount={d}&from=alice/private")
    assert r.status_code == 201, describe(r)
    assert r.headers.get("Docker-Content-Digest") == d, describe(r)
    r = alice.get(f"/v2/alice/copy/blobs/{d}")
    assert r.status_code == 200 and r.content == secret, describe(r)

    # the same with Basic credentials straight to /v2 (the caller's rules decide, no token scopes involved)
    def basic_post(who, path):
        return requests.post(server.url(path), auth=(who, PASSWORDS[who]), verify=server.verify, timeout=30)

    r = basic_post("bob", f"/v2/bob/app/blobs/uploads/?mount={d}&from=alice/private")
    assert r.status_code == 202 and "Docker-Content-Digest" not in r.headers, describe(r)
    r = basic_post("alice", f"/v2/alice/copy2/blobs/uploads/?mount={d}&from=alice/private")
    assert r.status_code == 201 and r.headers.get("Docker-Content-Digest") == d, describe(r)
    r = bob.head(f"/v2/bob/app/blobs/{d}")
    assert r.status_code == 404, f"the blob leaked into bob/app: {describe(r)}"


def test_insufficient_scope_versus_denied(wharf_factory):
    """A token lacking an action: 401 insufficient_scope when the caller's rules would grant it (ask again),
    403 DENIED with a reason when they would not."""
    server = wharf_factory(tls=True, auth=True)
    server.create_user("root", PASSWORDS["root"], "--admin")
    server.create_user("alice", PASSWORDS["alice"])
    r = requests.get(server.url("/v2/token"), params={"service": "wharf", "scope": "repository:alice/x:pull"},
                     auth=("alice", PASSWORDS["alice"]), verify=server.verify, timeout=30)
    assert r.status_code == 200, describe(r)
    bearer = {"Authorization": "Bearer " + r.json()["token"]}

    r = requests.post(server.url("/v2/alice/x/blobs/uploads/"), headers=bearer, verify=server.verify, timeout=30)
    assert r.status_code == 401 and "UNAUTHORIZED" in error_codes(r), describe(r)
    scheme, params = parse_challenge(r.headers.get("WWW-Authenticate", ""))
    assert scheme == "bearer" and params.get("error") == "insufficient_scope", r.headers
    assert params.get("scope") == "repository:alice/x:pull,push", params

    r = requests.post(server.url("/v2/root/x/blobs/uploads/"), headers=bearer, verify=server.verify, timeout=30)
    assert denied_as_expected(r, anonymous=False) is None, describe(r)
    assert "root/x" in r.json()["errors"][0]["detail"], describe(r)


# --------------------------------------------------------------------------- realm and Location


def _challenge(server: Wharf, headers=None) -> dict:
    r = requests.get(server.url("/v2/"), verify=server.verify, timeout=30, headers=headers or {})
    assert r.status_code == 401, describe(r)
    scheme, params = parse_challenge(r.headers.get("WWW-Authenticate", ""))
    assert scheme == "bearer", r.headers
    return params


def _upload_location(server: Wharf, headers=None) -> str:
    r = requests.post(server.url("/v2/root/app/blobs/uploads/"), auth=("root", PASSWORDS["root"]),
                      verify=server.verify, timeout=30, headers=headers or {})
    assert r.status_code == 202, describe(r)
    return r.headers["Location"]


def test_realm_and_location_with_external_url(wharf_factory):
    server = wharf_factory(tls=True, auth=True, env={"WHARF_EXTERNAL_URL": "https://registry.example.test"})
    server.create_user("root", PASSWORDS["root"], "--admin")
    assert _challenge(server)["realm"] == "https://registry.example.test/v2/token"
    params = _challenge(server, {"X-Forwarded-Proto": "http", "X-Forwarded-Host": "elsewhere.example"})
    assert params["realm"] == "https://registry.example.test/v2/token", params
    loc = _upload_location(server)
    assert loc.startswith("https://registry.example.test/v2/root/app/blobs/uploads/"), loc


def test_realm_from_trusted_forwarded_headers(wharf_factory):
    server = wharf_factory(tls=True, auth=True)
    server.create_user("root", PASSWORDS["root"], "--admin")
    fwd = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "public.example:8443"}
    assert _challenge(server, fwd)["realm"] == "https://public.example:8443/v2/token"
    loc = _upload_location(server, fwd)
    assert loc.startswith("https://public.example:8443/v2/root/app/blobs/uploads/"), loc
    # without the headers: the request's own host, and a relative Location
    assert _challenge(server)["realm"] == f"https://{server.host}/v2/token"
    loc = _upload_location(server)
    assert loc.startswith("/v2/root/app/blobs/uploads/"), loc


def test_forwarded_headers_from_untrusted_peer_ignored(wharf_factory):
    server = wharf_factory(tls=True, auth=True, env={"WHARF_TRUSTED_PROXIES": "10.0.0.0/8"})
    server.create_user("root", PASSWORDS["root"], "--admin")
    fwd = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "public.example:8443"}
    assert _challenge(server, fwd)["realm"] == f"https://{server.host}/v2/token"
    loc = _upload_location(server, fwd)
    assert "public.example" not in loc and loc.startswith("/v2/root/app/blobs/uploads/"), loc
