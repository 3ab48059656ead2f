#!/usr/bin/env bash
# The test command (`make test`, CI): checks the formatting (swift format lint),
# installs what the tests need, runs the Swift unit tests, builds the debug
# binary and runs the black-box end-to-end tests (Tests/e2e) against it. Exits
# non-zero if anything fails.
#
# Environment:
#   WHARF_VENV              Python virtualenv for the e2e tests (default .venv)
#   (set here for the tests) WHARF_TEST_MARIADB_URL: a throwaway mariadbd on
#                           loopback with a temporary data folder, removed at exit
#                           WHARF_TEST_LDAP_* (every line of its DIR/env): a
#                           throwaway seeded slapd on loopback, removed at exit
#   WHARF_TEST_SKIP_SWIFT=1 developer shortcut: skip the Swift build and unit
#                           tests and use the existing .build/debug/wharf
# Arguments are passed to pytest, e.g.  scripts/test.sh -x -k "skopeo or oras"
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
VENV="${WHARF_VENV:-$ROOT/.venv}"

# Every server the e2e tests start records its pid here while it runs
# (Tests/e2e/conftest.py); whatever is left when this script ends is stopped.
PIDDIR="$(mktemp -d "${TMPDIR:-/tmp}/wharf-e2e-pids.XXXXXX")"
export WHARF_E2E_PIDDIR="$PIDDIR"

stop_leftovers() {
  local f pid left=()
  for f in "$PIDDIR"/*; do
    [ -e "$f" ] || continue
    pid="$(basename "$f")"
    left+=("$pid")
    # each server runs in its own session: signal its process group, by id
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  if [ "${#left[@]}" -gt 0 ]; then
    echo "test.sh: stopping servers left running: ${left[*]}" >&2
    sleep 2
    for pid in "${left[@]}"; do
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    done
  fi
  rm -rf "$PIDDIR"
}
# The throwaway MariaDB server of this run (started below), removed at the end.
MARIADB_DIR=""
# The throwaway slapd of this run (started below), removed at the end.
SLAPD_DIR=""
cleanup() {
  stop_leftovers
  if [ -n "$MARIADB_DIR" ]; then scripts/mariadb-test-server.sh remove "$MARIADB_DIR" >/dev/null 2>&1 || true; fi
  if [ -n "$SLAPD_DIR" ]; then scripts/slapd-test-server.sh remove "$SLAPD_DIR" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { printf '\n==> %s\n' "$*"; }

failed=()

# Formatting first: it takes seconds and a finding stops the run before the long part. The settings are
# Hummingbird's (.swift-format); `swift format format --in-place --recursive` with the same paths fixes
# almost every finding.
step "swift format lint --strict (.swift-format)"
if ! swift format lint --strict --recursive --parallel Sources Tests Benchmarks Package.swift; then
  echo "test.sh: FAILED: swift format lint (run: swift format format --in-place --recursive Sources Tests Benchmarks Package.swift)" >&2
  exit 1
fi

step "dependencies (scripts/install-deps.sh test)"
scripts/install-deps.sh test

# The database tests run every store test on SQLite and on this real server
# (WHARF_TEST_MARIADB_URL); the fault tests start servers of their own.
step "throwaway MariaDB server on loopback (scripts/mariadb-test-server.sh)"
MARIADB_DIR="$(mktemp -d "${TMPDIR:-/tmp}/wharf-test-mariadb.XXXXXX")"
WHARF_TEST_MARIADB_URL="$(scripts/mariadb-test-server.sh start "$MARIADB_DIR")"
export WHARF_TEST_MARIADB_URL
echo "mariadbd on 127.0.0.1:$(cat "$MARIADB_DIR/port"), data in $MARIADB_DIR"

# The directory tests (Swift and e2e) read WHARF_TEST_LDAP_* (URLs, CA, base, admin and reader accounts); the
# tests that stop slapd start servers of their own with the same script.
step "throwaway slapd on loopback (scripts/slapd-test-server.sh)"
SLAPD_DIR="$(mktemp -d "${TMPDIR:-/tmp}/wharf-test-slapd.XXXXXX")"
scripts/slapd-test-server.sh start "$SLAPD_DIR" >/dev/null
while IFS= read -r line; do
  [ -n "$line" ] && export "${line?}"
done <"$SLAPD_DIR/env"
echo "slapd on $WHARF_TEST_LDAP_URL and $WHARF_TEST_LDAPS_URL, data in $SLAPD_DIR"

if [ "${WHARF_TEST_SKIP_SWIFT:-0}" != 1 ]; then
  step "swift build --build-tests"
  swift build --build-tests

  step "swift test (unit and HTTP tests)"
  swift test || failed+=("swift test")

  step "swift build (debug binary for the end-to-end tests)"
  swift build
else
  step "skipping the Swift build and unit tests (WHARF_TEST_SKIP_SWIFT=1)"
fi

step "end-to-end tests (pytest Tests/e2e)"
WHARF_BIN="$ROOT/.build/debug/wharf" "$VENV/bin/python" -m pytest -q Tests/e2e "$@" \
  || failed+=("end-to-end tests")

# The conformance suite once more with token auth on, every request made by a
# plain user through the challenge -> token -> request flow. pytest exits 5
# when the arguments (e.g. -k skopeo) select none of its tests: not a failure.
step "conformance tests with token auth (WHARF_E2E_CONFORMANCE_TARGET=wharf-auth)"
conformance_status=0
WHARF_E2E_CONFORMANCE_TARGET=wharf-auth WHARF_BIN="$ROOT/.build/debug/wharf" \
  "$VENV/bin/python" -m pytest -q Tests/e2e/test_conformance.py "$@" || conformance_status=$?
if [ "$conformance_status" -ne 0 ] && [ "$conformance_status" -ne 5 ]; then
  failed+=("conformance tests with token auth")
fi

if [ "${#failed[@]}" -gt 0 ]; then
  printf '\ntest.sh: FAILED: %s\n' "${failed[*]}" >&2
  exit 1
fi
