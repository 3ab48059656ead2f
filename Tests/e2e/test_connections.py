"""Connections that hold a file descriptor without doing their part (issue 9, item 6), and the TLS offer.

Each test sets short timeouts through the environment (`WHARF_HTTP_*`) and asserts that the server itself
closed the connection (the client sees EOF or a reset) within a generous bound, or that a legitimate client is
still served. Timings are bounds, never sleeps standing in for an assertion.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import os
import resource
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
import requests

from ocihelpers import sha256

# Generous bound for "the server closed it": the timeouts in these tests are 2 s.
CLOSE_BOUND = 15.0
SHORT = {
    "WHARF_HTTP_TLS_HANDSHAKE_TIMEOUT": "2s",
    "WHARF_HTTP_REQUEST_HEAD_TIMEOUT": "2s",
    "WHARF_HTTP_IDLE_TIMEOUT": "2s",
    "WHARF_HTTP_BODY_IDLE_TIMEOUT": "2s",
}
# Timeouts that cannot fire during a test, so that only the connection cap closes anything.
LONG = {
    "WHARF_HTTP_TLS_HANDSHAKE_TIMEOUT": "10m",
    "WHARF_HTTP_REQUEST_HEAD_TIMEOUT": "10m",
    "WHARF_HTTP_IDLE_TIMEOUT": "10m",
    "WHARF_HTTP_BODY_IDLE_TIMEOUT": "10m",
}


# --------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def enough_descriptors_for_the_client():
    """The tests hold a few hundred sockets themselves."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 4096)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def tls_context(server, alpn=("http/1.1",)) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(server.cert_path))
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def open_raw(server, timeout: float = 5.0) -> socket.socket:
    """A TCP connection that never starts the TLS handshake."""
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


def open_tls(server, ctx: ssl.SSLContext, timeout: float = 5.0, rcvbuf: int | None = None) -> ssl.SSLSocket:
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    raw.settimeout(timeout)
    raw.connect(("127.0.0.1", server.port))
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def half_head(server) -> bytes:
    """A request head without its final blank line: the server waits for the rest."""
    return f"GET /v2/ HTTP/1.1\r\nHost: {server.host}\r\nUser-Agent: slow".encode()


def closed_by_server(sock: socket.socket, deadline: float) -> bool:
    """True when the peer closes `sock` (EOF or reset) before `deadline` (time.monotonic())."""
    while True:
        remaining = deadline - time.monotonic()
        sock.settimeout(max(0.05, remaining))
        try:
            data = sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return False
        except (ConnectionError, ssl.SSLError, OSError):
            return True
        if not data:
            return True
        if remaining <= 0:
            return False


def still_open(sock: socket.socket) -> bool:
    """True when `sock` has neither data nor EOF waiting (the server has not closed it)."""
    sock.settimeout(0.3)
    try:
        data = sock.recv(1)
    except (socket.timeout, TimeoutError):
        return True
    except (ConnectionError, ssl.SSLError, OSError):
        return False
    return bool(data)


def close_all(socks) -> None:
    for s in socks:
        with contextlib.suppress(OSError):
            s.close()


def read_http_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Reads a response head; returns (status, lower-cased headers, body bytes already read)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before the response head: {data!r}"
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, rest


def push_blob(server, repo: str, data: bytes) -> str:
    digest = sha256(data)
    r = server.session().post(server.url(f"/v2/{repo}/blobs/uploads/"), params={"digest": digest}, data=data)
    assert r.status_code == 201, r.text
    return digest


def wharf_with_ulimit(wharf_factory, limit: int, env: dict):
    """A Wharf started by `bash -c 'ulimit -n LIMIT; exec wharf serve ...'` (soft and hard limit both LIMIT)."""
    w = wharf_factory(start=False, env=env)
    command = w.command
    w.command = lambda: ["bash", "-c", f'ulimit -n {limit} && exec "$@"', "wharf-ulimit", *command()]
    w.start()
    limits = Path(f"/proc/{w.proc.pid}/limits").read_text()
    line = next(l for l in limits.splitlines() if l.startswith("Max open files"))
    assert line.split()[3:5] == [str(limit), str(limit)], line
    return w


# --------------------------------------------------------------------------- the connection cap


