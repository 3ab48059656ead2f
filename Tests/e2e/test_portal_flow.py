"""The portal's whole flow in a real browser, as issue 14 tells it: the first sign-up becomes the
administrator, creates a team and its namespace and an application token; skopeo pushes an image
and a 2-platform index with that token while the browser watches, and both appear without a
reload with their digests, sizes and platforms; a tag deleted in the UI is gone from the registry;
the activity log shows every step. A plain user cannot see the private namespace nor open its
URLs, and text full of XSS payloads renders inert everywhere it is shown.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import requests
from selenium.webdriver.common.by import By

import ocihelpers
from browser import (
    assert_clean,
    open_page,
    screenshots,
    sign_in,
    submit_form,
    texts,
    wait_for,
)

ROOT_PASSWORD = "root-password-1"
XSS = (
    "<script>window.__xss = 1</script><img src=x onerror=\"window.__xss = 2\">"
    " \"'><svg onload=window.__xss=3> [click](javascript:window.__xss=4) **bold**"
)


def human_size(n: int) -> str:
    """The portal's size format (PortalFormat.bytes): SI units, one decimal below 10."""
    units = ["B", "kB", "MB", "GB"]
    value, unit = float(n), 0
    while value >= 1000 and unit < len(units) - 1:
        value /= 1000
        unit += 1
    if unit == 0:
        return f"{n} B"
    return f"{value:.1f} {units[unit]}" if value < 10 else f"{value:.0f} {units[unit]}"


def no_xss_ran(driver) -> None:
    assert driver.execute_script("return window.__xss") is None, "an XSS payload ran"


def push(server, skopeo, user: str, secret: str, ref: str, platforms=None) -> ocihelpers.Layout:
    layout = ocihelpers.write_oci_layout(Path(tempfile.mkdtemp()) / "layout", ref="v1", platforms=platforms)
    skopeo("copy", "--all", "--dest-tls-verify=false", "--dest-creds", f"{user}:{secret}",
           f"oci:{layout.path}:v1", f"docker://{server.host}/{ref}", check=True)
    return layout


def live_on(driver) -> None:
    wait_for(driver, lambda d: "live--on" in d.find_element(By.CSS_SELECTOR, "[data-live-status]").get_attribute("class"))
    driver.execute_script("window.__notReloaded = true")


def test_the_portal_flow(wharf_factory, browser, skopeo):
    server = wharf_factory(tls=True, auth=True, env={"WHARF_PERMISSIONS_DELETE": "on"})
    base = server.base_url

    # 1. The first person to sign up becomes the administrator.
    open_page(browser, base + "/signup")
    submit_form(browser, "form:has(input[name=password_confirmation])",
                {"name": "root", "password": ROOT_PASSWORD, "password_confirmation": ROOT_PASSWORD})
    assert "you are this server's administrator" in " ".join(texts(browser, ".flash"))

    # 2. A team (its description full of XSS) and its private namespace.
    open_page(browser, base + "/teams")
    submit_form(browser, "form[action='/teams']", {"name": "platform", "description": XSS})
    assert browser.execute_script("return location.pathname") == "/teams/platform"
    no_xss_ran(browser)
    submit_form(browser, "form[action$='/namespaces']", {"namespace": "platform", "visibility": "private"})
    open_page(browser, base + "/n/platform")
    assert "private" in browser.find_element(By.CSS_SELECTOR, "h1 .badge").text

    # 3. An application token, shown once.
    open_page(browser, base + "/me")
    submit_form(browser, "form[action='/me/tokens']", {"label": "ci"})
    secret = browser.find_element(By.ID, "token-secret").text.strip()
    assert secret
    screenshots(browser, "flow-token-created")

    # 4. skopeo pushes an image with the token while the namespace page watches: the repository
    #    appears without a reload.
    open_page(browser, base + "/n/platform")
    live_on(browser)
    image = push(server, skopeo, "root", secret, "platform/web:1.0")
    wait_for(browser, lambda d: "platform/web" in d.find_element(By.ID, "namespace-repositories-body").text, timeout=20)
    assert browser.execute_script("return window.__notReloaded") is True

    # 5. The repository page watches a 2-platform index arrive: its digest, size and platforms.
    open_page(browser, base + "/r/platform/web")
    live_on(browser)
    index = push(server, skopeo, "root", secret, "platform/web:2.0", platforms=["amd64", "arm64"])
    short = index.top_digest.split(":", 1)[1][:12]
    wait_for(browser, lambda d: short in d.find_element(By.ID, "repo-tags-body").text, timeout=20)
    assert browser.execute_script("return window.__notReloaded") is True
    group = next(g for g in browser.find_elements(By.CSS_SELECTOR, ".tag-group") if short in g.text)
    assert "2.0" in group.text and "index" in group.text
    rows = [r.text for r in group.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert len(rows) == 2
    for im in index.images:
        row = next(r for r in rows if im.manifest_digest.split(":", 1)[1][:12] in r)
        assert f"linux/{im.platform['architecture']}" in row
    single = image.top_digest.split(":", 1)[1][:12]
    assert single in browser.find_element(By.ID, "repo-tags-body").text
    # The single image's size: its manifest, config and layers.
    im = image.images[0]
    total = im.manifest_size + sum(b.size for b in [im.config] + im.layers)
    first = next(g for g in browser.find_elements(By.CSS_SELECTOR, ".tag-group") if single in g.text)
    assert human_size(total) in first.text
    assert_clean(browser)
    screenshots(browser, "flow-repository")

    # 6. A comment full of XSS renders inert.
    submit_form(browser, "form.comment-form", {"body": XSS})
    no_xss_ran(browser)
    assert "<script>" in browser.find_element(By.CSS_SELECTOR, ".comment").text

    # 7. Delete the tag 1.0 in the UI; the registry answers 404 for it.
    open_page(browser, base + "/r/platform/web/-/tags/1.0")
    browser.find_element(By.CSS_SELECTOR, "details.confirm summary").click()
    browser.execute_script("window.confirm = function () { return true; }")
    submit_form(browser, "form[action$='/delete']")
    registry = requests.Session()
    registry.verify = server.verify
    client = ocihelpers.V2Client(server, "platform/web", auth=("root", secret))
    assert client.head("/v2/<name>/manifests/1.0").status_code == 404
    assert client.head("/v2/<name>/manifests/2.0").status_code == 200

    # 8. The activity log shows each step.
    open_page(browser, base + "/activity")
    log = browser.find_element(By.CSS_SELECTOR, "main").text
    for action in ["team.create", "namespace.create", "token.create", "repository.push", "tag.delete", "comment.create"]:
        assert action in log, action
    screenshots(browser, "flow-activity")

    # 9. A plain user sees neither the private namespace nor anything in it.
    server.create_user("bob", "bob-password-1")
    browser.delete_all_cookies()
    sign_in(browser, base, "bob", "bob-password-1")
    for path in ["/n/platform", "/r/platform/web", "/r/platform/web/-/tags/2.0", f"/r/platform/web/-/manifests/{index.top_digest}",
                 "/n/platform/webhooks", "/teams/platform"]:
        browser.get(base + path)
        heading = browser.find_element(By.TAG_NAME, "h1").text
        assert heading in ("Not found", "Not allowed"), f"{path}: {heading}"
        assert short not in browser.page_source
    browser.get(base + "/explore")
    assert "platform/web" not in browser.page_source
    browser.get(base + "/search?q=web")
    assert "platform/web" not in browser.page_source
