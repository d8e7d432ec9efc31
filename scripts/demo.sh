#!/usr/bin/env bash
# The main job, for now: a small local libp2p network of ggen nodes.
#   1. start three nodes (separate homes under a temp dir, loopback, any free port);
#   2. every node pings the other two: dial, Noise, Yamux, identify, then 3 pings;
#   3. stop them with SIGTERM and check that each exits cleanly.
# Usage: scripts/demo.sh [NODES]   (build first: scripts/build.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
GGEN=${GGEN_BIN:-$here/build/ggen}
[ -x "$GGEN" ] || { echo "demo: $GGEN not found; run scripts/build.sh first" >&2; exit 1; }
n=${1:-3}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "== starting $n nodes (homes under $work)"
addrs=()
for i in $(seq 1 "$n"); do
  home=$work/node$i
  "$GGEN" --home "$home" p2p start --listen /ip4/127.0.0.1/tcp/0 -v >"$home.out" 2>"$home.log" &
  pids+=($!)
  for _ in $(seq 200); do [ -s "$home.out" ] && break; sleep 0.05; done
  line=$(head -1 "$home.out")
  [[ $line == listening* ]] || { echo "node$i did not start:"; cat "$home.log"; exit 1; }
  addrs+=("${line#listening }")
  echo "node$i  ${line#listening }"
done

echo
echo "== every node pings the others"
failures=0
for i in $(seq 1 "$n"); do
  for j in $(seq 1 "$n"); do
    [ "$i" = "$j" ] && continue
    echo "-- node$i -> node$j"
    if ! "$GGEN" --home "$work/node$i" p2p ping "${addrs[$((j - 1))]}" --count 3 --interval 100 |
      sed 's/^/   /'; then
      failures=$((failures + 1))
    fi
  done
done

echo
echo "== stopping the nodes (SIGTERM)"
for i in $(seq 1 "$n"); do
  kill -TERM "${pids[$((i - 1))]}"
  rc=0
  wait "${pids[$((i - 1))]}" || rc=$?
  echo "node$i exited with status $rc ($(grep -c 'up (muxer' "$work/node$i.log" || true) connections served)"
  [ $rc = 0 ] || failures=$((failures + 1))
done
pids=()
echo
if [ $failures = 0 ]; then
  echo "demo: all $((n * (n - 1))) pings answered, all nodes stopped cleanly"
else
  echo "demo: $failures failures"
  exit 1
fi
