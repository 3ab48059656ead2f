"""The bytes of an HTTP/2 download over TLS travel in full TLS records, not one small record per frame header."""

from __future__ import annotations

import os
import socket
import subprocess
import threading

from conftest import require_executable
from ocihelpers import V2Client


class RecordCountingRelay:
    """A TCP relay in front of the server that reads the TLS record headers (type, version, length: in clear
    text) of what the server sends, so a test sees how the server cut its bytes into records."""

    def __init__(self, port: int):
        self.target = ("127.0.0.1", port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.record_lengths: list[int] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        client, _ = self.listener.accept()
        server = socket.create_connection(self.target)
        upstream = threading.Thread(target=self._pipe, args=(client, server, False), daemon=True)
        upstream.start()
        self._pipe(server, client, True)
        upstream.join(timeout=10)
        client.close()
        server.close()

    def _pipe(self, source: socket.socket, sink: socket.socket, count: bool) -> None:
        pending = b""
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                try:
                    sink.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            if count:
                pending += data
                while len(pending) >= 5:
                    length = int.from_bytes(pending[3:5], "big")
                    if len(pending) < 5 + length:
                        break
                    if pending[0] == 23:  # application_data (all records after the TLS 1.3 ServerHello)
                        self.record_lengths.append(length)
                    pending = pending[5 + length:]
            try:
                sink.sendall(data)
            except OSError:  # the other side went away first
                return

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=10)


def test_http2_download_travels_in_full_tls_records(wharf, tmp_path):
    curl = require_executable("curl", "curl")
    blob = os.urandom(2 * 1024 * 1024)
    digest = V2Client(wharf, "records/blob").push_blob(blob)
    relay = RecordCountingRelay(wharf.port)
    out = tmp_path / "blob"
    p = subprocess.run([curl, "-sS", "--http2", "--cacert", str(wharf.cert_path), "-o", str(out), "-w",
                        "%{http_version} %{http_code}",
                        f"https://127.0.0.1:{relay.port}/v2/records/blob/blobs/{digest}"],
                       capture_output=True, text=True, timeout=60)
    relay.close()
    assert p.returncode == 0, p.stderr
    assert p.stdout == "2 200", p.stdout
    assert out.read_bytes() == blob
    # 2 MiB leave as 128 DATA frames of 16 KiB (curl's SETTINGS_MAX_FRAME_SIZE). Written as they come, each
    # 9-byte frame header was a TLS record of its own (128 small records); joined, only the handshake's, the
    # session tickets, SETTINGS and HEADERS, and the last record of some flushes are small.
    small = [n for n in relay.record_lengths if n < 1024]
    assert sum(relay.record_lengths) > len(blob)
    assert len(small) < 24, f"{len(small)} small TLS records of {len(relay.record_lengths)}: {small[:40]}"
