#!/usr/bin/env bash
# Token requests of an LDAP user (issue 15's closing note): a throwaway slapd (scripts/slapd-test-server.sh), Wharf
# with LDAP on (search-then-bind as the read-only account, plain LDAP on loopback, no TLS to Wharf), and wharf-bench's
# token workload as the directory's alice:
#   cold   ldap.cache_ttl 0: every /v2/token call searches and binds in the directory
#   warm   ldap.cache_ttl 60s: the bind cache answers (one directory round trip per minute)
#   slow   the same two through Benchmarks/ldap-delay-proxy.py, which holds every client->slapd chunk DELAY seconds
#          (the p99 of a /v2/token call while slapd is slow), and a local user's token calls meanwhile
# Prints one table; the raw wharf-bench JSON stays in the work folder (printed at the end).
#
# Environment:
#   WHARF_BIN, WHARF_BENCH_BIN  the binaries (default: .build/release/* when built, else .build/debug/*)
#   CONCURRENCY (8), COUNT (400)  the fast runs; SLOW_CONCURRENCY (4), SLOW_COUNT (24)  the runs through the proxy
#   DELAY (1.0)                 seconds the proxy holds each chunk
#   KEEP=1                      keep the work folder (slapd data, Wharf logs)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

pick() {  # pick NAME: the release build when there is one, else the debug build
  if [ -x "$ROOT/.build/release/$1" ]; then echo "$ROOT/.build/release/$1"; else echo "$ROOT/.build/debug/$1"; fi
}
WHARF="${WHARF_BIN:-$(pick wharf)}"
BENCH="${WHARF_BENCH_BIN:-$(pick wharf-bench)}"
CONCURRENCY="${CONCURRENCY:-8}"
COUNT="${COUNT:-400}"
SLOW_CONCURRENCY="${SLOW_CONCURRENCY:-4}"
SLOW_COUNT="${SLOW_COUNT:-24}"
DELAY="${DELAY:-1.0}"
for b in "$WHARF" "$BENCH"; do
  [ -x "$b" ] || { echo "ldap-token-bench: $b not found: swift build (-c release) first" >&2; exit 1; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/wharf-ldap-bench.XXXXXX")"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  scripts/slapd-test-server.sh remove "$WORK/slapd" >/dev/null 2>&1 || true
  if [ "${KEEP:-0}" = 1 ]; then echo "work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

scripts/slapd-test-server.sh start "$WORK/slapd" >/dev/null
# shellcheck disable=SC1091
. "$WORK/slapd/env"
LDAP_PORT="${WHARF_TEST_LDAP_URL##*:}"

# serve NAME LDAP_URL CACHE_TTL: starts Wharf (plain HTTP on a free port) and sets URL
serve() {
  local name="$1" ldap_url="$2" ttl="$3" port data
  port="$(free_port)"
  data="$WORK/$name"
  mkdir -p "$data"
  env -i PATH="$PATH" HOME="$HOME" \
    WHARF_LDAP_ENABLED=true WHARF_LDAP_URL="$ldap_url" WHARF_LDAP_ENCRYPTION=plain \
    WHARF_LDAP_BASE_DN="ou=people,$WHARF_TEST_LDAP_BASE" WHARF_LDAP_USER_ATTRIBUTE=uid \
    WHARF_LDAP_BIND_DN="$WHARF_TEST_LDAP_READER_DN" WHARF_LDAP_BIND_PASSWORD="$WHARF_TEST_LDAP_READER_PASSWORD" \
    WHARF_LDAP_CACHE_TTL="$ttl" WHARF_LDAP_OPERATION_TIMEOUT=30s \
    "$WHARF" user create local-admin --admin --password local-password-1234 --data "$data" >/dev/null
  env -i PATH="$PATH" HOME="$HOME" \
    WHARF_LDAP_ENABLED=true WHARF_LDAP_URL="$ldap_url" WHARF_LDAP_ENCRYPTION=plain \
    WHARF_LDAP_BASE_DN="ou=people,$WHARF_TEST_LDAP_BASE" WHARF_LDAP_USER_ATTRIBUTE=uid \
    WHARF_LDAP_BIND_DN="$WHARF_TEST_LDAP_READER_DN" WHARF_LDAP_BIND_PASSWORD="$WHARF_TEST_LDAP_READER_PASSWORD" \
    WHARF_LDAP_CACHE_TTL="$ttl" WHARF_LDAP_OPERATION_TIMEOUT=30s \
    "$WHARF" serve --data "$data" --listen "127.0.0.1:$port" --tls off >"$data/wharf.log" 2>&1 &
  PIDS+=("$!")
  URL="http://127.0.0.1:$port"
  for _ in $(seq 1 300); do
    case "$(curl -so /dev/null -w '%{http_code}' "$URL/v2/" 2>/dev/null || true)" in 200 | 401) return 0 ;; esac
    sleep 0.1
  done
  echo "ldap-token-bench: wharf ($name) did not start; log:" >&2
  tail -20 "$data/wharf.log" >&2
  exit 1
}

