#!/usr/bin/env bash
# Marketplace demo, offline, on one node: a fresh home, a publisher key, three example gpacks
# (examples/gpacks: rust-cli-subcommand depends on macros-std and rdf-core) published locally,
# a search, an install into a project with its ggen.lock, list, a --frozen reinstall, remove.
# Runs after scripts/setup.sh && scripts/build.sh; leaves nothing behind (KEEP=1 keeps the
# temporary directory and prints where it is).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
GGEN=${GGEN_BIN:-$here/build/ggen}
[ -x "$GGEN" ] || { echo "demo-market: $GGEN not found: run scripts/build.sh first" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ggen-demo-market-XXXXXX")
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $tmp"; else chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"; fi
}
trap cleanup EXIT
export GGEN_HOME="$tmp/home"
proj="$tmp/project"
mkdir -p "$proj"

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold= plain=; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '$ ggen %s\n' "$*"; "$GGEN" "$@"; }
has_command() { "$GGEN" marketplace "$1" --help >/dev/null 2>&1; }

step "a fresh node home: $GGEN_HOME"
run marketplace keygen

step "publish three gpacks on this node (packed deterministically, signed, stored, catalogued)"
for p in macros-std rdf-core rust-cli-subcommand; do
  run marketplace publish "$here/examples/gpacks/$p" --local
done
printf '(publishing again changes nothing; another key could not publish these ids)\n'
run marketplace publish "$here/examples/gpacks/rdf-core" --local

if has_command search; then
  step "search the local catalog"
  run marketplace search "rust cli"
  printf '(typos are tolerated)\n'
  run marketplace search ontolgy
else
  step "search: not in this build yet (ggen marketplace search lands with the catalog CLI)"
fi
if has_command info; then
  run marketplace info io.ggen.examples.rust-cli-subcommand
fi

step "install into a project: dependencies resolved, archives verified, ggen.lock written"
cd "$proj"
run marketplace install io.ggen.examples.rust-cli-subcommand
printf '\n$ cat ggen.lock\n'
cat ggen.lock
printf '\n$ find .ggen/packs -type f\n'
find .ggen/packs -type f | LC_ALL=C sort

step "list the installed packs (checked against the disk)"
run marketplace list
printf '(installing again is a no-op)\n'
run marketplace install

step "a clean checkout: --frozen installs exactly what ggen.lock says"
rm -rf .ggen
run marketplace install --frozen
run marketplace list --check

step "remove: the pack and the dependencies nothing else needs"
run marketplace remove io.ggen.examples.rust-cli-subcommand
run marketplace list
printf '\ndemo finished\n'
