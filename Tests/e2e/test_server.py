"""The server as a new user meets it: TLS with a generated self-signed
certificate (SANs, key mode, HTTP/2 via ALPN, kept across restarts, refused
when broken), plain HTTP with --tls off, and the small CLI commands."""

from __future__ import annotations

import hashlib
import socket
import ssl
import stat
import subprocess
import time

import pytest
import requests

from conftest import require_executable, wharf_bin


def decode_cert(path) -> dict:
    return ssl._ssl._test_decode_cert(str(path))  # stdlib PEM decoder (used by the ssl test suite)


def test_tls_certificate_generated_and_trusted(wharf):
    assert wharf.cert_path.is_file() and wharf.key_path.is_file()
    mode = stat.S_IMODE(wharf.key_path.stat().st_mode)
    assert mode == 0o600, f"server.key mode is {oct(mode)}"
    info = decode_cert(wharf.cert_path)
    sans = {(kind, value.rstrip("\n")) for kind, value in info.get("subjectAltName", ())}
    assert ("DNS", "localhost") in sans, sans
    assert ("IP Address", "127.0.0.1") in sans, sans
    assert {("IP Address", "::1"), ("IP Address", "0:0:0:0:0:0:0:1")} & sans, f"no ::1 in {sans}"
    assert ("DNS", socket.gethostname()) in sans, sans
    # verification against the certificate itself, by IP and by name
    r = requests.get(f"https://127.0.0.1:{wharf.port}/v2/", verify=str(wharf.cert_path), timeout=10)
    assert r.status_code == 200
    r = requests.get(f"https://localhost:{wharf.port}/v2/", verify=str(wharf.cert_path), timeout=10)
    assert r.status_code == 200
    assert r.headers.get("Docker-Distribution-API-Version") == "registry/2.0"


def test_http2_is_offered_by_alpn(wharf):
    ctx = ssl.create_default_context(cafile=str(wharf.cert_path))
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", wharf.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.selected_alpn_protocol() == "h2"


def test_certificate_kept_across_restarts(wharf):
    cert, key = wharf.cert_path.read_bytes(), wharf.key_path.read_bytes()
    wharf.restart()
    assert wharf.cert_path.read_bytes() == cert
    assert wharf.key_path.read_bytes() == key


def test_mismatched_key_stops_the_server(wharf_factory):
    openssl = require_executable("openssl", "openssl")
    w = wharf_factory()
    w.stop()
    subprocess.run([openssl, "genrsa", "-out", str(w.key_path), "2048"], check=True, capture_output=True)
    try:
        p = subprocess.run(w.command(), env=w.env(), capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail("wharf kept serving with a server.key that does not match server.crt")
    assert p.returncode != 0, "wharf served with a key that does not match its certificate"
    assert (p.stderr + p.stdout).strip(), "no reason printed"


def test_tls_off_serves_plain_http(wharf_plain):
    r = requests.get(f"http://127.0.0.1:{wharf_plain.port}/v2/", timeout=10)
    assert r.status_code == 200
    assert r.headers.get("Docker-Distribution-API-Version") == "registry/2.0"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"https://127.0.0.1:{wharf_plain.port}/v2/", verify=False, timeout=10)


def test_version_and_cert_show(wharf):
    exe = wharf_bin()
    p = subprocess.run([exe, "version"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and p.stdout.strip(), p
    p = subprocess.run([exe, "cert", "show", "--data", str(wharf.data_dir)], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p
    der = ssl.PEM_cert_to_DER_cert(wharf.cert_path.read_text())
    fingerprint = hashlib.sha256(der).hexdigest()
    printed = p.stdout.replace(":", "").replace(" ", "").lower()
    assert fingerprint in printed, f"SHA-256 fingerprint {fingerprint} not in:\n{p.stdout}"
    assert "127.0.0.1" in p.stdout and "localhost" in p.stdout, p.stdout


def test_sigterm_stops_promptly_with_idle_keepalive_connection(wharf):
    """Clients (docker, skopeo) keep idle HTTP/1.1 connections open; a
    graceful stop must not wait for them."""
    s = wharf.session()
    r = s.get(wharf.url("/v2/"), verify=wharf.verify, timeout=10)
    assert r.status_code == 200
    started = time.monotonic()
    code = wharf.stop(timeout=20)
    elapsed = time.monotonic() - started
    s.close()
    assert code == 0, f"exit status {code} after SIGTERM"
    assert elapsed < 2.5, f"SIGTERM took {elapsed:.1f}s with one idle keep-alive connection open"
