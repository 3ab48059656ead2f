"""The browser harness (browser.py) itself: its checks fail on bad pages and pass on a good one.

Small pages of our own are served from a tmp folder by Python's http.server with the portal's
Content-Security-Policy (`default-src 'self'`), so every style and script is an external file.
"""

from __future__ import annotations

import re
import ssl
import struct
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from selenium.webdriver.common.by import By

from browser import (
    assert_clean,
    check_accessibility,
    console_errors,
    screenshots,
    sign_in,
    submit_form,
    texts,
    wait_for_text,
)

CSP = "default-src 'self'"


def page(body: str, *, lang: str = ' lang="en"', title: str = "Harness page", css: str = "good.css",
         script: str = "") -> str:
    scripts = f'<script src="/{script}" defer></script>' if script else ""
    return (
        f"<!doctype html>\n<html{lang}><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{title}</title><link rel="icon" href="/favicon.svg">'
        f'<link rel="stylesheet" href="/{css}">{scripts}</head>\n<body>{body}</body></html>\n'
    )


CHROME = '<header><nav aria-label="Site"><a href="/good.html">Home</a> <a href="/other.html">Other</a></nav></header>'

GOOD_BODY = CHROME + """
<main>
  <h1 id="big">A large heading of lower contrast</h1>
  <p id="js-state">no js</p>
  <p>Ordinary text. <a href="/good.html">A link</a>, <strong>strong words</strong>.</p>
  <div class="dark-panel"><p id="veiled-ok">White text on a faint white veil over black.</p></div>
  <img src="/favicon.svg" alt="Wharf" width="32" height="32">
  <img src="/favicon.svg" alt="" width="16" height="16">
  <span class="sr-only">Only for screen readers</span>
  <form method="get" action="/good.html">
    <input type="hidden" name="_csrf" value="x">
    <label for="q">Search</label> <input id="q" name="q" type="search">
    <label>Remember <input type="checkbox" name="remember"></label>
    <select name="kind" aria-label="Kind"><option>One</option><option>Two</option></select>
    <textarea name="note" title="A note"></textarea>
    <input type="submit" value="Go">
    <button type="button" aria-label="Close">×</button>
  </form>
""" + "".join(f"  <p>Line {i} to make the page longer than one screen.</p>\n" for i in range(40)) + "</main>\n"

GOOD_CSS = """
:root { color-scheme: light dark; }
body { margin: 0; font: 16px/1.5 sans-serif; background: #ffffff; color: #1a1a1a; }
header { background: #0b3d91; padding: 8px 16px; }
header a { color: #ffffff; }
main { padding: 16px; }
a { color: #0645ad; }
#big { font-size: 32px; color: #888888; }
.dark-panel { background: #000000; padding: 8px; }
.dark-panel p { background: rgba(255, 255, 255, 0.1); color: #ffffff; margin: 0; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); color: #eeeeee; }
@media (prefers-color-scheme: dark) {
  body { background: #121417; color: #e6e6e6; }
  a { color: #8ab4f8; }
  #big { color: #8a8a8a; }
}
"""

# Readable in the light theme only: the dark theme keeps a dark text colour.
DARK_LOW_CSS = GOOD_CSS + """
@media (prefers-color-scheme: dark) {
  #dim { color: #333333; }
}
"""

LOW_CSS = GOOD_CSS + """
/* pale grey on white paper, in both themes: 2.85:1 */
.paper { background: #ffffff; }
#faint { color: #999999; }
/* white text on half-transparent black over white: rgb(128,128,128) behind it, 3.95:1 */
.veil { background: #ffffff; }
.veil p { background: rgba(0, 0, 0, 0.5); color: #ffffff; }
"""

PAGES = {
    "good.html": page(GOOD_BODY, script="good.js"),
    "other.html": page(CHROME + "<main><h1>Other</h1><p>Another page.</p></main>"),
    "nolabel.html": page(CHROME + '<main><form><input name="q" id="unlabelled"><button></button></form></main>'),
    "nolang.html": page(CHROME + "<main><p>No language.</p></main>", lang=""),
    "nolandmarks.html": page("<div><p>No landmarks at all.</p></div>"),
    "noalt.html": page(CHROME + '<main><img src="/favicon.svg" id="bare"></main>'),
    "lowcontrast.html": page(
        CHROME + '<main><div class="paper"><p id="faint">Pale grey text.</p></div><div class="veil"><p id="veiled">Veiled.</p></div></main>',
        css="low.css",
    ),
    "darklow.html": page(CHROME + '<main><p id="dim">Dark grey text.</p></main>', css="darklow.css"),
    "csp.html": page(CHROME + '<main><p id="inline">inline did not run</p>'
                     "<script>document.getElementById('inline').textContent = 'inline ran';</script></main>"),
    "jserror.html": page(CHROME + "<main><p>Throws.</p></main>", script="error.js"),
    "live.html": page(CHROME + '<main><p id="live">waiting</p></main>', script="live.js"),
    "signin.html": page(CHROME + """<main><h1>Sign in</h1>
<form method="post" action="/signin">
  <label for="name">Name</label> <input id="name" name="name" autocomplete="username">
  <label for="password">Password</label> <input id="password" name="password" type="password">
  <button type="submit">Sign in</button>
</form></main>"""),
    "welcome.html": page(CHROME + "<main><h1 id='welcome'>Welcome</h1></main>"),
}

