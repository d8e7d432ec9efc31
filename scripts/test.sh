#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. release build, every CTest test (unit, CLI, interop, fuzz-corpus replay);
#   2. ASan+UBSan build, every CTest test again;
#   3. clang libFuzzer build, each fuzz target run briefly on its corpus;
#   4. each benchmark in its small (--quick) configuration, so none rots.
# Options: --fast skips 2-4 (for the edit-compile-test loop).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
fast=0
[ "${1:-}" = "--fast" ] && fast=1
jobs=$(nproc)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

step() { printf '\n=== %s\n' "$*"; }

step "release build + tests"
"$here/scripts/build.sh" release
(cd "$here/build" && ctest --output-on-failure -j "$jobs")
[ $fast = 1 ] && exit 0

step "ASan+UBSan build + tests"
"$here/scripts/build.sh" asan
(cd "$here/build-asan" && GGEN_SANITIZED=1 ctest --output-on-failure -j "$jobs")

step "fuzz targets (brief runs on their corpora)"
"$here/scripts/build.sh" fuzz
secs=${GGEN_FUZZ_SECONDS:-10}
for f in "$here"/build-fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f"); short=${name#fuzz_}
  corpus="$here/fuzz/corpus/$short"
  work=$(mktemp -d)
  cp -r "$corpus"/. "$work"/ 2>/dev/null || true
  echo "fuzz $short: ${secs}s"
  "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
       -artifact_prefix="$here/build-fuzz/crash-$short-" "$work" >"$here/build-fuzz/$short.log" 2>&1 || {
    echo "fuzz $short FAILED: see build-fuzz/$short.log and build-fuzz/crash-$short-*"; tail -30 "$here/build-fuzz/$short.log"; exit 1; }
  rm -rf "$work"
done

step "benchmarks (quick configuration)"
for b in "$here"/build/bench_*; do
  [ -x "$b" ] || continue
  echo "--- $(basename "$b")"
  "$b" --quick --json "$here/build/$(basename "$b").json" | head -40
done
echo; echo "all tests passed"
