#!/usr/bin/env python3
"""Catalogue benchmark on a big folder in distribution's layout (Benchmarks/make-registry-folder.py):

- how soon `wharf serve` answers /v2/ after it starts, and how soon its catalogue mirror holds every tag (the
  first sync pass, from the server's log);
- an unchanged sync pass (`wharf sync --json`, the server running);
- a tag moved by distribution on the same folder: how soon the mirror has it;
- /v2/_catalog: the first page of 100, and every page of 1,000 following Link, in Wharf and in Debian's
  docker-registry (distribution 2.8) serving the same folder, with the ratio.

usage: catalog.py WHARF_BIN DATA_DIR [--repositories 10000] [--tags 10] [--rounds 30]
DATA_DIR/registry is created by make-registry-folder.py when missing; DATA_DIR's database is removed first so the
first pass starts from nothing."""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return time.monotonic() - start
        except requests.RequestException:
            pass
        time.sleep(0.005)
    raise SystemExit(f"{url} did not answer in {timeout} s")


def page_times(session, base: str, n: int, rounds: int, all_pages: bool) -> tuple[float, int]:
    """Median seconds of one request (or one walk of every page) and the number of repositories seen."""
    times, seen = [], 0
    for _ in range(rounds):
        start = time.monotonic()
        url, names = f"{base}/v2/_catalog?n={n}", 0
        while url:
            r = session.get(url)
            r.raise_for_status()
            names += len(r.json()["repositories"])
            link = r.headers.get("Link")
            url = f"{base}{link.split(';')[0].strip('<>')}" if (all_pages and link) else None
        times.append(time.monotonic() - start)
        seen = names
    return statistics.median(times), seen


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("wharf")
    parser.add_argument("data")
    parser.add_argument("--repositories", type=int, default=10_000)
    parser.add_argument("--tags", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    data = Path(args.data)
    registry = data / "registry"
    subprocess.run([sys.executable, HERE / "make-registry-folder.py", registry, "--repositories", str(args.repositories),
                    "--tags", str(args.tags)], check=True)
    for leftover in data.glob("wharf.sqlite*"):
        leftover.unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}
    env.update({"WHARF_AUTH_ENABLED": "off", "WHARF_TLS": "off", "WHARF_LOG_LEVEL": "info"})
    work = Path(tempfile.mkdtemp(prefix="wharf-catalog-bench-"))
    wharf_port, dist_port = free_port(), free_port()
    log = open(work / "wharf.log", "w")
    started = time.monotonic()
    wharf = subprocess.Popen([args.wharf, "serve", "--data", str(data), "--listen", f"127.0.0.1:{wharf_port}"], env=env,
                             stdout=log, stderr=subprocess.STDOUT)
    (work / "dist.yml").write_text(
        f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {registry}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{dist_port}\n")
    dist = subprocess.Popen(["docker-registry", "serve", str(work / "dist.yml")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    results = {}
    try:
        base = f"http://127.0.0.1:{wharf_port}"
        dist_base = f"http://127.0.0.1:{dist_port}"
        results["v2_after_start_s"] = wait_http(f"{base}/v2/")
        pattern = re.compile(r"duration=([0-9.e-]+) seconds.*catalogue synced with storage")
        while True:
            text = (work / "wharf.log").read_text()
            match = pattern.search(text)
            if match:
                results["first_sync_done_after_start_s"] = time.monotonic() - started
                results["first_sync_pass_s"] = float(match.group(1))
                break
            if time.monotonic() - started > 300:
                raise SystemExit("no first sync pass in 300 s:\n" + text[-2000:])
            time.sleep(0.05)
        wait_http(f"{dist_base}/v2/")
        unchanged = []
        for _ in range(3):
            out = subprocess.run([args.wharf, "sync", "--data", str(data), "--json"], env=env, capture_output=True,
                                 text=True, check=True).stdout
            unchanged.append(json.loads(out)["seconds"])
        results["unchanged_pass_s"] = statistics.median(unchanged)

        session, dist_session = requests.Session(), requests.Session()
        for name, url, s in (("wharf", base, session), ("distribution", dist_base, dist_session)):
            page_times(s, url, 100, 3, False)  # warm
            first, _ = page_times(s, url, 100, args.rounds, False)
            every, seen = page_times(s, url, 1000, max(3, args.rounds // 5), True)
            results[f"{name}_first_page_100_ms"] = first * 1000
            results[f"{name}_all_pages_1000_ms"] = every * 1000
            results[f"{name}_repositories_listed"] = seen

        # distribution moves a tag; the server's next pass (sync.interval, 15 s by default) follows it.
        repo = "ns-00/app-00000"
        accept = {"Accept": "application/vnd.docker.distribution.manifest.v2+json"}
        current = dist_session.head(f"{dist_base}/v2/{repo}/manifests/v0", headers=accept).headers["Docker-Content-Digest"]
        # v0 moves to another tag's manifest (not the one it may already point at from an earlier run).
        for source in ("v1", "v2"):
            manifest = dist_session.get(f"{dist_base}/v2/{repo}/manifests/{source}", headers=accept)
            if manifest.headers["Docker-Content-Digest"] != current:
                break
        moved_at = time.monotonic()
        r = dist_session.put(f"{dist_base}/v2/{repo}/manifests/v0", data=manifest.content,
                             headers={"Content-Type": manifest.headers["Content-Type"]})
        r.raise_for_status()
        digest = r.headers["Docker-Content-Digest"]
        while True:
            out = subprocess.run([args.wharf, "catalog", "show", repo, "--data", str(data), "--json"], env=env,
                                 capture_output=True, text=True, check=True).stdout
            tags = {t["name"]: t for t in json.loads(out)["tags"]}
            if tags["v0"]["digest"] == digest:
                results["moved_tag_followed_after_s"] = time.monotonic() - moved_at
                break
            if time.monotonic() - moved_at > 60:
                raise SystemExit("the moved tag was not followed in 60 s")
            time.sleep(0.2)
    finally:
        wharf.terminate()
        dist.terminate()
        wharf.wait()
        dist.wait()
    for key in ("first_page_100_ms", "all_pages_1000_ms"):
        results[f"ratio_{key}"] = results[f"distribution_{key}"] / results[f"wharf_{key}"]
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
