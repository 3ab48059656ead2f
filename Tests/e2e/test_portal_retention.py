"""The portal's retention pages in a real browser: a namespace owner finds Retention on the namespace page, a bad
pattern is shown at its field, Preview lists what the typed policy would remove and why without saving it, Save
stores it; a viewer sees the policy read-only; an administrator sets the global default. Accessible in light and
dark, no console errors, screenshots (retention, retention-viewer, retention-admin)."""

from __future__ import annotations

import os
import time

import pytest
from selenium.webdriver.common.by import By

from browser import assert_clean, console_errors, open_page, screenshots, sign_in, submit_form, texts, wait_for_element
from test_auth_security import push_image
from test_portal_namespaces import assert_accessible

ADMIN = ("admin", "admin password")
ALICE = ("alice", "alice password")
BOB = ("bob", "bob password")


@pytest.fixture
def server(wharf_factory):
    """Team `devs` (owner alice, viewer bob) with namespace `apps`: tags b1 (60 days old), b2 (50), b3 (today) and
    latest (90 days, protected by default) of apps/web."""
    w = wharf_factory(tls=True, auth=True)
    w.create_user(*ADMIN, "--admin")
    w.create_user(*ALICE)
    w.create_user(*BOB)
    w.cli("team", "create", "devs", "--owner", "alice")
    w.cli("team", "add", "devs", "bob", "--role", "viewer")
    w.cli("namespace", "create", "apps", "--team", "devs")
    for tag, days in (("b1", 60), ("b2", 50), ("b3", 0), ("latest", 90)):
        push_image(w, ALICE, "apps/web", tag)
        link = w.registry_dir / "docker/registry/v2/repositories/apps/web/_manifests/tags" / tag / "current/link"
        when = time.time() - days * 86_400
        os.utime(link, (when, when))
    return w


def test_an_owner_previews_and_saves_a_policy_a_viewer_reads_it(server, browser):
    base = server.base_url
    sign_in(browser, base, *ALICE)
    open_page(browser, base + "/n/apps")
    browser.find_element(By.LINK_TEXT, "Retention").click()
    wait_for_element(browser, "#retention-form")
    assert browser.execute_script("return location.pathname") == "/n/apps/retention"
    assert "No policy" in browser.find_element(By.CSS_SELECTOR, "[aria-labelledby=retention-applies-title]").text

    # A pattern that does not compile: the page says so at the field, with what was typed kept.
    submit_form(browser, "#retention-form", {"keep_latest": "1", "older_than_days": "30", "tag_match": "(b"},
                button="button[value=save]")
    field = browser.find_element(By.ID, "retention-tag-match")
    assert field.get_attribute("aria-invalid") == "true" and field.get_attribute("value") == "(b"
    assert "tag_match is not a valid regular expression" in browser.find_element(By.ID, "retention-error").text
    assert browser.find_element(By.ID, "retention-keep-latest").get_attribute("value") == "1"
    # The refusal is a 422 page: its status is the only console entry.
    assert all("422" in e for e in console_errors(browser))

    # Preview the typed policy: what would go and why; nothing is saved.
    submit_form(browser, "#retention-form", {"tag_match": "^b"}, button="button[value=preview]")
    rows = texts(browser, "#retention-preview tbody tr")
    assert len(rows) == 4, rows
    assert any("apps/web:b1" in r and "older than 30 days and not among the 1 most recent" in r for r in rows), rows
    assert any("apps/web:b2" in r for r in rows) and not any(":latest" in r or ":b3" in r for r in rows), rows
    assert "Preview of the form (not saved)" in browser.find_element(By.ID, "retention-preview-title").text
    assert server.cli("retention", "show", "--namespace", "apps").stdout.startswith("no policy applies")
    assert_accessible(browser)
    screenshots(browser, "retention")

    submit_form(browser, "#retention-form", button="button[value=save]")
    assert "Retention policy of apps saved" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    assert "keep the 1 most recent" in browser.find_element(By.CSS_SELECTOR, ".retention-summary").text
    shown = server.cli("retention", "show", "--namespace", "apps").stdout
    assert "keep_latest: 1" in shown and "tag_match: ^b" in shown, shown
    assert_clean(browser)

    # A viewer sees the policy and may preview it, without the form or the buttons that change anything.
    browser.delete_all_cookies()
    sign_in(browser, base, *BOB)
    open_page(browser, base + "/n/apps/retention?preview=1")
    assert not browser.find_elements(By.ID, "retention-form")
    assert not browser.find_elements(By.CSS_SELECTOR, "form[action$='/run']")
    assert "^b" in browser.find_element(By.CSS_SELECTOR, "[aria-labelledby=retention-view-title]").text
    assert len(texts(browser, "#retention-preview tbody tr")) == 4
    screenshots(browser, "retention-viewer")
    assert_clean(browser)
    # The global default is an administration page.
    open_page(browser, base + "/admin/retention?preview=1", clean=False)
    assert "Not allowed" in browser.find_element(By.TAG_NAME, "h1").text
    assert not browser.find_elements(By.ID, "retention-preview")
    console_errors(browser)


def test_an_admin_sets_the_global_default(server, browser):
    base = server.base_url
    sign_in(browser, base, *ADMIN)
    open_page(browser, base + "/admin/retention")
    assert browser.find_element(By.CSS_SELECTOR, ".tabs__tab[aria-current=page]").text == "Retention"
    submit_form(browser, "#retention-form", {"protected": "[latest"}, button="button[value=save]")
    assert "protected is not a valid regular expression" in browser.find_element(By.ID, "retention-error").text
    assert all("422" in e for e in console_errors(browser))
    submit_form(browser, "#retention-form", {"keep_latest": "2", "untagged_older_than_days": "14", "protected": "^latest$"}, button="button[value=save]")
    assert "Global retention policy saved" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    assert_accessible(browser)
    screenshots(browser, "retention-admin")
    shown = server.cli("retention", "show").stdout
    assert "keep_latest: 2" in shown and "untagged_older_than_days: 14" in shown, shown
    # The namespace without its own policy now shows the global default as what applies.
    open_page(browser, base + "/n/apps/retention")
    assert "global default applies" in browser.find_element(By.CSS_SELECTOR, "[aria-labelledby=retention-applies-title]").text
    assert_clean(browser)