FILES = {
    "good.css": GOOD_CSS,
    "low.css": LOW_CSS,
    "darklow.css": DARK_LOW_CSS,
    "good.js": "document.getElementById('js-state').textContent = 'js ran';\n",
    "error.js": "window.notAFunction();\n",
    "live.js": "setTimeout(function () { document.getElementById('live').textContent = 'updated'; }, 300);\n",
    "favicon.svg": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
                   '<rect width="16" height="16" fill="#0b3d91"/></svg>\n',
}


class Handler(SimpleHTTPRequestHandler):
    """Static files with the CSP; /signin is a tiny sign-in (alice / right) answering 303 or the form."""

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self) -> None:
        if self.path == "/signin":
            self.path = "/signin.html"
        super().do_GET()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        if self.path == "/signin" and form.get("name") == ["alice"] and form.get("password") == ["right"]:
            self.send_response(303)
            self.send_header("Location", "/welcome.html")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.path = "/signin.html"
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def site_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("site")
    for name, text in {**PAGES, **FILES}.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def serve(root: Path, context: ssl.SSLContext | None = None):
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def site(site_root):
    server = serve(site_root)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory, site_root):
    """The same pages over HTTPS with a self-signed certificate (as Wharf serves by default)."""
    work = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-keyout", str(work / "key.pem"), "-out", str(work / "cert.pem")],
        check=True, capture_output=True, stdin=subprocess.DEVNULL,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(work / "cert.pem", work / "key.pem")
    server = serve(site_root, context)
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def kinds(problems: list[str]) -> set[str]:
    return {p.split(":", 1)[0] for p in problems}


# --------------------------------------------------------------------------- accessibility


def test_good_page_has_no_problems_in_either_theme(browser, site):
    browser.get(site + "/good.html")
    assert_clean(browser)
    assert check_accessibility(browser) == []
    assert check_accessibility(browser, "light") == []
    assert check_accessibility(browser, "dark") == []


def test_missing_label_is_reported(browser, site):
    browser.get(site + "/nolabel.html")
    problems = check_accessibility(browser)
    assert kinds(problems) == {"name"}, problems
    assert any("input#unlabelled" in p for p in problems), problems
    assert any(p.startswith("name: button") for p in problems), problems


def test_missing_lang_is_reported(browser, site):
    browser.get(site + "/nolang.html")
    assert check_accessibility(browser) == ["lang: <html> has no lang attribute"]


def test_missing_landmarks_are_reported(browser, site):
    browser.get(site + "/nolandmarks.html")
    problems = check_accessibility(browser)
    assert sorted(problems) == [
        "landmark: no <header> landmark",
        "landmark: no <main> landmark",
        "landmark: no <nav> landmark",
    ]


def test_missing_alt_is_reported(browser, site):
    browser.get(site + "/noalt.html")
    problems = check_accessibility(browser)
    assert len(problems) == 1 and problems[0].startswith("alt: img#bare"), problems


def test_low_contrast_is_reported_with_colours_and_ratio(browser, site):
    browser.get(site + "/lowcontrast.html")
    for scheme in ("light", "dark"):
        problems = check_accessibility(browser, scheme)
        faint = [p for p in problems if "p#faint" in p]
        veiled = [p for p in problems if "p#veiled" in p]
        assert len(problems) == 2 and faint and veiled, (scheme, problems)
        # #999 on white: 2.85:1; the veil blends to rgb(128, 128, 128) behind white text: 3.95:1.
        assert faint[0].startswith("contrast: 2.85:1 < 4.5:1"), faint
        assert "rgb(153, 153, 153) on rgb(255, 255, 255)" in faint[0], faint
        # (the canvas that reads colours keeps alpha in 1/255 steps: 127 or 128, 3.95 to 4.00:1)
        assert re.match(r"contrast: (3\.9\d|4\.00):1 < 4\.5:1", veiled[0]), veiled
        assert re.search(r"rgb\(255, 255, 255\) on rgb\(12[78], 12[78], 12[78]\)", veiled[0]), veiled