def test_client_is_served_while_300_idle_connections_are_held_against_256_descriptors(wharf_factory):
    """The issue's scenario: under `ulimit -n 256`, 150 connections that never start TLS and 150 with half-sent
    request heads; a normal GET /v2/ must still be answered at once (today it times out until they leave)."""
    w = wharf_with_ulimit(wharf_factory, 256, LONG)
    held = []
    try:
        for _ in range(150):
            with contextlib.suppress(OSError):
                held.append(open_raw(w))
        ctx = tls_context(w)

        def half_sent():
            s = open_tls(w, ctx, timeout=5)
            s.sendall(half_head(w))
            return s

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            for f in [pool.submit(half_sent) for _ in range(150)]:
                with contextlib.suppress(OSError):
                    held.append(f.result())
        started = time.monotonic()
        try:
            r = requests.get(w.url("/v2/"), verify=str(w.cert_path), timeout=20)
        except requests.RequestException as e:
            pytest.fail(f"GET /v2/ failed after {time.monotonic() - started:.1f}s with 300 idle connections held: {e}")
        elapsed = time.monotonic() - started
        assert r.status_code == 200, r.text
        assert elapsed < 3.0, f"GET /v2/ took {elapsed:.1f}s"
        assert w.running
    finally:
        close_all(held)


def test_at_the_cap_the_longest_idle_connection_is_closed_first(wharf_factory):
    """http.max_connections: 20. Thirty idle connections (HTTP/2 after ALPN, HTTP/1.1 keep-alive after a request,
    and plain TCP) opened one after the other: the ten oldest are closed, the twenty newest stay, a new client
    is served."""
    w = wharf_factory(env={**LONG, "WHARF_HTTP_MAX_CONNECTIONS": "20"})
    h2 = tls_context(w, alpn=("h2",))
    h1 = tls_context(w)
    conns = []
    try:
        for i in range(30):
            kind = i % 3
            if kind == 0:
                s = open_tls(w, h2)
                assert s.selected_alpn_protocol() == "h2"
            elif kind == 1:
                s = open_tls(w, h1)
                s.sendall(f"GET /v2/ HTTP/1.1\r\nHost: {w.host}\r\n\r\n".encode())
                status, headers, rest = read_http_head(s)
                assert status == 200
                length = int(headers.get("content-length", "0"))
                while len(rest) < length:
                    rest += s.recv(65536)
            else:
                s = open_raw(w)
            conns.append(s)
            time.sleep(0.05)  # a distinct order of arrival
        deadline = time.monotonic() + CLOSE_BOUND
        oldest_closed = [closed_by_server(s, deadline) for s in conns[:10]]
        assert all(oldest_closed), f"the oldest ten should be closed: {oldest_closed}"
        newest_open = [still_open(s) for s in conns[10:]]
        assert all(newest_open), f"the newest twenty should stay: {newest_open}"
        r = requests.get(w.url("/v2/"), verify=str(w.cert_path), timeout=10)
        assert r.status_code == 200
        # the GET took the place of the oldest remaining one
        assert closed_by_server(conns[10], time.monotonic() + CLOSE_BOUND)
        assert still_open(conns[-1])
    finally:
        close_all(conns)


def test_at_the_cap_with_every_connection_busy_a_new_one_is_refused(wharf_factory):
    """Requests in flight are never closed to make room: with http.max_connections 3 taken by three uploads
    whose bodies are still arriving, a fourth connection is closed at once; when an upload ends, clients are
    served again."""
    w = wharf_factory(env={**LONG, "WHARF_HTTP_MAX_CONNECTIONS": "3"})
    session = w.session()
    locations = []
    for _ in range(3):
        post = session.post(w.url("/v2/busy/blobs/uploads/"))
        assert post.status_code == 202, post.text
        locations.append(post.headers["Location"])
    session.close()
    ctx = tls_context(w)
    uploads = []
    try:
        for location in locations:
            s = open_tls(w, ctx)
            s.sendall(f"PATCH {location} HTTP/1.1\r\nHost: {w.host}\r\nContent-Length: 100000\r\n\r\n".encode() + b"x" * 1000)
            uploads.append(s)
        # All three are in flight once their first bytes are in the upload files.
        deadline = time.monotonic() + CLOSE_BOUND
        while sorted(p.stat().st_size for p in w.registry_dir.glob("**/_uploads/*/data")) != [1000] * 3:
            assert time.monotonic() < deadline, "the three uploads did not start"
            time.sleep(0.05)
        extra = open_raw(w)
        try:
            assert closed_by_server(extra, time.monotonic() + CLOSE_BOUND), "a fourth connection was admitted"
        finally:
            extra.close()
        assert all(still_open(s) for s in uploads), "an upload in flight was closed to make room"
        uploads.pop().close()
        deadline = time.monotonic() + CLOSE_BOUND
        while True:
            try:
                r = requests.get(w.url("/v2/"), verify=str(w.cert_path), timeout=5)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "no client served after an upload ended"
                time.sleep(0.2)
        assert r.status_code == 200
    finally:
        close_all(uploads)


