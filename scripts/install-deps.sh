#!/usr/bin/env bash
# Installs what Wharf needs, only when it is missing (safe to run again).
#
#   scripts/install-deps.sh run    system packages the build/run needs
#   scripts/install-deps.sh test   the above, plus the test tools and servers:
#                                  skopeo, podman, containerd (ctr), Debian's
#                                  docker-registry (CNCF distribution 2.8),
#                                  mariadb-server, slapd and ldap-utils,
#                                  openssl, curl, chromium
#                                  and chromium-driver, and a Python
#                                  virtualenv (.venv) with pytest, requests,
#                                  oras-py 0.2.x, schemathesis and selenium
#
# Works on a fresh Debian 12 / Ubuntu machine that has only Swift and python3.
# As root it uses apt-get directly, otherwise sudo (when present).
# Environment: WHARF_VENV (default: <repo>/.venv) - where the test venv lives.
set -euo pipefail

MODE="${1:-run}"
case "$MODE" in
  run|test) ;;
  *) echo "usage: $0 [run|test]" >&2; exit 2 ;;
esac

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${WHARF_VENV:-$ROOT/.venv}"

log() { echo "install-deps: $*"; }
die() { echo "install-deps: error: $*" >&2; exit 1; }

# System packages the Swift build needs besides the toolchain: the C libraries
# the database and directory targets link (CSQLite, CMariaDB, CLDAP) and
# pkg-config to find them.
RUN_PKGS=(libsqlite3-dev libmariadb-dev libldap-dev pkg-config)
# mariadb-server: the tests start throwaway mariadbd instances on loopback
# (scripts/mariadb-test-server.sh); its system service is never started.
# containerd, podman: what their users see of a refusal (test_containerd.py,
# test_client_messages.py); the tests run their own containerd daemon as root.
TEST_PKGS=(skopeo podman docker-registry openssl curl ca-certificates mariadb-server)
# slapd, ldap-utils: the tests start throwaway slapd instances on loopback
# (scripts/slapd-test-server.sh, seeded with slapadd, checked with ldapsearch);
# Debian's own slapd service (port 389) is never started nor needed.
TEST_PKGS+=(slapd ldap-utils)
# chromium, chromium-driver: the portal's browser tests (Tests/e2e/browser.py)
# drive Debian's headless Chromium through its matching chromedriver.
TEST_PKGS+=(chromium chromium-driver)
# Docker's containerd.io package provides containerd and ctr too (and conflicts
# with Debian's containerd): only install Debian's when the commands are missing.
if ! command -v containerd >/dev/null 2>&1 || ! command -v ctr >/dev/null 2>&1; then
  TEST_PKGS+=(containerd)
fi
# schemathesis: the contract test of /api/v1 against its OpenAPI document (Tests/e2e/test_api_contract.py).
# selenium: drives chromium-driver (given by path, so its Selenium Manager never downloads a driver);
# 4.51 works with Chromium 156 (4.52 needs a newer certifi than PyPI serves here).
PY_PKGS=(pytest requests "bcrypt==5.0.0" "oras>=0.2,<0.3" "schemathesis==4.32.5" "selenium==4.51.0")

SUDO=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); fi
fi

pkg_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