def test_low_contrast_only_in_dark_theme_is_reported(browser, site):
    browser.get(site + "/darklow.html")
    assert check_accessibility(browser, "light") == []
    problems = check_accessibility(browser, "dark")
    assert len(problems) == 1, problems
    assert problems[0].startswith("contrast: ") and "p#dim" in problems[0], problems
    assert "rgb(51, 51, 51) on rgb(18, 20, 23)" in problems[0], problems
    # screenshots() checks the dark theme too.
    with pytest.raises(AssertionError, match="p#dim"):
        screenshots(browser, "darklow", browser.wharf_profile.parent / "shots-darklow")


# --------------------------------------------------------------------------- console


def test_csp_violation_shows_in_console_errors(browser, site):
    browser.get(site + "/csp.html")
    errors = console_errors(browser)
    assert any("Content Security Policy" in e and "inline script" in e for e in errors), errors
    assert browser.find_element(By.ID, "inline").text == "inline did not run"
    assert console_errors(browser) == []  # only what is new since the last call


def test_javascript_error_shows_in_console_errors(browser, site):
    browser.get(site + "/jserror.html")
    with pytest.raises(AssertionError, match="notAFunction"):
        assert_clean(browser)
    browser.get(site + "/good.html")
    assert_clean(browser)


def test_javascript_disabled_browser_runs_no_script(browser, browser_nojs, site):
    browser.get(site + "/good.html")
    assert browser.find_element(By.ID, "js-state").text == "js ran"
    browser_nojs.get(site + "/good.html")
    assert browser_nojs.find_element(By.ID, "js-state").text == "no js"
    # The harness's own checks still run there.
    assert check_accessibility(browser_nojs) == []
    assert_clean(browser_nojs)


# --------------------------------------------------------------------------- helpers


def test_self_signed_certificate_is_accepted(browser, tls_site):
    browser.get(tls_site + "/good.html")
    assert browser.find_element(By.ID, "js-state").text == "js ran"
    assert_clean(browser)


def test_wait_for_a_live_update(browser, site):
    browser.get(site + "/live.html")
    assert wait_for_text(browser, "#live", "updated").text == "updated"


def test_sign_in_and_a_refused_sign_in(browser, site):
    with pytest.raises(AssertionError, match="refused"):
        sign_in(browser, site, "alice", "wrong")
    sign_in(browser, site, "alice", "right")
    assert browser.current_url == site + "/welcome.html"
    assert texts(browser, "#welcome") == ["Welcome"]
    browser.get(site + "/good.html")
    submit_form(browser, "main form", {"q": "hello", "remember": True, "kind": "Two", "note": "n"})
    assert "q=hello" in browser.current_url and "remember=on" in browser.current_url
    assert "kind=Two" in browser.current_url


# --------------------------------------------------------------------------- screenshots


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", data[16:24])


def test_screenshots_are_written_at_both_widths_and_themes(browser, site, tmp_path):
    browser.get(site + "/good.html")
    paths = screenshots(browser, "good", tmp_path)
    names = sorted(p.name for p in paths)
    assert names == ["good-desktop-dark.png", "good-desktop-light.png", "good-phone-dark.png", "good-phone-light.png"]
    for p in paths:
        assert p.stat().st_size > 1000, p
        width, height = png_size(p)
        assert width == (1280 if "desktop" in p.name else 360), (p.name, width)
        assert height >= (900 if "desktop" in p.name else 800), (p.name, height)
    # The page is longer than one screen: the whole page is taken.
    assert png_size(tmp_path / "good-phone-light.png")[1] > 800
    # Light and dark differ.
    assert (tmp_path / "good-desktop-light.png").read_bytes() != (tmp_path / "good-desktop-dark.png").read_bytes()
    assert_clean(browser)


def test_screenshots_go_to_the_folder_of_the_environment(browser, site, tmp_path, monkeypatch):
    monkeypatch.setenv("WHARF_SCREENSHOTS", str(tmp_path / "env-shots"))
    browser.get(site + "/other.html")
    paths = screenshots(browser, "other")
    assert sorted(p.name for p in (tmp_path / "env-shots").iterdir()) == sorted(p.name for p in paths)
    assert len(paths) == 4
