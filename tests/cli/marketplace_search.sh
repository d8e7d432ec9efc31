#!/usr/bin/env bash
# ggen marketplace import / search / info against a throwaway home: each ggen registry index
# loads, search filters, typo correction, JSON output, exit codes, --help.
set -u
: "${GGEN_BIN:?GGEN_BIN must point at the ggen binary}"
src=${GGEN_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
data="$src/tests/data/ggen"
home=$(mktemp -d "${TMPDIR:-/tmp}/ggen-mp-search.XXXXXX")
trap 'rm -rf "$home"' EXIT
fails=0
g() { "$GGEN_BIN" marketplace "$@" --home "$home"; }

# expect CODE DESCRIPTION -- command...; output kept in $out
expect() {
  local want=$1 what=$2
  shift 3
  out=$("$@" 2>&1)
  local rc=$?
  if [ "$rc" != "$want" ]; then
    echo "FAIL: $what: exit $rc, wanted $want"
    echo "$out" | head -20
    fails=$((fails + 1))
  fi
}

# like expect, and the output must contain a string
expect_out() {
  local want=$1 what=$2 needle=$3
  shift 4
  expect "$want" "$what" -- "$@"
  if ! grep -qF -- "$needle" <<<"$out"; then
    echo "FAIL: $what: output lacks '$needle'"
    echo "$out" | head -20
    fails=$((fails + 1))
  fi
}

for c in search info import; do
  expect_out 0 "$c --help" "usage: ggen marketplace $c" -- g "$c" --help
done

expect_out 3 "search before any import" "ggen marketplace import FILE" -- g search rust
expect_out 0 "import marketplace index" "imported 48 packages (48 versions)" -- \
  g import "$data/marketplace_registry_index.json"
expect_out 0 "import HEAD index" "imported 77 packages (77 versions)" -- \
  g import "$data/marketplace_registry_index_HEAD.json"
expect_out 0 "import core index" "imported 2 packages (2 versions)" -- g import "$data/registry_index.json"
expect_out 0 "import docs index (JSON)" '"packages": 1' -- g import "$data/docs_registry_index.json" --json

# bad input changes nothing
printf '{"packages": [' >"$home/broken.json"
expect_out 2 "import malformed JSON" "cannot import" -- g import "$home/broken.json"
expect 3 "import missing file" -- g import "$home/none.json"
expect 2 "import without a file" -- g import

expect_out 0 "search rust" "advanced-rust-project" -- g search rust
expect_out 0 "exact id first" "agent-editor " -- g search agent-editor --limit 1
expect_out 0 "typo corrected" 'showing results for "healthcare"' -- g search helthcare
expect_out 0 "two typos" "healthcare-analytics" -- g search helthcaer
expect_out 0 "tag filter" "ehr-integration" -- g search --tag FHIR
expect 3 "tags must all match" -- g search --tag fhir --tag latex
expect_out 0 "author+license+category" "agent-editor" -- \
  g search editor --author GGEN-TEAM --license mit --category ai-agents
expect 3 "category filter excludes" -- g search editor --category finance
expect_out 0 "json results" '"id": "io.ggen.python.web-api"' -- g search python web api --json
expect_out 0 "json corrected" '"corrected": "python"' -- g search pyhton --json
expect 3 "no match" -- g search zzqqxxyy
expect 2 "bad limit" -- g search rust --limit 0
expect 2 "bad min-stars" -- g search rust --min-stars lots
expect 2 "unknown option" -- g search rust --colour
expect 2 "nothing to search" -- g search

n=$(g search --tag rdf --limit 3 | tail -n +2 | wc -l)
[ "$n" = 3 ] || { echo "FAIL: --limit 3 printed $n rows"; fails=$((fails + 1)); }

expect_out 0 "info" "versions:" -- g info io.ggen.rust.cli-subcommand
expect_out 0 "info both versions" "0.1.0" -- g info io.ggen.rust.cli-subcommand
expect_out 0 "info latest" "latest:      1.2.0" -- g info IO.GGEN.RUST.CLI-SUBCOMMAND
expect_out 0 "info @version" '"version": "0.1.0"' -- g info io.ggen.rust.cli-subcommand@0.1.0 --json
expect_out 3 "info missing version" "has no version matching 9.9.9" -- g info agent-editor@9.9.9
expect_out 0 "info @range" '"version": "0.1.0"' -- g info io.ggen.rust.cli-subcommand@^0.1 --json
expect_out 0 "info @range picks the highest" '"version": "1.2.0"' -- \
  g info io.ggen.rust.cli-subcommand@'>=0.1' --json
expect_out 0 "info @version with build metadata" '"version": "1.0.0"' -- g info agent-editor@1.0.0+b7 --json
expect_out 2 "info @garbage" "not a version or a version range" -- g info agent-editor@not..a..range
expect_out 3 "info missing package" "no package 'no.such.pkg'" -- g info no.such.pkg
expect 2 "info bad version syntax" -- g info agent-editor@

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "marketplace search/import/info: all checks passed"