# bench LABEL USER PASSWORD CONCURRENCY COUNT: one token workload; prints "LABEL ops/s p50 p99 errors"
bench() {
  local label="$1" out="$WORK/$1.json"
  "$BENCH" --url "$URL" --workload token --user "$2" --password "$3" --concurrency "$4" --count "$5" \
    --json "$out" --label "$label" >"$WORK/$label.txt" 2>&1 \
    || { echo "ldap-token-bench: wharf-bench ($label) failed:" >&2; cat "$WORK/$label.txt" >&2; exit 1; }
  python3 - "$label" "$out" <<'PY'
import json, sys
label, path = sys.argv[1], sys.argv[2]
r = json.load(open(path))[0]
err = f"  ({r['errors']} errors: {r.get('firstError')})" if r["errors"] else ""
print(f"{label:<34} {r['operationsPerSecond']:>9.1f} {r['p50Milliseconds']:>10.1f} {r['p99Milliseconds']:>10.1f}{err}")
PY
}

printf '%-34s %9s %10s %10s\n' "token requests (alice, LDAP)" "req/s" "p50 ms" "p99 ms"
serve cold "$WHARF_TEST_LDAP_URL" 0
bench "cold (cache_ttl 0)" alice alice-password "$CONCURRENCY" "$COUNT"
serve warm "$WHARF_TEST_LDAP_URL" 60s
bench "warm (cache_ttl 60s)" alice alice-password "$CONCURRENCY" "$COUNT"

python3 Benchmarks/ldap-delay-proxy.py --target "127.0.0.1:$LDAP_PORT" --delay "$DELAY" >"$WORK/proxy.out" 2>&1 &
PIDS+=("$!")
for _ in $(seq 1 100); do [ -s "$WORK/proxy.out" ] && break; sleep 0.1; done
PROXY="$(head -1 "$WORK/proxy.out" | sed 's/^listening //')"
[ -n "$PROXY" ] || { echo "ldap-token-bench: the delay proxy did not start" >&2; cat "$WORK/proxy.out" >&2; exit 1; }

serve slow-cold "ldap://$PROXY" 0
bench "slapd +${DELAY}s, cold" alice alice-password "$SLOW_CONCURRENCY" "$SLOW_COUNT"
bench "slapd +${DELAY}s, local user" local-admin local-password-1234 "$SLOW_CONCURRENCY" "$SLOW_COUNT"
serve slow-warm "ldap://$PROXY" 60s
bench "slapd +${DELAY}s, warm" alice alice-password "$CONCURRENCY" "$COUNT"
echo "(wharf $("$WHARF" --version 2>/dev/null || echo '?'), $(basename "$(dirname "$WHARF")") build; concurrency $CONCURRENCY x $COUNT, slow $SLOW_CONCURRENCY x $SLOW_COUNT)"
