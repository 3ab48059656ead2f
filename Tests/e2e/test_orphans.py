"""Repositories whose namespace has no owner, black-box against a real `wharf serve` with auth on.

The attack of issue 9 (item 1): `wharf user delete dave` used to remove dave's namespace row and leave dave/*
in storage, where any logged-in user could then pull it and, by pushing, make `dave` their own namespace.
Now deleting a user with repositories needs a decision (--transfer-to TEAM or --delete-repositories), and
content in storage without a namespace row (left behind, or from a distribution folder served before Wharf)
is admins' only (the service account reads it) until `wharf namespace adopt` gives it an owner.

And the namespace existence rule: a caller who may neither see a namespace nor create one gets the same answer
for a namespace that does not exist as for one they may not see.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import requests

from conftest import Wharf
from ocihelpers import describe, error_codes, sha256
from test_auth_security import ALICE, BOB, ROOT, access_of, assert_refused, call, get_token, granted, \
    pull_manifest, push_blob, push_image, start, token_response

SERVICE = ("portus", "svc-secret-pass-4242")
DAVE = ("dave", "dave-pass-1234")


def repositories_dir(w: Wharf) -> Path:
    return w.registry_dir / "docker" / "registry" / "v2" / "repositories"


def namespaces(w: Wharf) -> dict[str, dict[str, str]]:
    out = {}
    for line in w.cli("namespace", "list").stdout.splitlines():
        name, *fields = line.split()
        out[name] = dict(f.split("=", 1) for f in fields)
    return out


def user_names(w: Wharf) -> set[str]:
    return {line.split()[0] for line in w.cli("user", "list").stdout.splitlines()}


def one_line_failure(p) -> str:
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 1 and len(lines) == 1, (p.returncode, p.stdout, p.stderr)
    return lines[0]


def catalog(w: Wharf, creds) -> list[str]:
    tok = get_token(w, creds, "registry:catalog:*")
    r = call(w, "GET", "/v2/_catalog", tok)
    assert r.status_code == 200, describe(r)
    return r.json()["repositories"]


def leave_without_owner(w: Wharf, source: str, target: str) -> None:
    """Copy repository `source`'s folder to `target` in storage, as a distribution folder from before Wharf
    would hold it: content whose namespace has no row (the blobs it links are in the shared blob store)."""
    shutil.copytree(repositories_dir(w) / source, repositories_dir(w) / target)


def test_deleting_a_user_with_repositories_needs_a_decision(wharf_factory):
    """dave pushes dave/secret and dave/a; `wharf user delete dave` refuses, listing them, and changes nothing;
    --transfer-to hands the namespace to a team (keeping its visibility), whose members then pull it."""
    w = start(wharf_factory)
    w.create_user(*DAVE)
    push_image(w, DAVE, "dave/secret")
    push_image(w, DAVE, "dave/a")

    p = w.cli("user", "delete", "dave", check=False)
    line = one_line_failure(p)
    assert line == ("wharf: user dave's namespace holds 2 repositories (dave/a, dave/secret): "
                    "add --transfer-to TEAM or --delete-repositories"), line
    assert "dave" in user_names(w) and namespaces(w)["dave"]["kind"] == "personal"
    # nothing is exposed meanwhile: alice gets no access to dave's private repository
    assert granted(get_token(w, ALICE, "repository:dave/secret:pull,push"), "repository", "dave/secret") == set()

    w.cli("team", "create", "ops", "--owner", "bob")
    w.cli("namespace", "set", "dave", "--visibility", "private")
    out = w.cli("user", "delete", "dave", "--transfer-to", "ops").stdout
    assert "namespace dave now belongs to team ops" in out and "dave/secret" in out, out
    assert "dave" not in user_names(w)
    assert namespaces(w)["dave"] == {"kind": "team", "visibility": "private", "team": "ops"}
    assert_refused(token_response(w, DAVE), (401,), "deleted dave")
    bob = get_token(w, BOB, "repository:dave/secret:pull")
    assert pull_manifest(w, bob, "dave/secret").status_code == 200
    assert granted(get_token(w, ALICE, "repository:dave/secret:pull,push"), "repository", "dave/secret") == set()


def test_delete_repositories_removes_tags_and_manifests(wharf_factory):
    """--delete-repositories removes the repository folders (blobs stay for garbage collection); nothing is
    left to read, and the name is free for a new user."""
    w = start(wharf_factory)
    w.create_user(*DAVE)
    digest = push_image(w, DAVE, "dave/secret")
    blobs_before = sorted(p.name for p in (w.registry_dir / "docker" / "registry" / "v2" / "blobs").rglob("*"))
    out = w.cli("user", "delete", "dave", "--delete-repositories").stdout
    assert "dave/secret" in out, out
    assert not (repositories_dir(w) / "dave").exists()
    assert sorted(p.name for p in (w.registry_dir / "docker" / "registry" / "v2" / "blobs").rglob("*")) == blobs_before
    assert "dave" not in namespaces(w)
    for creds in (ALICE, ROOT):
        tok = get_token(w, creds, "repository:dave/secret:pull")
        assert pull_manifest(w, tok, "dave/secret").status_code == 404
        assert call(w, "GET", f"/v2/dave/secret/manifests/{digest}", tok).status_code == 404
    w.create_user(*DAVE)
    assert namespaces(w)["dave"]["kind"] == "personal"


def test_content_without_an_owner_is_admins_only_until_adopted(wharf_factory):
    """The attack on content left without an owner: another user gets no pull (the token grants nothing, /v2
    refuses), cannot push (DENIED, saying an admin must adopt it) and so cannot claim the namespace, and does
    not see it in the catalogue; the admin and the service account pull it; once adopted for a team, the
    team's members pull it."""
    w = start(wharf_factory, env={"WHARF_AUTH_SERVICE_PASSWORD": SERVICE[1]})
    push_image(w, ALICE, "alice/app")
    leave_without_owner(w, "alice/app", "legacy/secret")
    # Written behind the server's back: the catalogue has it from the next sync pass, here one asked for now.
    w.cli("sync")

    tok = get_token(w, BOB, "repository:legacy/secret:pull,push")
    assert granted(tok, "repository", "legacy/secret") == set(), access_of(tok)
    assert_refused(pull_manifest(w, tok, "legacy/secret"), (401, 403), "bob pulls content without an owner")
    assert_refused(pull_manifest(w, None, "legacy/secret", basic=BOB), (401, 403), "bob pulls it with Basic")
    assert_refused(call(w, "POST", "/v2/legacy/secret/blobs/uploads/", tok), (401, 403), "bob pushes with a token")
    r = call(w, "POST", "/v2/legacy/mine/blobs/uploads/", basic=BOB)
    assert r.status_code == 403 and error_codes(r) == ["DENIED"], describe(r)
    assert "namespace legacy holds content without an owner" in r.text, r.text
    assert "wharf namespace adopt legacy --team TEAM" in r.text, r.text
    assert "legacy" not in namespaces(w), "a refused push created the namespace"
    assert "legacy/secret" not in catalog(w, BOB)
    assert "legacy/secret" in catalog(w, ROOT)

    admin = get_token(w, ROOT, "repository:legacy/secret:pull,push")
    assert granted(admin, "repository", "legacy/secret") == {"pull", "push"}
    assert pull_manifest(w, admin, "legacy/secret").status_code == 200
    push_blob(w, admin, "legacy/secret", b"an admin writes into it")
    assert "legacy" not in namespaces(w), "an admin's push made content without an owner a namespace"
    service = get_token(w, SERVICE, "repository:legacy/secret:pull")
    assert pull_manifest(w, service, "legacy/secret").status_code == 200

    w.cli("team", "create", "ops", "--owner", "root")
    w.cli("team", "add", "ops", "bob", "--role", "viewer")
    out = w.cli("namespace", "adopt", "legacy", "--team", "ops").stdout
    assert out.strip() == "adopted private namespace legacy for team ops: legacy/secret", out
    assert namespaces(w)["legacy"] == {"kind": "team", "visibility": "private", "team": "ops"}
    bob = get_token(w, BOB, "repository:legacy/secret:pull")
    assert pull_manifest(w, bob, "legacy/secret").status_code == 200
    assert granted(get_token(w, ALICE, "repository:legacy/secret:pull"), "repository", "legacy/secret") == set()

    line = one_line_failure(w.cli("namespace", "adopt", "legacy", "--team", "ops", check=False))
    assert "legacy" in line and "already exists" in line, line
    line = one_line_failure(w.cli("namespace", "adopt", "nothing", "--team", "ops", check=False))
    assert "nothing" in line and "no content" in line, line


