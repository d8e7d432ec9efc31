#!/usr/bin/env bash
# scripts/demo.sh - the main job, the README's first command - runs to its end with the built
# ggen: six nodes, pings, publish, distributed search by a late node, installs from the
# publisher and from a cache after it left, refusals of a foreign key and a tampered record,
# every node stopped cleanly; and it stays well under a minute.
set -euo pipefail
GGEN=${GGEN_BIN:?GGEN_BIN must point to the ggen binary}
SRC=${GGEN_SOURCE_DIR:?GGEN_SOURCE_DIR must point to the source tree}
t0=$(date +%s)
out=$(GGEN_BIN="$GGEN" bash "$SRC/scripts/demo.sh" 2>&1) || { echo "$out"; echo "FAIL: the demo failed" >&2; exit 1; }
secs=$(($(date +%s) - t0))
for want in "3 pings, 3 answered" "announced to " ": cataloged" "node6's own catalog: nothing matches" \
  "(the local catalog and " "  fetched io.ggen.examples.rust-cli-subcommand@0.2.0 from " "node1 stopped (exit 0)" \
  "project3/ggen.lock locks exactly what project2's does" "refused (the id belongs to another publisher key here)" \
  "-> exit 5" "-> dht put exit 6" "node6 exited with status 0" "demo: done in "; do
  grep -qF -- "$want" <<<"$out" || { echo "$out"; echo "FAIL: the demo's output lacks '$want'" >&2; exit 1; }
done
[ "$secs" -lt 50 ] || { echo "$out"; echo "FAIL: the demo took $secs s" >&2; exit 1; }
echo ok
