#!/usr/bin/env bash
# Garbage collection against distribution (Debian's docker-registry) on one generated folder, and push throughput
# while Wharf collects.
#
#   Benchmarks/gc-bench.sh                     # 1,000 repositories: 100,050 blobs, 10,000 manifests, 1,000 deleted
#   REPOSITORIES=100 Benchmarks/gc-bench.sh    # a quick run
#   ROUNDS=3 PUSH=push:1MiB:8:256 Benchmarks/gc-bench.sh
#
# 1. Benchmarks/make-registry-folder.py writes the folder once (--unique-layers 8 --deleted-every 10: every tenth
#    image deleted by digest, its blobs left for GC); each collector gets its own copy (cp -a, so the page cache is
#    warm for both).
# 2. Time and peak memory (/usr/bin/time) of `wharf gc --dry-run`, `wharf gc` (the sweep), and distribution's
#    `garbage-collect --dry-run` and `garbage-collect` (which wants the registry stopped; Wharf's runs online). The
#    blobs left afterwards must be the same set, and distribution's dry run on Wharf's result must find nothing.
# 3. Push throughput (wharf-bench) against a Wharf serving a fresh copy: ROUNDS rounds alternating "no GC" and
#    "`wharf gc --min-age 0` in a loop" (the first run of the loop sweeps the deleted images, the next ones mark
#    100,000 blobs again and again), with distribution's push throughput in the same run for scale.
# Everything stays in $OUT (KEEP_DATA=1 keeps the folders, otherwise removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
REPOSITORIES="${REPOSITORIES:-1000}"
ROUNDS="${ROUNDS:-2}"
PUSH="${PUSH:-push:1MiB:8:256}"
OUT="${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/wharf-gc-bench.XXXXXX")}"

scripts/install-deps.sh test >/dev/null
echo "gc-bench: building release binaries"
swift build -c release --product wharf >/dev/null
swift build -c release --product wharf-bench >/dev/null
BIN="$ROOT/.build/release"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP_DATA:-0}" != 1 ]; then rm -rf "$OUT/source" "$OUT/wharf" "$OUT/dist" "$OUT/live" "$OUT/distlive"; fi
}
trap cleanup EXIT

python3 Benchmarks/make-registry-folder.py "$OUT/source/registry" --repositories "$REPOSITORIES" --unique-layers 8 \
  --deleted-every 10
for copy in wharf dist live distlive; do
  rm -rf "${OUT:?}/$copy"
  mkdir -p -m 700 "$OUT/$copy"
  cp -a "$OUT/source/registry" "$OUT/$copy/registry"
done
blobs=$(find "$OUT/source/registry/docker/registry/v2/blobs" -name data | wc -l)
manifests=$(find "$OUT/source/registry/docker/registry/v2/repositories" -path '*/_manifests/revisions/*/link' | wc -l)
echo "gc-bench: $(nproc) cores, $blobs blobs, $manifests manifest revisions in $REPOSITORIES repositories, wharf $("$BIN/wharf" version), distribution $(dpkg-query -W -f='${Version}' docker-registry)"

dist_config() {
  cat >"$OUT/$1.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $OUT/$1/registry
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${2:-5999}
health:
  storagedriver:
    enabled: false
YAML
}
dist_config dist

# timed LABEL COMMAND...: runs it, prints "LABEL  seconds  peak MB".
timed() {
  local label=$1
  shift
  /usr/bin/time -f '%e %M' -o "$OUT/$label.time" "$@" >"$OUT/$label.out" 2>"$OUT/$label.err" ||
    { echo "gc-bench: $label failed:" >&2; tail -5 "$OUT/$label.err" >&2; exit 1; }
  read -r seconds kilobytes <"$OUT/$label.time"
  printf '%-34s %8.2f s %8.0f MB\n' "$label" "$seconds" "$((kilobytes / 1024))"
}

timed "wharf gc --dry-run" "$BIN/wharf" gc --dry-run --min-age 0 --json --data "$OUT/wharf"
timed "wharf gc" "$BIN/wharf" gc --min-age 0 --json --data "$OUT/wharf"
timed "distribution garbage-collect -d" /usr/bin/docker-registry garbage-collect --dry-run "$OUT/dist.yml"
timed "distribution garbage-collect" /usr/bin/docker-registry garbage-collect "$OUT/dist.yml"

