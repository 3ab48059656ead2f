#!/usr/bin/env bash
# Side-by-side comparison of Wharf and CNCF distribution (Debian's docker-registry) on this machine.
#
#   Benchmarks/compare.sh                 # every workload, 2 alternating rounds
#   ROUNDS=3 WORKLOADS="push:1MiB:8:256 pull:64MiB:4:32" Benchmarks/compare.sh
#   WHARF_FSYNC=off Benchmarks/compare.sh # Wharf without fsync (distribution never fsyncs)
#   AUTH=on Benchmarks/compare.sh         # a third column: Wharf with its token auth
#   AUTH=on DIST_AUTH=on Benchmarks/compare.sh   # distribution behind Wharf's token server too
#   AUTH=on BASELINE_BIN=/path/to/older/wharf Benchmarks/compare.sh   # an older Wharf with auth as a 4th column
#   TLS=on Benchmarks/compare.sh          # every registry over HTTPS, distribution behind Wharf's token server
#   TLS=on HTTP_VERSION=2 Benchmarks/compare.sh  # the same with the client speaking HTTP/2 (ALPN)
#
# The registries serve plain HTTP (HTTPS with TLS=on) on loopback from folders on the same filesystem. Each workload
# runs against distribution, then Wharf (open, `--auth off`), then with AUTH=on Wharf with token auth (user `bench`, its
# personal namespace holding the workloads; wharf-bench walks the challenge -> token -> request flow and caches
# tokens per scope, as docker does), ROUNDS times; the best round of each counts. The table shows each Wharf
# against distribution and, with AUTH=on, the cost of auth (Wharf with auth / open Wharf), all from one run.
# DIST_AUTH=on configures distribution as Portus set it up: `auth: token` with the authenticating Wharf's
# /v2/token as realm and its certificate as rootcertbundle, so it verifies the same RS256 tokens.
# BASELINE_BIN adds an older build of Wharf (with token auth, like the third column) measured in the same run, to
# show a change did not make a workload slower (the table gains "Wharf + auth / baseline").
# TLS=on (implies AUTH=on and DIST_AUTH=on) is the default deployment's topology: every registry serves HTTPS with
# one RSA-2048 self-signed pair the script makes with openssl for 127.0.0.1 (Wharf takes it from `certs/` in its
# data folder, so the authenticating Wharf also signs its tokens with that key; distribution gets it as `http.tls`
# and as `rootcertbundle`, its realm being Wharf's https://…/v2/token); wharf-bench trusts it with --ca-file.
# HTTP_VERSION=1 (default) makes the client offer HTTP/1.1 only; HTTP_VERSION=2 offers h2 by ALPN, which both
# servers accept, so each run uses one multiplexed connection per registry (as Go clients do). HTTP/2 needs TLS.
# JSON per run and the logs stay in $OUT; the stored blobs are removed at the end (KEEP_DATA=1 keeps them).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
ROUNDS="${ROUNDS:-2}"
WHARF_FSYNC="${WHARF_FSYNC:-on}"
AUTH="${AUTH:-off}"
DIST_AUTH="${DIST_AUTH:-off}"
BASELINE_BIN="${BASELINE_BIN:-}"
TLS="${TLS:-off}"
HTTP_VERSION="${HTTP_VERSION:-1}"
case "$TLS:$HTTP_VERSION" in
  on:1 | on:2 | off:1) ;;
  off:2) echo "compare: HTTP_VERSION=2 needs TLS=on (neither server speaks HTTP/2 in clear text)" >&2; exit 2 ;;
  *) echo "compare: TLS must be on or off and HTTP_VERSION 1 or 2" >&2; exit 2 ;;
esac
[ "$TLS" = on ] && DIST_AUTH=on
[ "$DIST_AUTH" = on ] && AUTH=on
[ -n "$BASELINE_BIN" ] && AUTH=on
OUT="${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/wharf-compare.XXXXXX")}"
# workload:size:concurrency:count
DEFAULT_WORKLOADS="push:64MiB:4:16 pull:64MiB:4:32 push:1MiB:8:256 push:4KiB:16:1600 push-chunked:10MiB:4:24 manifest-get:0:16:6000 manifest-put:0:16:1600 blob-head:1KiB:16:6000 mixed:10MiB:4:64 catalog:0:4:1000"
WORKLOADS="${WORKLOADS:-$DEFAULT_WORKLOADS}"

scripts/install-deps.sh test >/dev/null
echo "compare: building release binaries"
swift build -c release --product wharf >/dev/null
swift build -c release --product wharf-bench >/dev/null
BIN="$ROOT/.build/release"

