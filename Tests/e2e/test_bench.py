"""The load generator (wharf-bench) against a real Wharf, over TLS with the generated certificate and over
plain HTTP: every workload completes without errors and reports what it did."""
import json
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT, wharf_bin


def bench_bin() -> str:
    path = Path(wharf_bin()).parent / "wharf-bench"
    if not path.is_file():
        pytest.fail(f"wharf-bench not found at {path}; build it with `swift build`", pytrace=False)
    return str(path)


def run_bench(url: str, tmp_path: Path, *args: str) -> list[dict]:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [bench_bin(), "--url", url, "--json", str(out), *args],
        capture_output=True, text=True, timeout=300, cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text())


def test_every_workload_over_tls(wharf, tmp_path):
    workloads = ["push:4KiB", "push-chunked:3MiB", "pull:1MiB", "mixed:64KiB", "manifest-get", "manifest-put", "blob-head:1KiB",
                 "catalog"]
    args = [arg for w in workloads for arg in ("--workload", w)]
    results = run_bench(wharf.base_url, tmp_path, *args, "--ca-file", str(wharf.cert_path),
                        "--concurrency", "3", "--count", "9", "--chunk", "1MiB")
    assert [r["workload"] for r in results] == [w.split(":")[0] for w in workloads]
    for r in results:
        assert r["errors"] == 0, r
        assert r["operations"] == 9, r
        assert r["operationsPerSecond"] > 0
        assert r["p99Milliseconds"] >= r["p50Milliseconds"] > 0
        assert r["httpVersions"] == ["HTTP/1.1"], r  # HTTP/1.1 only unless --http-version 2
    push = results[0]
    assert push["size"] == 4096 and push["megabytesPerSecond"] > 0
    # The pushes really stored content: nine blobs linked in the chunked repository, and the image the
    # manifest workload pushed is in the catalog.
    layers = list(wharf.registry_dir.glob("docker/registry/v2/repositories/bench/*/push-chunked/_layers/sha256/*/link"))
    assert len(layers) == 9
    catalog = wharf.session().get(wharf.url("/v2/_catalog")).json()["repositories"]
    assert any(name.startswith("bench/") and name.endswith("/manifest-get") for name in catalog)
    # manifest-put stored nine distinct manifests under nine tags.
    put = next(name for name in catalog if name.endswith("/manifest-put"))
    tags = wharf.session().get(wharf.url(f"/v2/{put}/tags/list")).json()["tags"]
    assert sorted(tags) == sorted(f"t{i}" for i in range(9)), tags


def test_http2_over_tls(wharf, tmp_path):
    # --http-version 2 offers h2 by ALPN; Wharf accepts it, and every response of the run (preparation included)
    # came over HTTP/2.
    results = run_bench(wharf.base_url, tmp_path, "--workload", "push:64KiB", "--workload", "pull:64KiB",
                        "--ca-file", str(wharf.cert_path), "--http-version", "2", "--concurrency", "3", "--count", "6")
    assert [r["workload"] for r in results] == ["push", "pull"]
    for r in results:
        assert r["errors"] == 0 and r["operations"] == 6, r
        assert r["httpVersions"] == ["HTTP/2.0"], r


def test_http_version_must_be_1_or_2(wharf, tmp_path):
    proc = subprocess.run(
        [bench_bin(), "--url", wharf.base_url, "--ca-file", str(wharf.cert_path), "--http-version", "3",
         "--workload", "push:1KiB", "--count", "1"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0
    assert "--http-version must be 1 or 2" in proc.stderr


def test_plain_http_and_table_output(wharf_plain, tmp_path):
    proc = subprocess.run(
        [bench_bin(), "--url", wharf_plain.base_url, "--workload", "push:1KiB", "--count", "4", "--concurrency", "2",
         "--label", "wharf"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["workload", "size", "conc"]
    assert lines[1].split()[:6] == ["wharf", "push", "1KiB", "2", "4", "0"]


def test_unreachable_registry_fails(tmp_path):
    proc = subprocess.run(
        [bench_bin(), "--url", "http://127.0.0.1:9", "--workload", "push:1KiB", "--count", "2"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0
