#!/usr/bin/env bash
# scripts/demo-market.sh runs to its end with the built ggen (publish, install, list, frozen
# reinstall, remove) and leaves nothing behind.
set -euo pipefail
GGEN=${GGEN_BIN:?GGEN_BIN must point to the ggen binary}
SRC=${GGEN_SOURCE_DIR:?GGEN_SOURCE_DIR must point to the source tree}
out=$(GGEN_BIN="$GGEN" bash "$SRC/scripts/demo-market.sh" 2>&1) || { echo "$out"; echo "FAIL: demo failed" >&2; exit 1; }
for want in "published io.ggen.examples.rust-cli-subcommand@0.2.0" "already published" \
  "showing results for \"ontology\"" "3 added" "up to date: 3 packs" "3 reinstalled" "3 removed" "no packs installed" "demo finished"; do
  grep -qF "$want" <<<"$out" || { echo "$out"; echo "FAIL: demo output lacks '$want'" >&2; exit 1; }
done
echo ok
