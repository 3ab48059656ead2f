"""The contract of `/api/v1`: schemathesis drives every operation of the served OpenAPI document with data the
schemas allow and data they forbid, as an administrator, with every check (`--checks all`): documented statuses,
conforming responses and headers, no 5xx, 405 with `Allow` for undeclared methods, authentication not ignored,
deleted resources gone, and valid data accepted (every constraint the server applies is in the schema)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import requests

# Failed logins from schemathesis's own negative cases must not lock the admin out or throttle 127.0.0.1: those
# limits have tests of their own (test_login_security.py); here they would only hide the API's answers.
# A webhook test waits for its endpoint up to webhooks.timeout; the generated URLs lead nowhere, and schemathesis
# counts an answer slower than 10 s as a failure.
CONTRACT_ENV = {"WHARF_AUTH_LOCKOUT_ATTEMPTS": "0", "WHARF_AUTH_FAILURES_PER_ADDRESS": "0", "WHARF_WEBHOOKS_TIMEOUT": "3s"}


def schemathesis_bin() -> str:
    path = Path(sys.executable).parent / "schemathesis"
    assert path.exists(), f"{path} is missing: scripts/install-deps.sh test installs schemathesis"
    return str(path)


def bootstrap(base: str) -> tuple[str, str]:
    """The first administrator, through the API itself; a name schemathesis will not stumble on."""
    name = "contract" + secrets.token_hex(6)
    password = secrets.token_urlsafe(18)
    r = requests.post(f"{base}/api/v1/users/bootstrap", json={"name": name, "password": password}, timeout=30)
    assert r.status_code == 201, r.text
    return name, password


def test_schemathesis_all_checks(wharf_factory, tmp_path):
    wharf = wharf_factory(tls=False, auth=True, env=CONTRACT_ENV)
    name, password = bootstrap(wharf.base_url)
    report = tmp_path / "junit.xml"
    command = [
        schemathesis_bin(), "run", f"{wharf.base_url}/api/v1/openapi.json",
        "--checks", "all",
        "--auth", f"{name}:{password}",
        "--max-examples", os.environ.get("WHARF_CONTRACT_EXAMPLES", "25"),
        "--workers", "2",
        "--request-timeout", "30",
        "--no-color",
        "--report", "junit", "--report-junit-path", str(report),
    ]
    p = subprocess.run(command, capture_output=True, text=True, timeout=1500, cwd=tmp_path)
    output = p.stdout + p.stderr
    assert p.returncode == 0, "schemathesis found failures:\n" + output[-20000:]
    # Every operation was tested, not skipped: the summary names how many.
    assert "Tested:" in output, output[-3000:]
    summary = output[output.index("API Operations:"):]
    selected = summary.split("Selected:")[1].split("\n")[0].strip()
    tested = summary.split("Tested:")[1].split("\n")[0].strip()
    assert selected.split("/")[0] == tested, summary[:500]
    assert int(tested) >= 40, f"the document has {tested} operations; the issue asks for at least 40"