def test_adopt_unknown_adopts_every_namespace_without_an_owner(wharf_factory):
    """A distribution folder served with auth on: `adopt --unknown` gives every namespace without a row an
    owner (repositories without a slash are the global namespace and are left alone)."""
    w = start(wharf_factory)
    push_image(w, ALICE, "alice/app")
    leave_without_owner(w, "alice/app", "old1/app")
    leave_without_owner(w, "alice/app", "old2/tools/cli")
    leave_without_owner(w, "alice/app", "toplevel")
    assert_refused(pull_manifest(w, get_token(w, BOB, "repository:old1/app:pull"), "old1/app"), (401, 403), "before")
    w.cli("team", "create", "ops", "--owner", "root")
    out = w.cli("namespace", "adopt", "--unknown", "--team", "ops", "--visibility", "protected").stdout
    assert out.splitlines() == [
        "adopted protected namespace old1 for team ops: old1/app",
        "adopted protected namespace old2 for team ops: old2/tools/cli",
    ], out
    known = namespaces(w)
    assert known["old1"]["visibility"] == "protected" and known["old2"]["team"] == "ops"
    assert "toplevel" not in known
    # protected: any logged-in user pulls now
    for repo in ("old1/app", "old2/tools/cli", "toplevel"):
        tok = get_token(w, BOB, f"repository:{repo}:pull")
        assert pull_manifest(w, tok, repo).status_code == 200, repo
    assert w.cli("namespace", "adopt", "--unknown", "--team", "ops").stdout.strip() == \
        "nothing to adopt: every namespace in storage has an owner"


