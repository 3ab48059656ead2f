"""The portal with LDAP on, in a real browser against the test slapd (scripts/slapd-test-server.sh, started by
scripts/test.sh): the sign-in page says to use the directory account and offers no sign-up; alice (in the
directory's admin group) signs in, becomes an administrator and sees the directory's card on the status page; her
account page has no password form; a wrong directory password is refused on the page. Accessibility in light and
dark, no console errors, and screenshots (signin-ldap, admin-status-ldap, me-ldap)."""

from __future__ import annotations

import os

import pytest

from browser import (
    open_page,
    screenshots,
    sign_in,
    submit_form,
    texts,
)


def ldap_environment() -> dict:
    """Wharf's ldap.* settings for the test directory: search as the reader, then bind; StartTLS with the test CA."""
    missing = [k for k in ("WHARF_TEST_LDAP_URL", "WHARF_TEST_LDAP_CA", "WHARF_TEST_LDAP_READER_DN") if k not in os.environ]
    if missing:
        pytest.fail(f"{', '.join(missing)} not set: run the tests through scripts/test.sh, which starts slapd "
                    "(scripts/slapd-test-server.sh)", pytrace=False)
    base = os.environ["WHARF_TEST_LDAP_BASE"]
    return {
        "WHARF_LDAP_ENABLED": "on",
        "WHARF_LDAP_URL": os.environ["WHARF_TEST_LDAP_URL"],
        "WHARF_LDAP_ENCRYPTION": "starttls",
        "WHARF_LDAP_CA_FILE": os.environ["WHARF_TEST_LDAP_CA"],
        "WHARF_LDAP_BASE_DN": f"ou=people,{base}",
        "WHARF_LDAP_BIND_DN": os.environ["WHARF_TEST_LDAP_READER_DN"],
        "WHARF_LDAP_BIND_PASSWORD": os.environ["WHARF_TEST_LDAP_READER_PASSWORD"],
        "WHARF_LDAP_ADMIN_GROUP": f"cn=admins,ou=groups,{base}",
        "WHARF_LDAP_GROUP_BASE_DN": f"ou=groups,{base}",
    }


@pytest.fixture
def server(wharf_factory):
    return wharf_factory(tls=True, auth=True, env=ldap_environment())


def test_directory_sign_in_status_card_and_account_page(server, browser):
    base = server.base_url
    open_page(browser, base + "/signin")
    page = browser.find_element("css selector", "main").text
    assert "directory (LDAP) account" in page
    assert not browser.find_elements("css selector", "a[href='/signup']"), "sign-up is offered while LDAP is on"
    screenshots(browser, "signin-ldap")

    # A wrong directory password is refused on the page, with the usual message.
    submit_form(browser, "form:has(input[name=password])", {"name": "bob", "password": "not-bobs-password"})
    assert browser.execute_script("return location.pathname") == "/signin"
    assert any("Wrong user name or password" in t for t in texts(browser, "[role=alert]")), texts(browser, "[role=alert]")

    sign_in(browser, base, "alice", "alice-password")
    open_page(browser, base + "/admin")
    card = browser.find_element("css selector", "section[aria-labelledby=status-ldap]").text
    assert "reachable" in card and os.environ["WHARF_TEST_LDAP_URL"] in card, card
    assert "search as the bind account" in card and "mirror" in card, card
    # the test directory has groups but this server no team of their names: the card says what to do
    assert "No team is named like a directory group yet" in card, card
    screenshots(browser, "admin-status-ldap")

    open_page(browser, base + "/me")
    assert "change your password there" in browser.find_element("css selector", "main").text
    assert "come from the directory" in browser.find_element("css selector", "main").text
    assert not browser.find_elements("css selector", "input[name=current_password]")
    screenshots(browser, "me-ldap")

    # The account the directory made: linked, an administrator through the admin group.
    listed = server.cli("user", "list").stdout
    assert "alice" in listed, listed