# --------------------------------------------------------------------------- timeouts


def test_half_sent_heads_and_silent_tls_connections_are_closed(wharf_factory):
    """50 half-sent request heads and 50 connections that never start the TLS handshake are closed by the server
    after http.request_head_timeout and http.tls_handshake_timeout (2 s here)."""
    w = wharf_factory(env=SHORT)
    ctx = tls_context(w)
    silent, heads = [], []
    try:
        for _ in range(50):
            silent.append(open_raw(w))
        for _ in range(50):
            s = open_tls(w, ctx)
            s.sendall(half_head(w))
            heads.append(s)
        deadline = time.monotonic() + CLOSE_BOUND
        silent_closed = sum(closed_by_server(s, deadline) for s in silent)
        heads_closed = sum(closed_by_server(s, deadline) for s in heads)
        assert (silent_closed, heads_closed) == (50, 50), \
            f"closed by the server within {CLOSE_BOUND}s: {silent_closed}/50 silent, {heads_closed}/50 half heads"
        r = requests.get(w.url("/v2/"), verify=str(w.cert_path), timeout=10)
        assert r.status_code == 200
    finally:
        close_all(silent + heads)


def test_slowloris_head_sent_a_byte_at_a_time_is_closed(wharf_factory):
    """A head that keeps arriving, a byte every 0.3 s, still has to be complete within http.request_head_timeout."""
    w = wharf_factory(env=SHORT)
    s = open_tls(w, tls_context(w))
    try:
        s.sendall(f"GET /v2/ HTTP/1.1\r\nHost: {w.host}\r\n".encode())
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < CLOSE_BOUND:
            try:
                s.sendall(b"X")
            except OSError:
                closed = True
                break
            if closed_by_server(s, time.monotonic() + 0.3):
                closed = True
                break
        assert closed, f"a head dribbled for {CLOSE_BOUND}s was not closed"
    finally:
        s.close()


def test_silent_tls_handshake_byte_dribble_is_closed(wharf_factory):
    """A ClientHello that never completes (its first bytes, then nothing) ends with http.tls_handshake_timeout."""
    w = wharf_factory(env=SHORT)
    s = open_raw(w)
    try:
        s.sendall(bytes.fromhex("16030100"))  # the start of a TLS record
        assert closed_by_server(s, time.monotonic() + CLOSE_BOUND)
    finally:
        s.close()


def test_idle_keep_alive_connection_is_closed(wharf_factory):
    w = wharf_factory(env=SHORT)
    s = open_tls(w, tls_context(w))
    try:
        s.sendall(f"GET /v2/ HTTP/1.1\r\nHost: {w.host}\r\n\r\n".encode())
        status, _, _ = read_http_head(s)
        assert status == 200
        assert closed_by_server(s, time.monotonic() + CLOSE_BOUND)
    finally:
        s.close()


def test_idle_plain_http_connection_is_closed(wharf_factory):
    """`tls: off` (behind a proxy): the same timeouts, without the handshake."""
    w = wharf_factory(tls=False, env=SHORT)
    silent = open_raw(w)
    head = open_raw(w)
    try:
        head.sendall(half_head(w))
        deadline = time.monotonic() + CLOSE_BOUND
        assert closed_by_server(silent, deadline)
        assert closed_by_server(head, deadline)
    finally:
        close_all([silent, head])


def test_idle_http2_connection_is_closed(wharf_factory):
    """HTTP/2 negotiated by ALPN, then nothing: closed after http.idle_timeout (Hummingbird's GOAWAY) and a short
    grace, even though the client never answers the GOAWAY's PING."""
    w = wharf_factory(env=SHORT)
    s = open_tls(w, tls_context(w, alpn=("h2",)))
    try:
        assert s.selected_alpn_protocol() == "h2"
        assert closed_by_server(s, time.monotonic() + CLOSE_BOUND)
    finally:
        s.close()