python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
dry = json.load(open(f"{out}/wharf gc --dry-run.out"))
real = json.load(open(f"{out}/wharf gc.out"))
def left(copy):
    root = f"{out}/{copy}/registry/docker/registry/v2/blobs"
    return {d for d, _, files in os.walk(root) if "data" in files}
wharf_left = {os.path.basename(p) for p in left("wharf")}
dist_left = {os.path.basename(p) for p in left("dist")}
print(f"wharf: {real['reclaimed_blobs']} blobs reclaimed ({real['reclaimed_bytes'] / 1e6:.1f} MB), "
      f"{real['removed_layer_links']} layer links; dry run listed {dry['eligible_blobs']}")
assert real["reclaimed_blobs"] == dry["eligible_blobs"], "the real run deleted other than the dry run listed"
assert wharf_left == dist_left, f"left: {len(wharf_left)} by wharf, {len(dist_left)} by distribution"
print(f"blobs left: {len(wharf_left)}, the same set after either collector")
PY
# Distribution finds nothing more on Wharf's result.
dist_config wharf
/usr/bin/docker-registry garbage-collect --dry-run "$OUT/wharf.yml" >"$OUT/dist-after-wharf.out" 2>&1
more=$(grep -c 'blob eligible for deletion' "$OUT/dist-after-wharf.out" || true)
echo "distribution's dry run after wharf gc: $more blobs eligible"
[ "$more" = 0 ]

# Push throughput with and without a GC loop.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_ready() {
  for _ in $(seq 1 200); do curl -fsS -o /dev/null "http://127.0.0.1:$1/v2/" 2>/dev/null && return 0; sleep 0.1; done
  echo "gc-bench: server on $1 did not start" >&2
  exit 1
}
port=$(free_port)
WHARF_LOG_LEVEL=warning "$BIN/wharf" serve --data "$OUT/live" --listen "127.0.0.1:$port" --tls off --auth off \
  >"$OUT/live.log" 2>&1 &
pids+=($!)
wait_ready "$port"
dist_port=$(free_port)
dist_config distlive "$dist_port"
/usr/bin/docker-registry serve "$OUT/distlive.yml" >"$OUT/distlive.log" 2>&1 &
pids+=($!)
wait_ready "$dist_port"

IFS=: read -r kind size concurrency count <<<"$PUSH"
bench() {  # bench LABEL PORT
  "$BIN/wharf-bench" --url "http://127.0.0.1:$2" --workload "$kind:$size" --concurrency "$concurrency" --count "$count" \
    --label "$1" --json "$OUT/push-$1-$round.json" | tail -n 1
}
for round in $(seq 1 "$ROUNDS"); do
  bench distribution "$dist_port"
  bench wharf "$port"
  (
    while [ ! -e "$OUT/stop-gc" ]; do
      "$BIN/wharf" gc --min-age 0 --json --data "$OUT/live" >>"$OUT/gc-loop.out" 2>>"$OUT/gc-loop.err" || true
    done
  ) &
  loop=$!
  sleep 1
  bench wharf-during-gc "$port"
  touch "$OUT/stop-gc"
  wait "$loop"
  rm -f "$OUT/stop-gc"
done
python3 - "$OUT" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
best = {}
for path in glob.glob(f"{out}/push-*.json"):
    label = os.path.basename(path)[5:].rsplit("-", 1)[0]
    for r in json.load(open(path)):
        assert r["errors"] == 0, (path, r["firstError"])
        best[label] = max(best.get(label, 0), r["megabytesPerSecond"])
runs = sum(1 for line in open(f"{out}/gc-loop.out") if line.strip())
print(f"push throughput, best round (MB/s): distribution {best['distribution']:.0f}, wharf {best['wharf']:.0f}, "
      f"wharf during gc {best['wharf-during-gc']:.0f} ({runs} gc runs in the loops)")
print(f"wharf / distribution {best['wharf'] / best['distribution']:.2f}x; "
      f"wharf during gc / distribution {best['wharf-during-gc'] / best['distribution']:.2f}x; "
      f"during gc / without {best['wharf-during-gc'] / best['wharf']:.2f}")
PY
echo "gc-bench: results in $OUT"