SCHEME=http
TLS_ARGS=()
CURL_TLS=()
if [ "$TLS" = on ]; then
  SCHEME=https
  mkdir -p "$OUT/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 90 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$OUT/tls/server.key" -out "$OUT/tls/server.crt" 2>"$OUT/tls/openssl.log" ||
    { cat "$OUT/tls/openssl.log" >&2; exit 1; }
  chmod 600 "$OUT/tls/server.key"
  TLS_ARGS=(--ca-file "$OUT/tls/server.crt" --http-version "$HTTP_VERSION")
  CURL_TLS=(--cacert "$OUT/tls/server.crt")
fi

# install_certificate NAME: with TLS=on, gives the Wharf data folder NAME the shared pair (before its first start).
install_certificate() {
  [ "$TLS" = on ] || return 0
  mkdir -p -m 700 "$OUT/$1" "$OUT/$1/certs"
  cp "$OUT/tls/server.crt" "$OUT/tls/server.key" "$OUT/$1/certs/"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
mkdir -p "$OUT"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "${KEEP_DATA:-0}" = 1 ] || rm -rf "$OUT/distribution" "$OUT"/wharf*/registry "$OUT"/baseline/registry
}
trap cleanup EXIT

wait_ready() {
  for _ in $(seq 1 100); do
    # 401 counts as up: with auth, /v2/ asks for credentials.
    code=$(curl -sS "${CURL_TLS[@]}" -o /dev/null -w '%{http_code}' "$SCHEME://127.0.0.1:$1/v2/" 2>/dev/null || true)
    { [ "$code" = 200 ] || [ "$code" = 401 ]; } && return 0
    sleep 0.1
  done
  echo "compare: registry on port $1 did not start" >&2
  exit 1
}

# start_wharf NAME AUTH(on|off) [BINARY]: Wharf with its own data folder; prints nothing, sets PORT_<NAME>.
start_wharf() {
  local name=$1 auth=$2 binary=${3:-$BIN/wharf} port
  port=$(free_port)
  # 0700 like the data folder Wharf creates itself (an open one is reported at start-up).
  mkdir -p -m 700 "$OUT/$name"
  install_certificate "$name"
  WHARF_STORAGE_FSYNC="$WHARF_FSYNC" WHARF_LOG_LEVEL=warning "$binary" serve --data "$OUT/$name" \
    --listen "127.0.0.1:$port" --tls "$TLS" --auth "$auth" >"$OUT/$name.log" 2>&1 &
  pids+=($!)
  wait_ready "$port"
  printf -v "PORT_$name" '%s' "$port"
}

TARGETS=(distribution wharf)
start_wharf wharf off
BENCH_PASSWORD=""
if [ "$AUTH" = on ]; then
  BENCH_PASSWORD="bench-password-$RANDOM$RANDOM"
  install_certificate wharfauth
  # An admin exists, so `bench` stays a plain user (older builds made the first user to log in an admin).
  printf '%s\n' "$BENCH_PASSWORD" | "$BIN/wharf" user create bench-admin --admin --password-stdin --data "$OUT/wharfauth" >/dev/null
  printf '%s\n' "$BENCH_PASSWORD" | "$BIN/wharf" user create bench --password-stdin --data "$OUT/wharfauth" >/dev/null
  start_wharf wharfauth on
  TARGETS+=(wharfauth)
  if [ -n "$BASELINE_BIN" ]; then
    install_certificate baseline
    printf '%s\n' "$BENCH_PASSWORD" | "$BASELINE_BIN" user create bench-admin --admin --password-stdin --data "$OUT/baseline" >/dev/null
    printf '%s\n' "$BENCH_PASSWORD" | "$BASELINE_BIN" user create bench --password-stdin --data "$OUT/baseline" >/dev/null
    start_wharf baseline on "$BASELINE_BIN"
    TARGETS+=(baseline)
  fi
fi

DIST_PORT=$(free_port)
AUTH_YAML=""
if [ "$DIST_AUTH" = on ]; then
  AUTH_YAML="auth:
  token:
    realm: $SCHEME://127.0.0.1:$PORT_wharfauth/v2/token
    service: wharf
    issuer: wharf
    rootcertbundle: $OUT/wharfauth/certs/server.crt"
fi
TLS_YAML=""
if [ "$TLS" = on ]; then
  TLS_YAML="  tls:
    certificate: $OUT/tls/server.crt
    key: $OUT/tls/server.key"
fi
mkdir -p "$OUT/distribution"
cat >"$OUT/distribution.yml" <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $OUT/distribution
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$DIST_PORT
$TLS_YAML
$AUTH_YAML
YAML
/usr/bin/docker-registry serve "$OUT/distribution.yml" >"$OUT/distribution.log" 2>&1 &
pids+=($!)
wait_ready "$DIST_PORT"
PORT_distribution=$DIST_PORT

