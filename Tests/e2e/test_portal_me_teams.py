"""The portal's account page (/me) and team pages (/teams, /teams/TEAM) in a real browser: an application token
created in the page, shown once, used with `curl -u` and `skopeo login` against /v2/, revoked in the page and then
refused; a team created with an XSS description that stays text, bob added as contributor, a namespace given to
the team, the team deleted through its confirmation page; the same with JavaScript off, including a password
change that keeps this browser signed in and signs out another. Accessibility in light and dark, no console
errors, and screenshots (me, me-token-created, teams, team)."""

from __future__ import annotations

import subprocess
import time

import pytest
import requests
from selenium.webdriver.common.by import By

from browser import (
    assert_clean,
    check_accessibility,
    emulate_color_scheme,
    open_page,
    screenshots,
    sign_in,
    submit_form,
    texts,
    wait_for,
)

ADMIN = ("admin", "admin password")
ALICE = ("alice", "alice password")
BOB = ("bob", "bob password")
XSS = '<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)> "quoted" **bold**'


@pytest.fixture
def server(wharf_factory):
    """Auth on, with users admin, alice and bob."""
    w = wharf_factory(tls=True, auth=True)
    w.create_user(*ADMIN, "--admin")
    w.create_user(*ALICE)
    w.create_user(*BOB)
    return w


def curl_v2(server, user: str, password: str) -> int:
    """The status `curl -u USER:PASSWORD https://HOST/v2/` gets (docker-style Basic credentials)."""
    p = subprocess.run(
        ["curl", "-s", "--cacert", str(server.cert_path), "-o", "/dev/null", "-w", "%{http_code}", "-u",
         f"{user}:{password}", server.base_url + "/v2/"],
        capture_output=True, text=True, timeout=60,
    )
    assert p.returncode == 0, p.stderr
    return int(p.stdout)


def accessible(driver) -> None:
    """check_accessibility() == [] in light and dark, each judged once the theme's colour transitions (the
    buttons' background fades in 0.1 s) have finished, not halfway through them."""
    try:
        for scheme in ("light", "dark"):
            emulate_color_scheme(driver, scheme)
            wait_for(driver, lambda d: d.execute_script(
                "return document.getAnimations().every(a => a.playState !== 'running')"))
            assert check_accessibility(driver) == [], scheme
    finally:
        emulate_color_scheme(driver, None)