def test_stalled_patch_is_closed_and_the_upload_stays_resumable(wharf_factory):
    """A PATCH whose body stops arriving ends after http.body_idle_timeout; what arrived is kept, the status GET
    answers its Range, and the upload is finished from there."""
    w = wharf_factory(env=SHORT)
    session = w.session()
    blob = os.urandom(1 << 20)
    sent = 256 * 1024
    post = session.post(w.url("/v2/stall/blobs/uploads/"))
    assert post.status_code == 202, post.text
    location = post.headers["Location"]
    s = open_tls(w, tls_context(w))
    try:
        s.sendall(
            f"PATCH {location} HTTP/1.1\r\nHost: {w.host}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {len(blob)}\r\n\r\n".encode()
            + blob[:sent]
        )
        assert closed_by_server(s, time.monotonic() + CLOSE_BOUND), "a stalled PATCH body was not closed"
    finally:
        s.close()
    status = session.get(w.url(location))
    assert status.status_code == 204, status.text
    assert status.headers["Range"] == f"0-{sent - 1}"
    rest = session.patch(
        w.url(location), data=blob[sent:],
        headers={"Content-Range": f"{sent}-{len(blob) - 1}", "Content-Type": "application/octet-stream"},
    )
    assert rest.status_code == 202, rest.text
    put = session.put(w.url(rest.headers["Location"]), params={"digest": sha256(blob)})
    assert put.status_code == 201, put.text
    assert session.get(w.url(f"/v2/stall/blobs/{sha256(blob)}")).content == blob


def test_slow_download_with_long_pauses_completes(wharf_factory):
    """A client with a small receive buffer that reads a 16 MiB blob slowly and pauses 5 s (longer than every
    timeout, 2 s here) gets the whole blob: no timeout runs while the server writes a response."""
    w = wharf_factory(env=SHORT)
    blob = os.urandom(16 << 20)
    digest = push_blob(w, "slow", blob)
    s = open_tls(w, tls_context(w), timeout=30, rcvbuf=16 * 1024)
    try:
        s.sendall(f"GET /v2/slow/blobs/{digest} HTTP/1.1\r\nHost: {w.host}\r\n\r\n".encode())
        status, headers, body = read_http_head(s)
        assert status == 200
        length = int(headers["content-length"])
        received = hashlib.sha256(body)
        count = len(body)
        paused = False
        while count < length:
            chunk = s.recv(16 * 1024)
            assert chunk, f"connection closed after {count} of {length} bytes"
            received.update(chunk)
            count += len(chunk)
            if not paused and count >= 1 << 20:
                time.sleep(5)
                paused = True
            else:
                time.sleep(0.001)
        assert count == length == len(blob)
        assert "sha256:" + received.hexdigest() == digest
    finally:
        s.close()


def test_slow_http2_download_completes(wharf_factory, tmp_path):
    """The same over HTTP/2 (curl at 2 MB/s for 16 MiB: about 8 s against 2 s timeouts)."""
    w = wharf_factory(env=SHORT)
    blob = os.urandom(16 << 20)
    digest = push_blob(w, "slow", blob)
    out = tmp_path / "blob"
    p = subprocess.run(
        ["curl", "-sS", "--http2", "--cacert", str(w.cert_path), "--limit-rate", "2M", "-o", str(out),
         "-w", "%{http_version} %{http_code}", w.url(f"/v2/slow/blobs/{digest}")],
        capture_output=True, text=True, timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout == "2 200"
    assert out.read_bytes() == blob


# --------------------------------------------------------------------------- HTTP/2 by hand (no h2 client library here)


def h2_frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def h2_connect(server) -> ssl.SSLSocket:
    s = open_tls(server, tls_context(server, alpn=("h2",)))
    assert s.selected_alpn_protocol() == "h2"
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + h2_frame(0x4, 0, 0))  # preface, empty SETTINGS
    return s


def h2_request_headers(server, method: str, path: str, end_stream: bool) -> bytes:
    """A HEADERS frame for stream 1 in HPACK without Huffman coding or dynamic table references."""
    def literal(index: int, value: str) -> bytes:  # literal with incremental indexing, indexed name
        return bytes([0x40 | index, len(value)]) + value.encode()
    block = literal(2, method) + bytes([0x87]) + literal(4, path) + literal(1, server.host)  # :method :scheme :path :authority
    return h2_frame(0x1, 0x4 | (0x1 if end_stream else 0), 1, block)


def h2_read_frame(s: ssl.SSLSocket) -> tuple[int, int, int, bytes] | None:
    """(type, flags, stream, payload), or None at EOF."""
    def exactly(n: int) -> bytes | None:
        data = b""
        while len(data) < n:
            chunk = s.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data
    head = exactly(9)
    if head is None:
        return None
    length = int.from_bytes(head[:3], "big")
    payload = exactly(length) if length else b""
    if payload is None:
        return None
    return head[3], head[4], int.from_bytes(head[5:9], "big") & 0x7FFFFFFF, payload