TRANSPORT="plain HTTP/1.1"
[ "$TLS" = on ] && TRANSPORT="TLS, client HTTP/$([ "$HTTP_VERSION" = 2 ] && echo 2 || echo 1.1)"
echo "compare: $(nproc) cores, $(uname -m), distribution $(dpkg-query -W -f='${Version}' docker-registry) (auth $DIST_AUTH), wharf $("$BIN/wharf" version), fsync $WHARF_FSYNC, $TRANSPORT, targets ${TARGETS[*]}, $ROUNDS rounds"
for round in $(seq 1 "$ROUNDS"); do
  for spec in $WORKLOADS; do
    IFS=: read -r kind size concurrency count <<<"$spec"
    workload="$kind"
    [ "$size" != 0 ] && workload="$kind:$size"
    for target in "${TARGETS[@]}"; do
      port_var="PORT_$target"
      credentials=()
      if [ "$target" = wharfauth ] || [ "$target" = baseline ] || { [ "$target" = distribution ] && [ "$DIST_AUTH" = on ]; }; then
        credentials=(--user bench --password "$BENCH_PASSWORD")
      fi
      "$BIN/wharf-bench" --url "$SCHEME://127.0.0.1:${!port_var}" --workload "$workload" --chunk 1MiB \
        --concurrency "$concurrency" --count "$count" --label "$target" "${credentials[@]}" "${TLS_ARGS[@]}" \
        --json "$OUT/$target-$round-$kind-$size.json" | tail -n 1
    done
  done
done

python3 - "$OUT" "${TARGETS[@]}" <<'PY'
import glob, json, os, sys
out, targets = sys.argv[1], sys.argv[2:]
best = {}
versions = {}
for path in glob.glob(os.path.join(out, "*.json")):
    target = os.path.basename(path).split("-")[0]
    for r in json.load(open(path)):
        versions.setdefault(target, set()).update(r.get("httpVersions", []))
        key = (r["workload"], r["size"], r["concurrency"])
        if r["errors"]:
            print(f"warning: {target} {key} had {r['errors']} errors", file=sys.stderr)
        prev = best.get((target,) + key)
        if prev is None or r["operationsPerSecond"] > prev["operationsPerSecond"]:
            best[(target,) + key] = r
def size(n):
    return f"{n >> 20} MiB" if n >= 1 << 20 else (f"{n >> 10} KiB" if n >= 1024 and n % 1024 == 0 else "-")
names = {"distribution": "distribution", "wharf": "Wharf", "wharfauth": "Wharf + auth", "baseline": "baseline + auth"}
header = ["workload", "size", "concurrency"] + [names[t] for t in targets] + ["Wharf / distribution"]
if "wharfauth" in targets:
    header += ["Wharf + auth / distribution", "auth cost (Wharf + auth / Wharf)"]
if "baseline" in targets:
    header += ["Wharf + auth / baseline + auth"]
header += ["Wharf p99 ms (distribution)"]
print()
print("| " + " | ".join(header) + " |")
print("|" + " --- |" * len(header))
keys = sorted({k[1:] for k in best}, key=lambda k: (k[0], k[1]))
for key in keys:
    rows = {t: best.get((t,) + key) for t in targets}
    if any(r is None for r in rows.values()):
        continue
    mb = rows["distribution"]["megabytesPerSecond"] > 0
    unit = "MB/s" if mb else "ops/s"
    value = {t: (r["megabytesPerSecond"] if mb else r["operationsPerSecond"]) for t, r in rows.items()}
    size_text = size(key[1]) if key[0] not in ("manifest-get", "catalog") else "-"
    cells = [key[0], size_text, str(key[2])] + [f"{value[t]:,.0f} {unit}" for t in targets]
    cells.append(f"{value['wharf'] / value['distribution']:.2f}x")
    if "wharfauth" in targets:
        cells.append(f"{value['wharfauth'] / value['distribution']:.2f}x")
        cells.append(f"{value['wharfauth'] / value['wharf']:.2f}x")
    if "baseline" in targets:
        cells.append(f"{value['wharfauth'] / value['baseline']:.2f}x")
    cells.append(f"{rows['wharf']['p99Milliseconds']:.1f} ({rows['distribution']['p99Milliseconds']:.1f})")
    print("| " + " | ".join(cells) + " |")
# What the client really spoke: ALPN may settle on HTTP/1.1 when HTTP/2 was offered.
print()
print("protocols: " + "; ".join(f"{names[t]} {', '.join(sorted(versions.get(t, set()))) or '?'}" for t in targets))
PY
echo
echo "compare: $TRANSPORT; raw results in $OUT"