APT_UPDATED=0
apt_install() {
  # $@: packages that are missing
  [ "$#" -gt 0 ] || return 0
  command -v apt-get >/dev/null 2>&1 || die "missing packages ($*) and no apt-get: install them by hand"
  if [ "$(id -u)" != 0 ] && [ "${#SUDO[@]}" -eq 0 ]; then
    die "missing packages ($*): run as root or install sudo"
  fi
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Install packages without letting their maintainer scripts start services
# (docker-registry ships a service that would listen on :5000). A
# policy-rc.d that answers 101 is Debian's standard way to say "do not start".
apt_install_no_services() {
  [ "$#" -gt 0 ] || return 0
  local policy=/usr/sbin/policy-rc.d created=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
    "${SUDO[@]}" chmod 755 "$policy"
    created=1
  fi
  local rc=0
  apt_install "$@" || rc=$?
  if [ "$created" = 1 ]; then "${SUDO[@]}" rm -f "$policy"; fi
  return "$rc"
}

# Make sure a package's service (Debian's docker-registry, mariadb) is not left
# running as a system service: the tests start their own instances on loopback
# with their own config.
disable_service() {
  local name="$1"
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    if systemctl is-enabled --quiet "$name" 2>/dev/null || systemctl is-active --quiet "$name" 2>/dev/null; then
      log "disabling the $name system service"
      "${SUDO[@]}" systemctl disable --now "$name" >/dev/null 2>&1 || true
    fi
  elif [ -x "/etc/init.d/$name" ]; then
    if "/etc/init.d/$name" status >/dev/null 2>&1; then
      log "stopping the $name system service"
      if command -v service >/dev/null 2>&1; then
        "${SUDO[@]}" service "$name" stop >/dev/null 2>&1 || true
      else
        "${SUDO[@]}" "/etc/init.d/$name" stop >/dev/null 2>&1 || true
      fi
    fi
    if command -v update-rc.d >/dev/null 2>&1; then
      "${SUDO[@]}" update-rc.d "$name" disable >/dev/null 2>&1 || true
    fi
  fi
}

missing_of() {
  local p out=()
  for p in "$@"; do pkg_installed "$p" || out+=("$p"); done
  echo "${out[@]:-}"
}

# --- Swift -------------------------------------------------------------------
command -v swift >/dev/null 2>&1 || die "swift is not on PATH: install the Swift toolchain first (https://www.swift.org/install/)"

# --- run ---------------------------------------------------------------------
if [ "${#RUN_PKGS[@]}" -gt 0 ]; then
  read -r -a missing <<<"$(missing_of "${RUN_PKGS[@]}")"
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
fi
if [ "$MODE" = run ]; then
  log "build dependencies present"
  exit 0
fi

# --- test: system packages ----------------------------------------------------
read -r -a missing <<<"$(missing_of "${TEST_PKGS[@]}")"
if [ "${#missing[@]}" -gt 0 ]; then
  apt_install_no_services "${missing[@]}"
else
  log "system test packages present (${TEST_PKGS[*]})"
fi
disable_service docker-registry
disable_service mariadb
disable_service slapd
[ -x /usr/bin/docker-registry ] || die "/usr/bin/docker-registry missing after install"
[ -x /usr/sbin/mariadbd ] || die "/usr/sbin/mariadbd missing after install"
[ -x /usr/sbin/slapd ] || die "/usr/sbin/slapd missing after install"
command -v ldapadd >/dev/null 2>&1 || die "ldapadd (ldap-utils) missing after install"
command -v skopeo >/dev/null 2>&1 || die "skopeo missing after install"
command -v podman >/dev/null 2>&1 || die "podman missing after install"
command -v ctr >/dev/null 2>&1 && command -v containerd >/dev/null 2>&1 || die "containerd (ctr) missing after install"
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium missing after install"
[ -x /usr/bin/chromedriver ] || die "/usr/bin/chromedriver missing after install"

# --- test: Python virtualenv -------------------------------------------------
PY="$(command -v python3 || true)"
[ -n "$PY" ] || die "python3 is not on PATH"

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtualenv $VENV"
  if ! "$PY" -m venv "$VENV" >/dev/null 2>&1; then
    # Debian's python3 needs python3-venv for ensurepip.
    rm -rf "$VENV"
    pyver="$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    extra=(python3-venv)
    if apt-cache show "python${pyver}-venv" >/dev/null 2>&1 || [ "$APT_UPDATED" = 0 ]; then
      extra+=("python${pyver}-venv")
    fi
    apt_install "${extra[@]}" || apt_install python3-venv
    "$PY" -m venv "$VENV" || die "could not create a virtualenv with $PY"
  fi
fi

if "$VENV/bin/python" - <<'EOF' >/dev/null 2>&1
import importlib.metadata as m, sys
import pytest, requests, oras.client, selenium.webdriver  # noqa: F401
v = m.version("oras").split(".")
ok = (v[0], v[1]) == ("0", "2") and m.version("schemathesis") == "4.32.5" and m.version("selenium") == "4.51.0"
sys.exit(0 if ok else 1)
EOF
then
  log "python test packages present ($VENV)"
else
  log "pip install ${PY_PKGS[*]} into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PY_PKGS[@]}"
fi

log "test dependencies ready"
