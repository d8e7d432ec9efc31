#!/usr/bin/env bash
# Command line of the benchmark programs (bench/report.c): every build/bench_* prints a usage
# with --help and -h (exit 0, nothing run), and refuses an unknown option, a stray argument
# and an option missing its argument with exit 2 and a hint on stderr, before running
# anything: a typo must not start the full configuration, which can take half an hour. Each
# call runs under a short timeout, so a bench that ignores its command line fails here
# instead of benchmarking.
set -euo pipefail
BIN=${GGEN_BINARY_DIR:?GGEN_BINARY_DIR must point to the build directory}
SRC=${GGEN_SOURCE_DIR:?GGEN_SOURCE_DIR must point to the source tree}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
unset GGEN_BENCH_QUICK

# runs "$@" with a timeout; sets rc, leaves stdout/stderr in $tmp/out, $tmp/err
run() {
  rc=0
  timeout 10 "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
  [ "$rc" != 124 ] || fail "$* ran (timed out) instead of checking its command line"
}

n=0
for b in "$BIN"/bench_*; do
  [ -f "$b" ] && [ -x "$b" ] || continue
  name=$(basename "$b")
  n=$((n + 1))
  for h in --help -h; do
    run "$b" $h
    [ "$rc" = 0 ] || fail "$name $h: exit $rc"
    grep -q "^usage: $name " "$tmp/out" || fail "$name $h: no usage line"
    grep -q -- "--quick" "$tmp/out" || fail "$name $h: --quick not listed"
    grep -q -- "--json FILE" "$tmp/out" || fail "$name $h: --json not listed"
    [ "$(sed -n 2p "$tmp/out")" != "" ] || fail "$name $h: no purpose line"
  done
  cp "$tmp/out" "$tmp/usage"
  # every option a bench documents in its usage is one it accepts (checked with a
  # following bogus option, so nothing runs either way)
  for o in $(sed -n 's/^  \(--[a-z-]*\).*/\1/p' "$tmp/usage"); do
    [ "$o" != --help ] || continue
    if grep -q -- "^  $o [^ ]" "$tmp/usage"; then
      run "$b" "$o" 1 --bogus-after
    else
      run "$b" "$o" --bogus-after
    fi
    [ "$rc" = 2 ] && grep -q "unknown option '--bogus-after'" "$tmp/err" ||
      fail "$name: documented option $o not accepted (exit $rc: $(head -1 "$tmp/err"))"
  done
  # every option a bench's argv loop reads is declared (else bench_report_new refuses it)
  src="$SRC/bench/$name.c"
  if [ -f "$src" ]; then
    for o in $(grep -o 'strcmp(argv\[[a-z]*\], "--[a-z-]*")' "$src" | grep -o -- '--[a-z-]*' | sort -u); do
      grep -q -- "^  $o\b" "$tmp/usage" || fail "$name reads $o but does not declare it in its bench_usage"
    done
  fi
  for bad in "--bogus" "--quick --bogus" "--quik" "-x" "stray" "--json"; do
    # shellcheck disable=SC2086
    run "$b" $bad
    [ "$rc" = 2 ] || fail "$name $bad: exit $rc, expected 2"
    [ ! -s "$tmp/out" ] || fail "$name $bad: printed on stdout (ran?): $(head -1 "$tmp/out")"
    grep -q "^$name: " "$tmp/err" || fail "$name $bad: no message naming the program"
    grep -q -- "--help" "$tmp/err" || fail "$name $bad: no hint to --help"
  done
  grep -q "needs an argument" "$tmp/err" || fail "$name --json: not reported as a missing argument"
  run "$b" --json --quick
  [ "$rc" = 2 ] || fail "$name --json --quick: exit $rc (took --quick as the file name)"
done
[ "$n" -ge 12 ] || fail "only $n benchmark programs found in $BIN"
echo "ok: $n benchmark programs"