def refused_soon(server, user: str, password: str) -> bool:
    """Whether /v2/ refuses the credentials within a few seconds: the authenticator remembers an account's
    status for a second, so a revoked token stops working at most that long after."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if curl_v2(server, user, password) == 401:
            return True
        time.sleep(0.25)
    return False


def create_token(driver, label: str, expires: str = "30") -> str:
    submit_form(driver, "form[action='/me/tokens']", {"label": label, "expires": expires})
    assert driver.execute_script("return location.pathname") == "/me/tokens"
    assert "only time Wharf shows it" in driver.find_element(By.CSS_SELECTOR, ".token-created__warning").text
    secret = driver.find_element(By.ID, "token-secret").text.strip()
    assert len(secret) > 20
    return secret


def revoke_token(driver, base: str, label: str) -> None:
    open_page(driver, base + "/me")
    row = [r for r in driver.find_elements(By.CSS_SELECTOR, "[aria-labelledby=me-tokens] tbody tr") if label in r.text][0]
    row.find_element(By.CSS_SELECTOR, "details.confirm > summary").click()
    submit_form(driver, row.find_element(By.CSS_SELECTOR, "details.confirm form"))
    assert f"The token {label} is revoked." in driver.find_element(By.CSS_SELECTOR, ".flash").text


def test_a_token_is_shown_once_works_with_curl_and_skopeo_and_is_refused_once_revoked(server, browser, skopeo):
    base = server.base_url
    sign_in(browser, base, *ALICE)
    open_page(browser, base + "/me")
    assert "No application tokens yet" in browser.find_element(By.TAG_NAME, "main").text
    accessible(browser)

    secret = create_token(browser, "ci")
    assert_clean(browser)
    accessible(browser)
    copy = browser.find_element(By.CSS_SELECTOR, "[data-copy-target='#token-secret']")
    assert copy.is_displayed()
    copy.click()
    wait_for(browser, lambda d: copy.text in ("Copied", "Press Ctrl+C"))
    screenshots(browser, "me-token-created")

    assert curl_v2(server, "alice", secret) == 200
    login = skopeo("login", "--cert-dir", str(server.cert_dir(server.data_dir.parent / "certs-skopeo")), "-u", "alice",
                   "-p", secret, server.host)
    assert "Login Succeeded" in login.stdout

    # Shown once: the account page lists it with its dates, never the secret.
    open_page(browser, base + "/me")
    assert secret not in browser.page_source
    assert texts(browser, "[aria-labelledby=me-tokens] tbody td:first-child") == ["ci"]
    screenshots(browser, "me")

    revoke_token(browser, base, "ci")
    assert_clean(browser)
    assert "No application tokens yet" in browser.find_element(By.TAG_NAME, "main").text
    assert refused_soon(server, "alice", secret)
    refused = skopeo("login", "--cert-dir", str(server.data_dir.parent / "certs-skopeo"), "-u", "alice", "-p", secret,
                     server.host, check=False)
    assert refused.returncode != 0


def test_a_team_is_created_bob_joins_it_and_it_is_deleted(server, browser):
    base = server.base_url
    sign_in(browser, base, *ALICE)
    open_page(browser, base + "/teams")
    accessible(browser)
    submit_form(browser, "form[action='/teams']", {"name": "crew", "description": XSS})
    assert_clean(browser)
    assert browser.execute_script("return location.pathname") == "/teams/crew"
    # The description is text: no element came out of it, and no alert opened.
    assert browser.find_elements(By.CSS_SELECTOR, "main img[src='x'], main script") == []
    assert "<script>alert(1)</script>" in browser.find_element(By.CSS_SELECTOR, ".team-description").text

    submit_form(browser, "form.team-add", {"user": "bob", "role": "contributor"})
    assert "bob is now a member of crew (contributor)." in browser.find_element(By.CSS_SELECTOR, ".flash").text
    roles = {
        row.find_element(By.CSS_SELECTOR, "td strong").text: row.find_element(By.CSS_SELECTOR, "select").get_attribute("value")
        for row in browser.find_elements(By.CSS_SELECTOR, "[aria-labelledby=team-members] tbody tr")
    }
    assert roles == {"alice": "owner", "bob": "contributor"}
    submit_form(browser, "form[action='/teams/crew/namespaces']", {"namespace": "crewns", "visibility": "public"})
    assert texts(browser, "[aria-labelledby=team-namespaces] .list__title") == ["crewns"]
    assert_clean(browser)
    accessible(browser)
    screenshots(browser, "team")

    # Bob sees it through the API with his own password, as a contributor.
    detail = requests.get(base + "/api/v1/teams/crew", auth=BOB, verify=server.verify, timeout=30).json()
    assert {"user": "bob", "role": "contributor"} in detail["members"]

    open_page(browser, base + "/teams")
    assert texts(browser, "[aria-labelledby=teams-list] .list__title") == ["crew"]
    screenshots(browser, "teams")

    open_page(browser, base + "/teams/crew/delete")
    accessible(browser)
    screenshots(browser, "team-delete")
    assert "crewns" in browser.find_element(By.TAG_NAME, "main").text
    submit_form(browser, "form[action='/teams/crew/delete']", {"namespaces": "delete", "confirm": "crew"})
    assert browser.execute_script("return location.pathname") == "/teams"
    assert "Team crew is deleted." in browser.find_element(By.CSS_SELECTOR, ".flash").text
    assert_clean(browser)


def test_without_javascript(server, browser_nojs, browser):
    base = server.base_url
    # Another browser of alice's, signed out by the password change below.
    sign_in(browser, base, *ALICE)
    sign_in(browser_nojs, base, *ALICE)
    open_page(browser_nojs, base + "/me")
    accessible(browser_nojs)

    secret = create_token(browser_nojs, "laptop", "never")
    # The copy button needs the script; the secret is there all the same.
    assert not browser_nojs.find_element(By.CSS_SELECTOR, "[data-copy-target='#token-secret']").is_displayed()
    accessible(browser_nojs)
    assert curl_v2(server, "alice", secret) == 200
    revoke_token(browser_nojs, base, "laptop")
    assert refused_soon(server, "alice", secret)

    submit_form(browser_nojs, "form[action='/me/password']", {
        "current_password": "alice password", "new_password": "alice new password",
        "new_password_confirmation": "alice new password",
    })
    assert browser_nojs.execute_script("return location.pathname") == "/me"
    assert "Your password is changed." in browser_nojs.find_element(By.CSS_SELECTOR, ".flash").text
    open_page(browser_nojs, base + "/me")
    assert browser_nojs.execute_script("return location.pathname") == "/me"
    open_page(browser, base + "/me")
    assert browser.execute_script("return location.pathname") == "/signin"
    assert curl_v2(server, "alice", "alice new password") == 200

    submit_form(browser_nojs, "form[action='/me/profile']", {"display_name": XSS, "email": "alice@example.com"})
    assert "Your profile is saved." in browser_nojs.find_element(By.CSS_SELECTOR, ".flash").text
    assert browser_nojs.find_elements(By.CSS_SELECTOR, "img[src='x']") == []
    assert browser_nojs.find_element(By.ID, "me-display-name").get_attribute("value") == XSS

    open_page(browser_nojs, base + "/teams")
    submit_form(browser_nojs, "form[action='/teams']", {"name": "ops", "description": "Operations"})
    submit_form(browser_nojs, "form.team-add", {"user": "bob", "role": "viewer"})
    bob_row = [r for r in browser_nojs.find_elements(By.CSS_SELECTOR, "[aria-labelledby=team-members] tbody tr") if "bob" in r.text][0]
    submit_form(browser_nojs, bob_row.find_element(By.CSS_SELECTOR, "form.team-role"), {"role": "contributor"})
    assert "bob is now a contributor of ops." in browser_nojs.find_element(By.CSS_SELECTOR, ".flash").text
    bob_row = [r for r in browser_nojs.find_elements(By.CSS_SELECTOR, "[aria-labelledby=team-members] tbody tr") if "bob" in r.text][0]
    bob_row.find_element(By.CSS_SELECTOR, "details.confirm > summary").click()
    submit_form(browser_nojs, bob_row.find_element(By.CSS_SELECTOR, "details.confirm form"))
    assert "bob is removed from ops." in browser_nojs.find_element(By.CSS_SELECTOR, ".flash").text
    accessible(browser_nojs)
    open_page(browser_nojs, base + "/teams/ops/delete")
    submit_form(browser_nojs, "form[action='/teams/ops/delete']", {"confirm": "ops"})
    assert "Team ops is deleted." in browser_nojs.find_element(By.CSS_SELECTOR, ".flash").text
    assert_clean(browser_nojs)
