#!/usr/bin/env bash
# Side-by-side comparison of Wharf and CNCF distribution (Debian's docker-registry) on this machine.
#
#   Benchmarks/compare.sh                 # every workload, 2 alternating rounds
#   ROUNDS=3 WORKLOADS="push:1MiB pull:64MiB" Benchmarks/compare.sh
#   WHARF_FSYNC=off Benchmarks/compare.sh # Wharf without fsync (distribution never fsyncs)
#   AUTH=on Benchmarks/compare.sh         # both registries behind token auth (see below)
#
# Both registries serve plain HTTP on loopback from folders on the same filesystem, with no auth by default.
# With AUTH=on, Wharf runs with its token auth and a user `bench`, and distribution is configured as Portus set
# it up: `auth: token` with Wharf's /v2/token as realm and Wharf's certificate as rootcertbundle, so both verify
# the same RS256 tokens from the same token server; wharf-bench walks the challenge -> token -> request flow
# (tokens cached per scope, as docker does).
# Each workload runs against distribution, then Wharf, ROUNDS times; the best round of each counts,
# and the table shows Wharf / distribution. Results (JSON per run) stay in $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
ROUNDS="${ROUNDS:-2}"
WHARF_FSYNC="${WHARF_FSYNC:-on}"
AUTH="${AUTH:-off}"
OUT="${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/wharf-compare.XXXXXX")}"
# workload:size:concurrency:count
DEFAULT_WORKLOADS="push:64MiB:4:16 pull:64MiB:4:32 push:1MiB:8:256 push:4KiB:16:1600 push-chunked:10MiB:4:24 manifest-get:0:16:6000 blob-head:1KiB:16:6000 mixed:10MiB:4:64 catalog:0:4:1000"
WORKLOADS="${WORKLOADS:-$DEFAULT_WORKLOADS}"

scripts/install-deps.sh test >/dev/null
echo "compare: building release binaries"
swift build -c release --product wharf >/dev/null
swift build -c release --product wharf-bench >/dev/null
BIN="$ROOT/.build/release"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
DIST_PORT=$(free_port)
WHARF_PORT=$(free_port)
mkdir -p "$OUT/distribution" "$OUT/wharf"
pids=()
# The stored blobs run to gigabytes per run: they go at the end (KEEP_DATA=1 keeps them); JSON and logs stay.
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "${KEEP_DATA:-0}" = 1 ] || rm -rf "$OUT/distribution" "$OUT/wharf/registry"
}
trap cleanup EXIT

wait_ready() {
  for _ in $(seq 1 100); do
    # 401 counts as up: with auth, /v2/ asks for credentials.
    code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/v2/" 2>/dev/null || true)
    [ "$code" = 200 ] || [ "$code" = 401 ] && return 0
    sleep 0.1
  done
  echo "compare: registry on port $1 did not start" >&2
  exit 1
}

BENCH_AUTH=()
if [ "$AUTH" = on ]; then
  BENCH_PASSWORD="bench-password-$RANDOM$RANDOM"
  printf '%s\n' "$BENCH_PASSWORD" | "$BIN/wharf" user create bench --password-stdin --data "$OUT/wharf" >/dev/null
  # An admin exists, so the bench user stays a plain user (its personal namespace `bench` holds the workloads).
  printf '%s\n' "$BENCH_PASSWORD" | "$BIN/wharf" user create bench-admin --admin --password-stdin --data "$OUT/wharf" >/dev/null
  BENCH_AUTH=(--user bench --password "$BENCH_PASSWORD")
  WHARF_AUTH=on
else
  WHARF_AUTH=off
fi
WHARF_STORAGE_FSYNC="$WHARF_FSYNC" WHARF_LOG_LEVEL=warning "$BIN/wharf" serve --data "$OUT/wharf" \
  --listen "127.0.0.1:$WHARF_PORT" --tls off --auth "$WHARF_AUTH" >"$OUT/wharf.log" 2>&1 &
pids+=($!)
wait_ready "$WHARF_PORT"

AUTH_YAML=""
if [ "$AUTH" = on ]; then
  AUTH_YAML="auth:
  token:
    realm: http://127.0.0.1:$WHARF_PORT/v2/token
    service: wharf
    issuer: wharf
    rootcertbundle: $OUT/wharf/certs/server.crt"
fi
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
$AUTH_YAML
YAML

/usr/bin/docker-registry serve "$OUT/distribution.yml" >"$OUT/distribution.log" 2>&1 &
pids+=($!)
wait_ready "$DIST_PORT"

echo "compare: $(nproc) cores, $(uname -m), distribution $(dpkg-query -W -f='${Version}' docker-registry), wharf $("$BIN/wharf" version), fsync $WHARF_FSYNC, auth $AUTH, $ROUNDS rounds"
for round in $(seq 1 "$ROUNDS"); do
  for spec in $WORKLOADS; do
    IFS=: read -r kind size concurrency count <<<"$spec"
    workload="$kind"
    [ "$size" != 0 ] && workload="$kind:$size"
    for target in distribution wharf; do
      port=$DIST_PORT
      [ "$target" = wharf ] && port=$WHARF_PORT
      "$BIN/wharf-bench" --url "http://127.0.0.1:$port" --workload "$workload" --chunk 1MiB \
        --concurrency "$concurrency" --count "$count" --label "$target" "${BENCH_AUTH[@]}" \
        --json "$OUT/$target-$round-$kind-$size.json" | tail -n 1
    done
  done
done

python3 - "$OUT" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
best = {}
for path in glob.glob(os.path.join(out, "*.json")):
    target = os.path.basename(path).split("-")[0]
    for r in json.load(open(path)):
        key = (r["workload"], r["size"], r["concurrency"])
        if r["errors"]:
            print(f"warning: {target} {key} had {r['errors']} errors", file=sys.stderr)
        prev = best.get((target,) + key)
        if prev is None or r["operationsPerSecond"] > prev["operationsPerSecond"]:
            best[(target,) + key] = r
def size(n):
    return f"{n >> 20} MiB" if n >= 1 << 20 else (f"{n >> 10} KiB" if n >= 1024 and n % 1024 == 0 else "-")
print()
print("| workload | size | concurrency | distribution | wharf | wharf / distribution | wharf p99 ms (distribution) |")
print("| --- | --- | --- | --- | --- | --- | --- |")
keys = sorted({k[1:] for k in best}, key=lambda k: (k[0], k[1]))
for key in keys:
    d, w = best.get(("distribution",) + key), best.get(("wharf",) + key)
    if not d or not w:
        continue
    unit = "MB/s" if d["megabytesPerSecond"] > 0 else "ops/s"
    dv = d["megabytesPerSecond"] if unit == "MB/s" else d["operationsPerSecond"]
    wv = w["megabytesPerSecond"] if unit == "MB/s" else w["operationsPerSecond"]
    size_text = size(key[1]) if key[0] not in ("manifest-get", "catalog") else "-"
    print(f"| {key[0]} | {size_text} | {key[2]} | {dv:,.0f} {unit} | {wv:,.0f} {unit} | {wv / dv:.2f}x | {w['p99Milliseconds']:.1f} ({d['p99Milliseconds']:.1f}) |")
PY
echo
echo "compare: raw results in $OUT"