def test_recreating_a_user_over_content_without_an_owner(wharf_factory):
    """`wharf user create dave` over content left under `dave` fails with the admin commands; --adopt-namespace
    gives it to him; `wharf namespace purge` deletes such content instead."""
    w = start(wharf_factory)
    push_image(w, ALICE, "alice/app")
    leave_without_owner(w, "alice/app", "dave/secret")
    p = w.cli("user", "create", *DAVE[:1], "--password", DAVE[1], check=False)
    line = one_line_failure(p)
    assert line == ("wharf: namespace dave holds content without an owner (1 repository (dave/secret)): give it to "
                    "the new user (wharf user create dave --adopt-namespace), to a team (wharf namespace adopt dave "
                    "--team TEAM), or delete it (wharf namespace purge dave)"), line
    assert "dave" not in user_names(w) and "dave" not in namespaces(w)

    out = w.cli("user", "create", "dave", "--password", DAVE[1], "--adopt-namespace").stdout
    assert "created user dave" in out, out
    assert namespaces(w)["dave"]["kind"] == "personal"
    assert pull_manifest(w, get_token(w, DAVE, "repository:dave/secret:pull"), "dave/secret").status_code == 200
    assert granted(get_token(w, ALICE, "repository:dave/secret:pull"), "repository", "dave/secret") == set()

    leave_without_owner(w, "alice/app", "erin/app")
    assert one_line_failure(w.cli("user", "create", "erin", "--password", "erin-pass-1234", check=False))
    out = w.cli("namespace", "purge", "erin").stdout
    assert out.strip() == "purged namespace erin: erin/app", out
    assert not (repositories_dir(w) / "erin").exists()
    w.create_user("erin", "erin-pass-1234")
    line = one_line_failure(w.cli("namespace", "purge", "dave", check=False))
    assert "has an owner" in line, line


def _answer(r: requests.Response, name: str) -> tuple:
    """Status, then each error's code, message and detail with the namespace's name replaced by NS."""
    try:
        errors = r.json().get("errors", [])
    except ValueError:
        errors = []
    return r.status_code, [(e.get("code"), (e.get("message") or "").replace(name, "NS"), (e.get("detail") or "").replace(name, "NS"))
                           for e in errors]


def test_existence_is_hidden_from_callers_who_cannot_see_or_create(wharf_factory):
    """Pushing does not create namespaces here, so alice may create none: a namespace that does not exist, bob's
    private one and content without an owner answer her push, pull and delete alike (status, code, message,
    names aside), with Basic credentials and with tokens. A protected namespace she may see keeps its own
    message; the admin is told what is missing."""
    w = start(wharf_factory, env={"WHARF_NAMESPACES_CREATE_ON_PUSH": "off"})
    push_image(w, BOB, "bob/app")
    leave_without_owner(w, "bob/app", "legacy/app")
    w.cli("team", "create", "acme", "--owner", "root")
    w.cli("namespace", "create", "prot", "--team", "acme", "--visibility", "protected")

    requests_ = [
        ("POST", "/v2/NS/app/blobs/uploads/", "push"),
        ("GET", "/v2/NS/app/manifests/v1", "pull"),
        ("GET", "/v2/NS/app/tags/list", "pull"),
        ("DELETE", f"/v2/NS/app/manifests/{sha256(b'x')}", "delete"),
    ]
    for method, path, action in requests_:
        answers, raw = {}, {}
        for ns in ("nosuch", "bob", "legacy"):
            url = path.replace("NS", ns)
            tok = get_token(w, ALICE, f"repository:{ns}/app:{action}")
            assert access_of(tok) == [], (ns, access_of(tok))
            basic = call(w, method, url, basic=ALICE)
            bearer = call(w, method, url, tok)
            assert _answer(basic, ns) == _answer(bearer, ns), (describe(basic), describe(bearer))
            answers[ns] = _answer(basic, ns)
            raw[ns] = basic.text.replace(ns, "NS")
        status, errors = answers["nosuch"]
        assert status == 403 and [e[0] for e in errors] == ["DENIED"], answers
        assert f"alice may not {action} NS/app: no namespace NS that alice may" in errors[0][2], errors
        assert answers["bob"] == answers["nosuch"], (method, path, answers)
        assert answers["legacy"] == answers["nosuch"], (method, path, answers)
        # byte for byte, but for the names
        assert raw["bob"] == raw["nosuch"] == raw["legacy"], raw

    r = call(w, "POST", "/v2/prot/app/blobs/uploads/", basic=ALICE)
    assert r.status_code == 403 and "alice may not push prot/app" in r.text and "no namespace" not in r.text, describe(r)
    r = call(w, "POST", "/v2/nosuch/app/blobs/uploads/", basic=ROOT)
    assert r.status_code == 403 and "namespace nosuch does not exist" in r.text, describe(r)
