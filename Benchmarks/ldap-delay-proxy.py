#!/usr/bin/env python3
"""A slow directory for the LDAP benchmark: a TCP proxy on loopback that forwards every connection to slapd and
holds each chunk the client sends for DELAY seconds before passing it on (the answers come back at once), so every
LDAP operation (bind, search, StartTLS) takes at least DELAY longer. Order within a connection is kept.

    Benchmarks/ldap-delay-proxy.py --target 127.0.0.1:PORT [--listen 127.0.0.1:0] [--delay 1.0]

Prints `listening 127.0.0.1:PORT` on its first line (port 0: a free one), then runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys


def host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy reader to writer; each chunk is written `delay` seconds after it arrived (a queue keeps the order and
    lets later chunks age while an earlier one waits)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    async def receive() -> None:
        while True:
            data = await reader.read(65536)
            await queue.put((loop.time() + delay, data))
            if not data:
                return

    async def send() -> None:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    receiving = asyncio.ensure_future(receive())
    try:
        await send()
    finally:
        receiving.cancel()


async def handle(client_reader, client_writer, target: tuple[str, int], delay: float) -> None:
    try:
        server_reader, server_writer = await asyncio.open_connection(*target)
    except OSError as e:
        print(f"cannot reach {target[0]}:{target[1]}: {e}", file=sys.stderr)
        client_writer.close()
        return
    up = asyncio.ensure_future(pipe(client_reader, server_writer, delay))
    down = asyncio.ensure_future(pipe(server_reader, client_writer, 0.0))
    try:
        await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
        # one side closed: let the other finish what it holds, briefly, then close both
        await asyncio.wait([up, down], timeout=delay + 5)
    except (ConnectionError, OSError, asyncio.CancelledError):
        pass  # a reset connection, or the proxy stopping: close both sides
    finally:
        for task in (up, down):
            task.cancel()
        for w in (server_writer, client_writer):
            w.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help="slapd's host:port")
    parser.add_argument("--listen", default="127.0.0.1:0", help="host:port to listen on (port 0: a free one)")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds each client->server chunk is held")
    args = parser.parse_args()
    target = host_port(args.target)
    listen = host_port(args.listen)
    server = await asyncio.start_server(lambda r, w: handle(r, w, target, args.delay), *listen)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening {host}:{port}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