def h2_wait_for(s: ssl.SSLSocket, want, deadline: float):
    """Reads frames (acknowledging SETTINGS) until `want(frame)` is true; returns that frame, or None at EOF."""
    while time.monotonic() < deadline:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        frame = h2_read_frame(s)
        if frame is None:
            return None
        kind, flags, _, _ = frame
        if kind == 0x4 and not flags & 0x1:
            s.sendall(h2_frame(0x4, 0x1, 0))
        if want(frame):
            return frame
    raise TimeoutError("no such frame before the deadline")


def test_http2_connection_idle_after_a_request_is_closed(wharf_factory):
    """A stream that has finished no longer counts: the connection is idle again and is closed (GOAWAY after
    http.idle_timeout, then closed after a grace period although the client ignores the GOAWAY)."""
    w = wharf_factory(env=SHORT)
    s = h2_connect(w)
    try:
        s.sendall(h2_request_headers(w, "GET", "/v2/", end_stream=True))
        ended = h2_wait_for(s, lambda f: f[2] == 1 and f[0] in (0x0, 0x1) and f[1] & 0x1, time.monotonic() + 10)
        assert ended is not None, "no complete response on stream 1"
        assert closed_by_server(s, time.monotonic() + CLOSE_BOUND)
    finally:
        s.close()


def test_stalled_http2_upload_stream_is_reset_and_stays_resumable(wharf_factory):
    """On HTTP/2 a stalled body resets its stream (RST_STREAM), not the connection; the bytes that arrived stay."""
    w = wharf_factory(env=SHORT)
    session = w.session()
    post = session.post(w.url("/v2/stall2/blobs/uploads/"))
    assert post.status_code == 202, post.text
    location = post.headers["Location"]
    s = h2_connect(w)
    try:
        s.sendall(h2_request_headers(w, "PATCH", location, end_stream=False) + h2_frame(0x0, 0, 1, b"x" * 1000))
        reset = h2_wait_for(s, lambda f: f[2] == 1 and f[0] == 0x3, time.monotonic() + CLOSE_BOUND)
        assert reset is not None, "the connection was closed instead of the stream being reset"
    finally:
        s.close()
    status = session.get(w.url(location))
    assert status.status_code == 204, status.text
    assert status.headers["Range"] == "0-999"


# --------------------------------------------------------------------------- TLS


def s_client(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-brief", *args],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )


def negotiated(p: subprocess.CompletedProcess) -> tuple[str, str] | None:
    """(protocol, cipher) from `s_client -brief`, or None when the handshake failed."""
    if p.returncode != 0:
        return None
    fields = dict(l.split(": ", 1) for l in p.stderr.splitlines() + p.stdout.splitlines() if ": " in l)
    if "Protocol version" not in fields:
        return None
    return fields["Protocol version"].strip(), fields.get("Ciphersuite", "").strip()


@pytest.mark.parametrize("cipher", ["AES128-SHA", "AES256-SHA", "AES128-GCM-SHA256", "AES256-GCM-SHA384",
                                    "ECDHE-RSA-AES128-SHA"])
def test_tls12_refuses_static_rsa_and_cbc_suites(wharf, cipher):
    p = s_client(wharf, "-tls1_2", "-cipher", f"{cipher}:@SECLEVEL=0")
    assert negotiated(p) is None, f"{cipher} was accepted: {p.stderr}"


@pytest.mark.parametrize("cipher", ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                                    "ECDHE-RSA-CHACHA20-POLY1305"])
def test_tls12_accepts_ecdhe_aead_suites(wharf, cipher):
    p = s_client(wharf, "-tls1_2", "-cipher", cipher)
    assert negotiated(p) == ("TLSv1.2", cipher), p.stderr


def test_tls13_accepted(wharf):
    p = s_client(wharf, "-tls1_3")
    result = negotiated(p)
    assert result is not None and result[0] == "TLSv1.3", p.stderr


def test_min_version_1_3_refuses_tls12(wharf_factory):
    w = wharf_factory(env={"WHARF_TLS_MIN_VERSION": "1.3"})
    assert negotiated(s_client(w, "-tls1_2")) is None
    result = negotiated(s_client(w, "-tls1_3"))
    assert result is not None and result[0] == "TLSv1.3"
    assert requests.get(w.url("/v2/"), verify=str(w.cert_path), timeout=10).status_code == 200


def test_bad_min_version_is_a_one_line_configuration_error(wharf_factory):
    w = wharf_factory(start=False, env={"WHARF_TLS_MIN_VERSION": "1.1"})
    p = subprocess.run(w.command(), env=w.env(), capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "tls.min_version: expected 1.2 or 1.3, got 1.1" in p.stderr + p.stdout
