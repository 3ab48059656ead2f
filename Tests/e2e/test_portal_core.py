"""The portal's first pages in a real browser (headless Chromium): the first sign-up makes the
administrator, sign-in and sign-out, the dashboard following a push live, the activity log with its
CSV export, getting started, the administration pages and a namespace's webhooks. Every page loads
without console errors or CSP violations, passes the accessibility checks in the light and the
dark theme at desktop and phone width (screenshots() does both), and works with JavaScript off.
"""

from __future__ import annotations

import csv
import io
import subprocess
import tempfile
from pathlib import Path

import requests
from selenium.webdriver.common.by import By

import ocihelpers
from browser import (
    assert_clean,
    check_accessibility,
    open_page,
    screenshots,
    sign_in,
    submit_form,
    texts,
    wait_for,
)

PASSWORD = "correct-horse-battery"


def sign_up(driver, base: str, name: str, password: str = PASSWORD) -> None:
    open_page(driver, base + "/signup")
    submit_form(driver, "form:has(input[name=password_confirmation])",
                {"name": name, "password": password, "password_confirmation": password})


def push_image(server, skopeo, user: str, password: str, ref: str, platforms=None) -> None:
    layout = Path(tempfile.mkdtemp()) / "layout"
    ocihelpers.write_oci_layout(layout, ref="v1", platforms=platforms)
    skopeo("copy", "--all", "--dest-tls-verify=false", "--dest-creds", f"{user}:{password}",
           f"oci:{layout}:v1", f"docker://{server.host}/{ref}", check=True)


def test_first_sign_up_becomes_admin_and_pages_are_clean(wharf_auth, browser, browser_nojs, skopeo):
    base = wharf_auth.base_url
    open_page(browser, base + "/signin")
    assert "first person to sign up becomes the administrator" in browser.page_source
    screenshots(browser, "signin")
    sign_up(browser, base, "root")
    assert browser.execute_script("return location.pathname") == "/"
    assert "you are this server's administrator" in " ".join(texts(browser, ".flash"))
    assert_clean(browser)
    screenshots(browser, "dashboard")

    # The dashboard follows a push live: the namespace's repository count and the activity change
    # without a reload.
    marker = browser.execute_script("window.__notReloaded = true; return window.__notReloaded")
    assert marker is True
    wait_for(browser, lambda d: "live--on" in d.find_element(By.CSS_SELECTOR, "[data-live-status]").get_attribute("class"))
    push_image(wharf_auth, skopeo, "root", PASSWORD, "root/web:1.0")
    wait_for(browser, lambda d: "root/web" in d.find_element(By.ID, "dashboard-activity-body").text, timeout=20)
    assert browser.execute_script("return window.__notReloaded") is True
    assert_clean(browser)

    for path, name in [("/activity", "activity"), ("/getting-started", "getting-started"), ("/admin", "admin-status"),
                       ("/admin/users", "admin-users"), ("/admin/users/root", "admin-user"),
                       ("/admin/namespaces", "admin-namespaces"), ("/admin/settings", "admin-settings"),
                       ("/n/root/webhooks", "webhooks")]:
        open_page(browser, base + path)
        assert check_accessibility(browser) == [], path
        screenshots(browser, name)
        assert_clean(browser)

    # The same pages without JavaScript: they render, and their forms still post.
    sign_in(browser_nojs, base, "root", PASSWORD)
    for path in ["/", "/activity", "/getting-started", "/admin", "/admin/users", "/n/root/webhooks"]:
        browser_nojs.get(base + path)
        assert browser_nojs.find_elements(By.CSS_SELECTOR, "main h1"), path
        assert "Something went wrong" not in browser_nojs.page_source
    browser_nojs.get(base + "/admin/users")
    submit_form(browser_nojs, "form[method=post][action='/admin/users']", {"name": "bob", "password": "bob-password-1"})
    assert browser_nojs.execute_script("return location.pathname") == "/admin/users/bob"
    assert "User bob created." in browser_nojs.page_source


def test_sign_in_sign_out_and_refusals(wharf_auth, browser):
    base = wharf_auth.base_url
    wharf_auth.cli("user", "create", "alice", "--password-stdin", input="alice-password-1\n")
    open_page(browser, base + "/signin")
    submit_form(browser, "form:has(input[name=password])", {"name": "alice", "password": "wrong-password"})
    assert "Wrong user name or password." in browser.page_source
    submit_form(browser, "form:has(input[name=password])", {"name": "nobody", "password": "wrong-password"})
    assert "Wrong user name or password." in browser.page_source
    sign_in(browser, base, "alice", "alice-password-1")
    cookie = browser.get_cookie("wharf_session")
    assert cookie and cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"
    # The admin pages are not alice's.
    browser.get(base + "/admin")
    assert "Only administrators see this page." in browser.page_source
    browser.get(base + "/")
    submit_form(browser, "form[action='/signout']")
    assert browser.execute_script("return location.pathname") == "/signin"
    assert "You are signed out." in browser.page_source
    # The old cookie no longer opens anything.
    session = requests.Session()
    session.verify = False
    r = session.get(base + "/", cookies={"wharf_session": cookie["value"]}, allow_redirects=False)
    assert r.status_code == 303


def test_a_form_posted_from_another_site_is_refused(wharf_auth):
    base = wharf_auth.base_url
    wharf_auth.cli("user", "create", "alice", "--password-stdin", input="alice-password-1\n")
    s = requests.Session()
    s.verify = str(wharf_auth.cert_path)
    page = s.get(base + "/signin")
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    r = s.post(base + "/signin", data={"name": "alice", "password": "alice-password-1", "_csrf": token}, allow_redirects=False)
    assert r.status_code == 303
    # A forged post carries the cookies but not the token.
    r = s.post(base + "/admin/users", data={"name": "mallory", "password": "mallory-password"}, allow_redirects=False)
    assert r.status_code == 403 and "security token" in r.text
    r = s.post(base + "/signout", allow_redirects=False)
    assert r.status_code == 403
    assert s.get(base + "/", allow_redirects=False).status_code == 200


def test_activity_csv_export(wharf_auth, browser):
    base = wharf_auth.base_url
    sign_up(browser, base, "root")
    s = requests.Session()
    s.verify = str(wharf_auth.cert_path)
    for c in browser.get_cookies():
        s.cookies.set(c["name"], c["value"])
    r = s.get(base + "/activity.csv?type=user.")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["id", "time", "actor", "action", "target_kind", "target", "addr", "details"]
    assert any(row[3] == "user.create" and row[5] == "root" for row in rows[1:])


def test_keyboard_reaches_the_page_and_slash_focuses_search(wharf_auth, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    base = wharf_auth.base_url
    open_page(browser, base + "/explore")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    first = browser.switch_to.active_element
    assert "skip-link" in (first.get_attribute("class") or ""), first.get_attribute("outerHTML")
    first.send_keys(Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "main"
    # "/" anywhere but in a field puts the cursor in the search box.
    ActionChains(browser).send_keys("/").perform()
    assert browser.switch_to.active_element.get_attribute("id") == "site-search"
    # Tab moves on through the page's controls, each with a visible focus style.
    ActionChains(browser).send_keys(Keys.TAB).perform()
    focused = browser.switch_to.active_element
    outline = browser.execute_script(
        "var s = getComputedStyle(arguments[0]); return s.outlineStyle + ' ' + s.outlineWidth + ' ' + s.boxShadow", focused)
    assert outline and ("none 0px none" not in outline), outline
    assert_clean(browser)
