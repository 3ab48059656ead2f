"""`wharf import portus-config`: a Portus 2.4 config-local.yml (fixtures/portus-config.yml: LDAP over StartTLS with
a search account, an admin base, group sync, deletion by contributors, a push policy, anonymous browsing off) and
Portus's PORTUS_* environment overrides become a Wharf configuration file that `wharf config check` accepts and
`wharf serve` starts with, its values in effect (the token service is Portus's machine FQDN; LDAP is on with the
directory Portus used, here a closed port: the server starts anyway and says the directory does not answer)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import requests

from conftest import wharf_bin

FIXTURE = Path(__file__).parent / "fixtures" / "portus-config.yml"


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def portus_config(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("WHARF_", "PORTUS_"))}
    return subprocess.run([wharf_bin(), "import", "portus-config", *args], env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=60)


def test_translated_configuration_is_what_wharf_starts_with(wharf_factory, tmp_path):
    port = closed_port()
    p = portus_config(str(FIXTURE), "--environment", env={
        "PORTUS_MACHINE_FQDN_VALUE": "hub.example.org",
        "PORTUS_LDAP_HOSTNAME": "127.0.0.1",
        "PORTUS_LDAP_PORT": str(port),
        "PORTUS_LDAP_ENCRYPTION_OPTIONS_CA_FILE": "/etc/ssl/certs/ca-certificates.crt",
        "PORTUS_DB_HOST": "db.example.com",
    })
    assert p.returncode == 0, p.stderr
    out = p.stdout
    for line in [
        "external_hostname: hub.example.org",
        '# from machine_fqdn.value = "hub.example.org" (PORTUS_MACHINE_FQDN_VALUE)',
        f'  url: "ldap://127.0.0.1:{port}"',
        "  encryption: starttls",
        '  bind_dn: "cn=portus,ou=services,dc=example,dc=com"',
        '  filter: "(objectClass=inetOrgPerson)"',
        '  group_base_dn: "ou=groups,dc=example,dc=com"',
        "  sync_mode: add-only",
        "  push_policy: allow-personal",
        "  contributors_delete: on",
        "  anonymous_browsing: off",
        "  token_expiry: 30m",
        "# Portus settings with no Wharf equivalent:",
        "# - PORTUS_DB_HOST: Portus's database: give it to wharf import portus --database",
    ]:
        assert line in out, f"missing {line!r} in:\n{out}"
    assert "ldap.admin_base" in out and "ldap.admin_group" in out, out
    for secret in ["smtp-secret", "github-secret"]:
        assert secret not in out, out

    config = tmp_path / "wharf.yml"
    config.write_text(out)
    check = subprocess.run([wharf_bin(), "config", "check", "--config", str(config), "--data", str(tmp_path / "d")],
                           env={k: v for k, v in os.environ.items() if not k.startswith("WHARF_")},
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and check.stdout.startswith("ok:"), (check.stdout, check.stderr)

    server = wharf_factory(tls=True, auth=True, extra_args=["--config", str(config)])
    r = requests.get(f"{server.base_url}/v2/", verify=server.verify, timeout=30)
    assert r.status_code == 401, r.status_code
    assert 'service="hub.example.org"' in r.headers.get("WWW-Authenticate", ""), r.headers
    log = server.log_path.read_text()
    assert "LDAP logins on" in log and "encryption=starttls" in log and "group_sync=add-only" in log, log


def test_a_missing_or_broken_file_is_one_line(tmp_path):
    p = portus_config(str(tmp_path / "nope.yml"))
    assert p.returncode == 1 and p.stdout == "", (p.stdout, p.stderr)
    assert p.stderr.strip() == f"wharf: {tmp_path / 'nope.yml'}: cannot read Portus's configuration file", p.stderr
    broken = tmp_path / "config.yml"
    broken.write_text("ldap: [unclosed\n")
    p = portus_config(str(broken))
    assert p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "config.yml: not valid YAML" in p.stderr, p.stderr
