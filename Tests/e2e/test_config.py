"""The configuration table, black-box: `wharf config keys` is the README's table, and the command line's help
and defaults are the table's (no default stated twice)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from conftest import REPO_ROOT, wharf_bin


def run(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}
    clean.update(env or {})
    return subprocess.run([wharf_bin(), *args], capture_output=True, text=True, timeout=60, env=clean, cwd=cwd)


def config_keys() -> list[str]:
    r = run("config", "keys")
    assert r.returncode == 0, r.stderr
    return r.stdout.rstrip("\n").split("\n")


def rows() -> dict[str, dict[str, str]]:
    """The table by YAML key: environment name, flag and default, without the Markdown backticks."""
    out = {}
    for line in config_keys()[2:]:
        cells = [c.strip().strip("`") for c in line.strip("|").split(" | ")]
        out[cells[0]] = {"env": cells[1], "flag": cells[2], "default": cells[3]}
    return out


def test_readme_table_is_what_config_keys_prints():
    lines = (REPO_ROOT / "README.md").read_text().split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("| YAML key |"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    assert table == config_keys()


def test_flag_help_states_the_table_environment_name_and_default():
    table = rows()
    flagged = {key: row for key, row in table.items() if row["flag"]}
    assert {row["flag"] for row in flagged.values()} >= {"--data", "--listen", "--tls", "--auth", "--log-level"}
    r = run("serve", "--help")
    assert r.returncode == 0, r.stderr
    help_text = re.sub(r"\s+", " ", r.stdout)
    for key, row in flagged.items():
        stated = f"({row['env']}, default {row['default']})" if row["default"] else f"({row['env']})"
        assert stated in help_text, f"{row['flag']} ({key}): {stated} not in `wharf serve --help`"


def test_an_empty_configuration_uses_the_table_defaults(tmp_path):
    table = rows()
    r = run("config", "check", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    expected = f"ok: data {table['data']['default']}, listen {table['listen']['default']}, tls {table['tls']['default']}"
    assert r.stdout.strip() == expected
    # Nothing is created by a check.
    assert list(tmp_path.iterdir()) == []

    r = run("config", "check", cwd=tmp_path, env={table["listen"]["env"]: "127.0.0.1:7000", table["tls"]["env"]: "off"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"ok: data {table['data']['default']}, listen 127.0.0.1:7000, tls off"
