"""The portal's Explore, search and namespace pages in a real browser: anonymous explore of public namespaces,
search as you type (the page script calling /api/v1/search with the session cookie), the namespace page and its
settings (description as inert markdown, visibility), the same with JavaScript off, accessibility in light and dark,
no console errors, and screenshots (explore, search, namespace)."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from browser import (
    assert_clean,
    check_accessibility,
    console_errors,
    emulate_color_scheme,
    open_page,
    screenshots,
    sign_in,
    submit_form,
    texts,
    wait_for,
    wait_for_element,
)
from test_auth_security import push_image

ADMIN = ("admin", "admin password")
ALICE = ("alice", "alice password")
BOB = ("bob", "bob password")
XSS = ('Some **bold** words and [x](javascript:alert(2)) "quoted"\n\n'
       '<script>alert(1)</script> <img src=x onerror=alert(3)>')


def assert_accessible(driver) -> None:
    """check_accessibility() == [] in light and dark. The scheme is emulated with reduced motion: the buttons'
    background otherwise eases over 0.1 s after the switch while their text colour flips at once, and a check
    made at once (as check_accessibility(driver, "dark") does) reads the light background under dark text."""
    try:
        for scheme in ("light", "dark"):
            driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": [
                {"name": "prefers-color-scheme", "value": scheme}, {"name": "prefers-reduced-motion", "value": "reduce"}]})
            assert check_accessibility(driver) == [], f"{scheme} on {driver.current_url}"
    finally:
        emulate_color_scheme(driver, None)


@pytest.fixture
def server(wharf_factory):
    """Auth on, anonymous pull and browsing on; team `devs` (owner alice) with public `oss` (two pushed images)
    and private `secret` (one)."""
    w = wharf_factory(tls=True, auth=True, env={"WHARF_PORTAL_ANONYMOUS_BROWSING": "on", "WHARF_AUTH_ANONYMOUS_PULL": "on"})
    w.create_user(*ADMIN, "--admin")
    w.create_user(*ALICE)
    w.create_user(*BOB)
    w.cli("team", "create", "devs", "--owner", "alice")
    w.cli("namespace", "create", "oss", "--team", "devs", "--visibility", "public")
    w.cli("namespace", "create", "secret", "--team", "devs", "--visibility", "private")
    push_image(w, ALICE, "oss/webserver", "v1")
    push_image(w, ALICE, "oss/tools", "latest")
    push_image(w, ALICE, "secret/vault", "v1")
    return w


def test_explore_anonymously(server, browser):
    base = server.base_url
    open_page(browser, base + "/explore")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "oss/webserver" in body and "oss/tools" in body
    assert "secret" not in body
    recent = texts(browser, "[aria-labelledby=explore-recent] .list__title")
    assert set(recent) == {"oss/webserver", "oss/tools"}
    namespaces = texts(browser, "[aria-labelledby=explore-namespaces] .list__title")
    assert namespaces == ["oss"]
    assert_accessible(browser)
    screenshots(browser, "explore")
    assert_clean(browser)
    # A private namespace is a 404 to a visitor.
    open_page(browser, base + "/n/secret", clean=False)
    assert "Not found" in browser.find_element(By.TAG_NAME, "h1").text
    assert "vault" not in browser.find_element(By.TAG_NAME, "body").text
    console_errors(browser)


def test_search_as_you_type(server, browser):
    base = server.base_url
    sign_in(browser, base, *ALICE)
    open_page(browser, base + "/explore")
    box = browser.find_element(By.ID, "site-search")
    box.send_keys("vau")
    # The script's results list shows her private repository (the session cookie reached /api/v1/search).
    item = wait_for_element(browser, ".search-results .search-results__item")
    wait_for(browser, lambda d: any("secret/vault" in t for t in texts(d, ".search-results__item")))
    assert item.is_displayed()
    assert_clean(browser)
    # Enter goes to the results page.
    box.send_keys(Keys.ENTER)
    wait_for(browser, lambda d: "/search" in d.current_url and d.find_elements(By.ID, "search-q"))
    assert "secret/vault" in browser.find_element(By.TAG_NAME, "main").text
    assert_accessible(browser)
    screenshots(browser, "search")
    assert_clean(browser)


def test_namespace_page_and_settings(server, browser):
    base = server.base_url
    sign_in(browser, base, *ALICE)
    open_page(browser, base + "/n/oss")
    assert "oss" in browser.find_element(By.TAG_NAME, "h1").text
    assert "devs" in browser.find_element(By.CSS_SELECTOR, ".page-head__meta").text
    rows = texts(browser, "[aria-labelledby=namespace-repositories] tbody tr")
    assert len(rows) == 2 and any("oss/webserver" in r for r in rows)
    submit_form(browser, "form[action='/n/oss']", {"description": XSS, "visibility": "protected"})
    assert browser.execute_script("return location.pathname") == "/n/oss"
    assert "saved" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    about = browser.find_element(By.CSS_SELECTOR, ".markdown")
    assert about.find_element(By.TAG_NAME, "strong").text == "bold"
    assert "<script>alert(1)</script>" in about.text
    assert about.find_elements(By.TAG_NAME, "img") == []
    assert all(not (a.get_attribute("href") or "").startswith("javascript:") for a in about.find_elements(By.TAG_NAME, "a"))
    assert "protected" in browser.find_element(By.CSS_SELECTOR, "h1 .badge").text
    assert_accessible(browser)
    screenshots(browser, "namespace")
    assert_clean(browser)
    # bob sees the protected namespace but no settings form; the private one is a 404 to him.
    browser.delete_all_cookies()
    sign_in(browser, base, *BOB)
    open_page(browser, base + "/n/oss")
    assert browser.find_elements(By.ID, "namespace-visibility") == []
    open_page(browser, base + "/n/secret", clean=False)
    assert "Not found" in browser.find_element(By.TAG_NAME, "h1").text
    console_errors(browser)


def test_without_javascript(server, browser_nojs):
    base = server.base_url
    driver = browser_nojs
    sign_in(driver, base, *ALICE)
    driver.get(base + "/explore")
    submit_form(driver, "form.explore-search", {"q": "web"})
    assert "oss/webserver" in driver.find_element(By.TAG_NAME, "main").text
    driver.get(base + "/n/oss")
    submit_form(driver, "form[action='/n/oss']", {"visibility": "private", "description": "Now *private*"})
    assert "private" in driver.find_element(By.CSS_SELECTOR, "h1 .badge").text
    assert driver.find_element(By.CSS_SELECTOR, ".markdown em").text == "private"
    # New namespace, then delete it through the <details> confirmation.
    driver.get(base + "/explore")
    driver.find_element(By.LINK_TEXT, "New namespace").click()
    screenshots(driver, "namespace-new")
    submit_form(driver, "form[action='/namespaces/new']", {"name": "scratch", "team": "devs", "visibility": "public"})
    assert driver.execute_script("return location.pathname") == "/n/scratch"
    driver.find_element(By.CSS_SELECTOR, "details.confirm summary").click()
    submit_form(driver, "form[action='/n/scratch/delete']")
    assert driver.execute_script("return location.pathname") == "/explore"
    assert "scratch deleted" in driver.find_element(By.CSS_SELECTOR, ".flash").text
    # Deleting oss takes its two repositories: the confirmation names them, and the box says so.
    driver.get(base + "/n/oss")
    driver.find_element(By.CSS_SELECTOR, "details.confirm summary").click()
    assert "oss/webserver" in driver.find_element(By.CSS_SELECTOR, ".confirm__body").text
    submit_form(driver, "form[action='/n/oss/delete']", {"delete_repositories": True})
    assert driver.execute_script("return location.pathname") == "/explore"
    assert "2 repositories" in driver.find_element(By.CSS_SELECTOR, ".flash").text
