"""The weight of a first visit to the portal (issue 14: under 150 KiB transferred): a browser that has
never been here asks for `/`, is sent to Explore (anonymous browsing, the default) or the sign-in page,
loads the stylesheet, script and favicon they link, signs in and lands on the dashboard (whose static files it already holds: they are immutable).
Every response is counted as it comes over the wire (its headers and its body, gzipped where the server
gzips for a client that sends `Accept-Encoding: gzip`), and the total is printed.
"""

from __future__ import annotations

import re

PASSWORD = "weight-password-1"
BUDGET = 150 * 1024
STATIC = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def wire_size(response) -> int:
    """The bytes of a response as sent: status line, headers and the body undecoded."""
    body = response.raw.read(decode_content=False)
    head = len(f"HTTP/1.1 {response.status_code} {response.reason}\r\n")
    head += sum(len(f"{name}: {value}\r\n") for name, value in response.raw.headers.items()) + 2
    return head + len(body)


def test_first_visit_weighs_under_150_kib(wharf_auth):
    server = wharf_auth
    server.create_user("visitor", PASSWORD)
    session = server.session()
    session.headers["Accept-Encoding"] = "gzip, deflate, br"
    sizes: list[tuple[str, int]] = []

    def fetch(method: str, path: str, **kwargs):
        response = session.request(method, server.url(path), stream=True, allow_redirects=False, **kwargs)
        sizes.append((f"{method} {path}", wire_size(response)))
        return response

    first = fetch("GET", "/")
    assert first.status_code in (302, 303), first.status_code
    # Explore when anonymous browsing is on (the default), else the sign-in page: the page the visitor lands
    # on, and then the sign-in page they go to.
    landing = "/" + first.headers["Location"].split("/", 3)[-1] if "://" in first.headers["Location"] else first.headers["Location"]
    assert landing in ("/explore", "/signin"), landing
    statics: list[str] = []
    for path in dict.fromkeys([landing, "/signin"]):
        page = fetch("GET", path)
        assert page.status_code == 200, path
        # The body is read already; read the page again decoded to find its links and token.
        html = session.get(server.url(path)).text
        statics += STATIC.findall(html)
    assert any(s.endswith(".css") for s in statics) and any(s.endswith(".js") for s in statics), statics
    assert any("favicon" in s for s in statics), statics
    for path in sorted(set(statics)):
        response = fetch("GET", path)
        assert response.status_code == 200, path
        if path.endswith((".css", ".js")):
            # Text the server compresses for a client that accepts it.
            assert response.headers.get("Content-Encoding") == "gzip", path
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
    posted = fetch("POST", "/signin", data={"name": "visitor", "password": PASSWORD, "_csrf": token})
    assert posted.status_code == 303, posted.status_code
    dashboard = fetch("GET", "/")
    assert dashboard.status_code == 200
    # The dashboard links no static file the sign-in page did not.
    dashboard_html = session.get(server.url("/")).text
    assert "visitor" in dashboard_html
    assert set(STATIC.findall(dashboard_html)) <= set(statics)

    total = sum(size for _, size in sizes)
    print("\nfirst visit, bytes over the wire:")
    for name, size in sizes:
        print(f"  {size:8d}  {name}")
    print(f"  {total:8d}  total ({total / 1024:.1f} KiB, budget {BUDGET // 1024} KiB)")
    assert total < BUDGET, sizes
