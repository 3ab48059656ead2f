"""Browser helpers for the portal's end-to-end tests: headless Chromium through selenium.

A page test opens pages in a real browser (Debian's chromium and chromium-driver, installed by
`scripts/install-deps.sh test`), and checks what a person would meet there: no console errors
(Chromium reports Content-Security-Policy violations there too), an accessible page in the light
and the dark theme, and screenshots to look at.

    driver = start_browser(tmp_path)              # or the `browser` fixture of conftest.py
    sign_in(driver, wharf.url, "alice", "secret")
    driver.get(wharf.url + "/explore")
    assert_clean(driver)
    assert check_accessibility(driver) == []
    screenshots(driver, "explore")                # 4 PNGs; fails on dark-theme problems too
    stop_browser(driver)

Nothing here injects anything into a page: the checks run through WebDriver's script execution
(the DevTools protocol, which a page's CSP does not govern), never as an inline <script>.

Environment:
  CHROMIUM           the browser binary (default: /usr/bin/chromium)
  CHROMEDRIVER       its driver (default: /usr/bin/chromedriver); given by path, so selenium's
                     Selenium Manager never tries to download one
  WHARF_SCREENSHOTS  where screenshots() writes (default: <repo>/test-artifacts/screenshots)
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Mapping, Optional, TypeVar, Union

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

REPO_ROOT = Path(__file__).resolve().parents[2]

#: (label, width, height) of the viewports screenshots() takes.
VIEWPORTS = (("desktop", 1280, 900), ("phone", 360, 800))
#: The colour schemes screenshots() and the accessibility checks go through.
SCHEMES = ("light", "dark")
#: A full-page screenshot is cut at this height (an endless list should not make a huge PNG).
MAX_SHOT_HEIGHT = 8000

T = TypeVar("T")


# --------------------------------------------------------------------------- the browser


def chromium_path() -> str:
    return os.environ.get("CHROMIUM") or "/usr/bin/chromium"


def chromedriver_path() -> str:
    return os.environ.get("CHROMEDRIVER") or "/usr/bin/chromedriver"


def start_browser(
    profile_parent: Optional[Path] = None,
    *,
    javascript: bool = True,
    width: int = 1280,
    height: int = 900,
) -> webdriver.Chrome:
    """Start a headless Chromium with a fresh profile.

    `profile_parent`: a folder (the test's tmp) that gets the profile and the chromedriver log;
    without one, a temporary folder that stop_browser() removes. `javascript=False` blocks
    JavaScript for every page (Chromium's content setting), to prove a page works without it;
    WebDriver's own script execution (check_accessibility) still works in that browser.
    """
    binary, driver_bin = chromium_path(), chromedriver_path()
    for path, what in ((binary, "chromium"), (driver_bin, "chromedriver")):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise RuntimeError(
                f"{what} not found at {path}; run `scripts/install-deps.sh test` "
                f"(Debian's chromium and chromium-driver) or set {what.upper()}"
            )
    owned = profile_parent is None
    parent = Path(tempfile.mkdtemp(prefix="wharf-chromium-")) if owned else Path(profile_parent)
    parent.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="profile-", dir=parent))

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-color-profile=srgb",
        "--force-device-scale-factor=1",
        "--lang=en-US",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-sync",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--password-store=basic",
    ):
        options.add_argument(arg)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    # The server's certificate is self-signed (generated per test server).
    options.accept_insecure_certs = True
    # Console messages (errors, CSP violations) are read back by console_errors().
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    prefs: dict = {
        "credentials_enable_service": False,
        "profile.password_manager_enabled": False,
        "intl.accept_languages": "en-US,en",
    }
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2  # 2 = block
    options.add_experimental_option("prefs", prefs)

    service = Service(executable_path=driver_bin, log_output=str(parent / f"{profile.name}-chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    driver.wharf_profile = profile  # type: ignore[attr-defined]
    driver.wharf_owned_dir = parent if owned else None  # type: ignore[attr-defined]
    return driver


def stop_browser(driver: webdriver.Chrome) -> None:
    """Quit the browser (and remove its folder when start_browser() made it)."""
    try:
        driver.quit()
    finally:
        owned = getattr(driver, "wharf_owned_dir", None)
        if owned:
            shutil.rmtree(owned, ignore_errors=True)


# --------------------------------------------------------------------------- console


def console_errors(driver: webdriver.Chrome) -> list[str]:
    """The SEVERE console entries since the last call (each read empties Chromium's buffer).

    JavaScript errors, failed loads (404 of a script or stylesheet) and Content-Security-Policy
    violations ("Refused to execute inline script ...") all arrive here as SEVERE.
    """
    return [entry.get("message", "") for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]


def assert_clean(driver: webdriver.Chrome) -> None:
    """Fail when the browser console has errors since the last read."""
    errors = console_errors(driver)
    assert not errors, f"console errors on {driver.current_url}:\n  " + "\n  ".join(errors)


# --------------------------------------------------------------------------- emulation


def emulate_color_scheme(driver: webdriver.Chrome, scheme: Optional[str]) -> None:
    """Emulate `prefers-color-scheme` ("light" or "dark"); None ends the emulation. Waits until
    the colour transitions the switch started have ended, so what is measured next is the new
    theme's colours, not a blend of the two."""
    features = [] if scheme is None else [{"name": "prefers-color-scheme", "value": scheme}]
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": features})
    settle(driver)


def settle(driver: webdriver.Chrome, timeout: float = 3) -> None:
    """Wait (at most `timeout`) until no CSS transition or animation of the page is running,
    apart from endless ones (a pulsing live indicator)."""
    script = (
        "return document.getAnimations().filter(function (a) {"
        " var t = a.effect && a.effect.getComputedTiming ? a.effect.getComputedTiming() : null;"
        " return a.playState === 'running' && !(t && t.iterations === Infinity); }).length"
    )
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: d.execute_script(script) == 0)
    except TimeoutException:
        pass


def emulate_viewport(driver: webdriver.Chrome, width: Optional[int], height: int = 800, mobile: bool = False) -> None:
    """Emulate a viewport of width x height CSS pixels; width None ends the emulation."""
    if width is None:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        return
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


# --------------------------------------------------------------------------- accessibility

# Runs through execute_script (as the body of a function); returns a list of problem strings,
# each starting with its kind: "title:", "lang:", "landmark:", "name:", "alt:" or "contrast:".
_A11Y_JS = r"""
const doc = document;
const problems = [];

function squash(s) { return (s || '').replace(/\s+/g, ' ').trim(); }
function describe(el) {
  let s = el.tagName.toLowerCase();
  if (el.id) s += '#' + el.id;
  if (el.classList && el.classList.length) s += '.' + Array.from(el.classList).join('.');
  for (const a of ['name', 'type', 'href', 'src']) {
    const v = el.getAttribute(a);
    if (v) s += '[' + a + '="' + (v.length > 40 ? v.slice(0, 40) + '…' : v) + '"]';
  }
  const t = squash(el.innerText || el.textContent);
  if (t) s += ' "' + (t.length > 40 ? t.slice(0, 40) + '…' : t) + '"';
  return s;
}
function visible(el) {
  if (!el.getClientRects().length) return false;
  if (el.checkVisibility) return el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
  const cs = getComputedStyle(el);
  return cs.visibility !== 'hidden' && cs.display !== 'none';
}
function hiddenFromAT(el) { return !!el.closest('[aria-hidden="true"], [hidden], [inert]'); }

// --- the document
if (!squash(doc.title)) problems.push('title: the page has no <title>');
if (!squash(doc.documentElement.getAttribute('lang'))) problems.push('lang: <html> has no lang attribute');
for (const [name, sel] of [['main', 'main, [role="main"]'], ['header', 'header, [role="banner"]'],
                           ['nav', 'nav, [role="navigation"]']]) {
  if (!doc.querySelector(sel)) problems.push('landmark: no <' + name + '> landmark');
}

// --- names of form controls
function accessibleName(el) {
  const ids = el.getAttribute('aria-labelledby');
  if (ids) {
    const t = squash(ids.split(/\s+/).map(id => doc.getElementById(id)).filter(Boolean)
                        .map(e => e.textContent).join(' '));
    if (t) return t;
  }
  const label = squash(el.getAttribute('aria-label'));
  if (label) return label;
  for (const l of (el.labels || [])) {  // <label for> and a wrapping <label>
    const t = squash(l.textContent);
    if (t) return t;
  }
  const tag = el.tagName.toLowerCase(), type = (el.getAttribute('type') || '').toLowerCase();
  if (tag === 'button') {
    const t = squash(el.innerText || el.textContent);
    if (t) return t;
    for (const e of el.querySelectorAll('img[alt], [aria-label], svg title')) {
      const a = squash(e.getAttribute('alt') || e.getAttribute('aria-label') || e.textContent);
      if (a) return a;
    }
  }
  if (tag === 'input') {
    if (type === 'submit' || type === 'reset' || type === 'button') {
      const v = squash(el.value);
      if (v) return v;
      if (type !== 'button') return type;  // the browser's own "Submit" / "Reset"
    }
    if (type === 'image') { const a = squash(el.getAttribute('alt')); if (a) return a; }
  }
  return squash(el.getAttribute('title'));
}
for (const el of doc.querySelectorAll('input, select, textarea, button')) {
  if (el.type === 'hidden' || !visible(el) || hiddenFromAT(el)) continue;
  if (!accessibleName(el)) problems.push('name: ' + describe(el) + ' has no accessible name ' +
      '(label, aria-label, aria-labelledby, title or text)');
}

// --- text alternatives
for (const img of doc.querySelectorAll('img, input[type="image"]')) {
  if (hiddenFromAT(img)) continue;
  if (!img.hasAttribute('alt')) problems.push('alt: ' + describe(img) + ' has no alt attribute');
}
for (const el of doc.querySelectorAll('[role="img"]')) {
  if (hiddenFromAT(el)) continue;
  if (!squash(el.getAttribute('aria-label')) && !el.getAttribute('aria-labelledby') &&
      !squash((el.querySelector('title') || {}).textContent))
    problems.push('alt: ' + describe(el) + ' (role=img) has no aria-label');
}

// --- contrast
const canvas = doc.createElement('canvas');
canvas.width = canvas.height = 1;
const ctx = canvas.getContext('2d', {willReadFrequently: true});
const parsed = new Map();
function rgba(css) {  // any CSS colour (rgb, oklch, color-mix, ...) -> [r, g, b, a], 0-255 and 0-1
  if (parsed.has(css)) return parsed.get(css);
  ctx.clearRect(0, 0, 1, 1);
  ctx.fillStyle = '#000';
  ctx.fillStyle = css;
  ctx.fillRect(0, 0, 1, 1);
  const d = ctx.getImageData(0, 0, 1, 1).data;
  const c = [d[0], d[1], d[2], d[3] / 255];
  parsed.set(css, c);
  return c;
}
function over(top, bottom) {  // top (with alpha) over an opaque bottom
  const a = top[3];
  return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat([1]);
}
let canvasColour = null;
function pageCanvas() {  // what is under a transparent root: the Canvas colour of its colour scheme
  if (!canvasColour) {
    const probe = doc.createElement('div');
    probe.style.backgroundColor = 'Canvas';
    doc.documentElement.appendChild(probe);
    canvasColour = rgba(getComputedStyle(probe).backgroundColor);
    probe.remove();
    if (canvasColour[3] < 1) canvasColour = over(canvasColour, [255, 255, 255, 1]);
  }
  return canvasColour;
}
function background(el) {  // the effective background colour, or null under an image / gradient
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const cs = getComputedStyle(e);
    if (cs.backgroundImage && cs.backgroundImage !== 'none') return null;
    const c = rgba(cs.backgroundColor);
    if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
  }
  let bg = layers.length && layers[layers.length - 1][3] >= 1 ? layers.pop() : pageCanvas();
  while (layers.length) bg = over(layers.pop(), bg);
  return bg;
}
function luminance(c) {
  const [r, g, b] = [0, 1, 2].map(i => {
    const v = c[i] / 255;
    return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function ratio(a, b) {
  const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (l1 + 0.05) / (l2 + 0.05);
}
function css(c) { return 'rgb(' + c.slice(0, 3).map(Math.round).join(', ') + ')'; }
const skip = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'OPTION', 'OPTGROUP', 'TITLE', 'HEAD']);
for (const el of [doc.body, ...doc.body.querySelectorAll('*')]) {
  if (!el || skip.has(el.tagName)) continue;
  if (!Array.from(el.childNodes).some(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim())) continue;
  if (!visible(el) || el.closest(':disabled')) continue;
  const box = el.getBoundingClientRect();
  if (box.width <= 1 || box.height <= 1) continue;  // visually hidden text for screen readers
  const cs = getComputedStyle(el);
  const bg = background(el);
  if (!bg) continue;
  const fg = over(rgba(cs.color), bg);
  const size = parseFloat(cs.fontSize), weight = parseInt(cs.fontWeight, 10) || 400;
  const large = size >= 24 || (size >= 18.66 && weight >= 700);
  const need = large ? 3 : 4.5;
  const r = ratio(fg, bg);
  if (r < need - 1e-9) {
    problems.push('contrast: ' + r.toFixed(2) + ':1 < ' + need + ':1 for ' + describe(el) + ' (' +
        css(fg) + ' on ' + css(bg) + ', ' + size + 'px ' + weight + ')');
  }
}
return problems;
"""


def check_accessibility(driver: webdriver.Chrome, color_scheme: Optional[str] = None) -> list[str]:
    """Accessibility problems of the current page, [] when there are none.

    Checks: a <title>; <html lang>; the main, header (banner) and nav landmarks; an accessible
    name for every visible input/select/textarea/button (label[for], wrapping label, aria-label,
    aria-labelledby, title, or a button's text/value); alt on every image; text contrast of
    at least 4.5:1 (3:1 for large text: 24px, or 18.66px bold) for every visible element with
    text of its own, against the background found by walking up its ancestors and blending
    translucent ones (text over a background image or gradient is not judged).
    Each problem starts with its kind: "title:", "lang:", "landmark:", "name:", "alt:",
    "contrast:". `color_scheme` ("light"/"dark") checks under that emulated preference.
    """
    if color_scheme is not None:
        emulate_color_scheme(driver, color_scheme)
    try:
        problems = driver.execute_script(_A11Y_JS)
    finally:
        if color_scheme is not None:
            emulate_color_scheme(driver, None)
    return list(problems or [])


# --------------------------------------------------------------------------- screenshots


def screenshots_dir() -> Path:
    env = os.environ.get("WHARF_SCREENSHOTS")
    return Path(env) if env else REPO_ROOT / "test-artifacts" / "screenshots"


def screenshots(
    driver: webdriver.Chrome,
    name: str,
    folder: Optional[Union[str, Path]] = None,
    *,
    check: bool = True,
) -> list[Path]:
    """Screenshot the current page at 1280x900 (desktop) and 360x800 (phone, mobile emulation),
    light and dark, into folder/NAME-{desktop,phone}-{light,dark}.png (the full page height, up
    to MAX_SHOT_HEIGHT). Checks accessibility under each of the four too, and with `check`
    fails (after writing every PNG) when any is found: contrast must hold in both themes and
    a narrow screen must not hide a control's label.
    """
    out = Path(folder) if folder is not None else screenshots_dir()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    problems: list[str] = []
    try:
        for label, width, height in VIEWPORTS:
            emulate_viewport(driver, width, height, mobile=(label == "phone"))
            for scheme in SCHEMES:
                emulate_color_scheme(driver, scheme)
                full = driver.execute_script(
                    "return Math.max(document.documentElement.scrollHeight,"
                    " document.body ? document.body.scrollHeight : 0)"
                )
                shot_height = max(height, min(int(full or height), MAX_SHOT_HEIGHT))
                shot = driver.execute_cdp_cmd(
                    "Page.captureScreenshot",
                    {
                        "format": "png",
                        "captureBeyondViewport": shot_height > height,
                        "clip": {"x": 0, "y": 0, "width": width, "height": shot_height, "scale": 1},
                    },
                )
                path = out / f"{name}-{label}-{scheme}.png"
                path.write_bytes(base64.b64decode(shot["data"]))
                written.append(path)
                problems += [f"{label} {scheme}: {p}" for p in driver.execute_script(_A11Y_JS) or []]
    finally:
        emulate_color_scheme(driver, None)
        emulate_viewport(driver, None)
    if check:
        assert not problems, f"accessibility problems on {driver.current_url} ({name}):\n  " + "\n  ".join(
            dict.fromkeys(problems)
        )
    return written


# --------------------------------------------------------------------------- waiting and forms


def wait_for(driver: webdriver.Chrome, condition: Callable[[webdriver.Chrome], T], timeout: float = 15) -> T:
    """Wait until condition(driver) is truthy (a live update arrived) and return its value. A live update
    replaces its region's elements, so an element the condition found may be swapped out before it reads it
    (StaleElementReferenceException): that is asked again, like a false answer."""
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def wait_for_element(driver: webdriver.Chrome, css: str, timeout: float = 15) -> WebElement:
    """Wait until an element matching the CSS selector is visible, and return it."""
    return wait_for(driver, EC.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout)


def wait_for_text(driver: webdriver.Chrome, css: str, text: str, timeout: float = 15) -> WebElement:
    """Wait until the element matching the CSS selector contains `text`, and return it."""
    wait_for(driver, EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text), timeout)
    return driver.find_element(By.CSS_SELECTOR, css)


def fill_form(form: WebElement, fields: Mapping[str, Union[str, bool]]) -> None:
    """Fill a form's fields by name: text is typed (after clearing), a bool sets a checkbox,
    a select gets the option with that value (or else that visible text), a radio group the
    input with that value."""
    for name, value in fields.items():
        elements = form.find_elements(By.NAME, name)
        assert elements, f"the form has no field named {name!r}"
        el = elements[0]
        tag, kind = el.tag_name.lower(), (el.get_attribute("type") or "").lower()
        if tag == "select":
            select = Select(el)
            try:
                select.select_by_value(str(value))
            except Exception:
                select.select_by_visible_text(str(value))
        elif kind == "checkbox":
            if el.is_selected() != bool(value):
                el.click()
        elif kind == "radio":
            match = [e for e in elements if e.get_attribute("value") == str(value)]
            assert match, f"no radio button {name}={value!r}"
            if not match[0].is_selected():
                match[0].click()
        else:
            el.clear()
            el.send_keys(str(value))


def find_form(driver: webdriver.Chrome, form: Union[str, WebElement, None] = None) -> WebElement:
    """A form element: the one given, the first matching a CSS selector, or the page's only form
    with a visible submit button."""
    if isinstance(form, WebElement):
        return form
    if form is not None:
        return driver.find_element(By.CSS_SELECTOR, form)
    forms = [f for f in driver.find_elements(By.CSS_SELECTOR, "form") if _submit_buttons(f)]
    assert forms, f"no form with a submit button on {driver.current_url}"
    return forms[0]


def _submit_buttons(form: WebElement) -> list[WebElement]:
    return [
        b
        for b in form.find_elements(By.CSS_SELECTOR, "button:not([type]), button[type=submit], input[type=submit]")
        if b.is_displayed()
    ]


def submit_form(
    driver: webdriver.Chrome,
    form: Union[str, WebElement, None] = None,
    fields: Optional[Mapping[str, Union[str, bool]]] = None,
    button: Optional[str] = None,
    timeout: float = 30,
) -> None:
    """Fill a form (see fill_form), click its submit button (the first, or the one matching the
    CSS selector `button` inside the form) and wait until the next page has loaded."""
    element = find_form(driver, form)
    if fields:
        fill_form(element, fields)
    if button is not None:
        target = element.find_element(By.CSS_SELECTOR, button)
    else:
        buttons = _submit_buttons(element)
        assert buttons, "the form has no visible submit button"
        target = buttons[0]
    html = driver.find_element(By.TAG_NAME, "html")
    target.click()
    wait_for_page(driver, html, timeout)


def wait_for_page(driver: webdriver.Chrome, old_html: WebElement, timeout: float = 30) -> None:
    """Wait until the page whose <html> element was `old_html` has been replaced and loaded."""
    try:
        wait_for(driver, lambda d: _is_stale(old_html), timeout)
        wait_for(driver, lambda d: d.execute_script("return document.readyState") == "complete", timeout)
    except TimeoutException as e:
        raise AssertionError(f"no new page within {timeout} s (still at {driver.current_url})") from e


def _is_stale(element: WebElement) -> bool:
    """Whether `element` belongs to a document that has been replaced. Chromium answers either with a
    stale-element error or, when it has already dropped the old document's nodes, with an inspector
    error saying the node "does not belong to the document": both mean the page changed."""
    try:
        element.is_enabled()
        return False
    except StaleElementReferenceException:
        return True
    except WebDriverException as e:
        if "does not belong to the document" in str(e):
            return True
        raise


def sign_in(driver: webdriver.Chrome, base: str, name: str, password: str) -> None:
    """Sign in through the form at BASE/signin (fields `name` and `password`); fails when the
    browser is still at /signin afterwards (a refused sign-in shows the form again)."""
    driver.get(base.rstrip("/") + "/signin")
    submit_form(driver, "form:has(input[name=password])", {"name": name, "password": password})
    path = driver.execute_script("return location.pathname")
    assert path != "/signin", f"sign-in as {name!r} was refused: " + _flash(driver)


def _flash(driver: webdriver.Chrome) -> str:
    els = driver.find_elements(By.CSS_SELECTOR, ".flash, [role=alert], .error")
    return " / ".join(e.text for e in els if e.text) or "(no message shown)"


def texts(driver: webdriver.Chrome, css: str) -> list[str]:
    """The visible texts of every element matching the CSS selector."""
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)]


def open_page(driver: webdriver.Chrome, url: str, *, clean: bool = True) -> None:
    """Load a page; with `clean`, fail on any console error its loading produced."""
    console_errors(driver)  # forget what earlier pages said
    driver.get(url)
    if clean:
        assert_clean(driver)


__all__ = [
    "start_browser",
    "stop_browser",
    "console_errors",
    "assert_clean",
    "emulate_color_scheme",
    "emulate_viewport",
    "check_accessibility",
    "screenshots",
    "screenshots_dir",
    "wait_for",
    "wait_for_element",
    "wait_for_text",
    "wait_for_page",
    "fill_form",
    "find_form",
    "submit_form",
    "sign_in",
    "texts",
    "open_page",
]
