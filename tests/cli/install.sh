#!/usr/bin/env bash
# CLI tests for `ggen marketplace publish | install | remove | update | list` (docs/install.md,
# docs/cli.md): --help everywhere, --json, progress on a terminal, and for each kind of bad
# input a clear message, the documented exit code and nothing changed: malformed manifest,
# unknown package, bad range, unsafe content, unsatisfiable dependencies (the resolver's
# explanation), corrupt cache entry, lockfile drift with --frozen, another key's version.
set -euo pipefail
GGEN=${GGEN_BIN:?GGEN_BIN must point to the ggen binary}
SRC=${GGEN_SOURCE_DIR:?GGEN_SOURCE_DIR must point to the source tree}
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export GGEN_HOME="$tmp/home"
unset GGEN_TEST_CRASH_AT GGEN_TEST_CRASH_TRACE
mp() { "$GGEN" marketplace "$@"; }
# expect CODE CMD...: runs CMD, checks its exit code, keeps stderr in $tmp/err
expect() {
  local want=$1; shift
  local rc=0
  "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  [ "$rc" = "$want" ] || { cat "$tmp/out" "$tmp/err" >&2; fail "$*: exit $rc, want $want"; }
}
snap() { # the visible state of a project
  { cat "$1/ggen.lock" 2>/dev/null || echo none; ls -R "$1/.ggen/packs" 2>/dev/null || true; } | md5sum
}

# --- help ---------------------------------------------------------------------------------
for c in publish install remove update list; do
  mp $c --help | grep -q "usage: ggen marketplace $c" || fail "$c --help"
done
mp --help | grep -q "install" || fail "marketplace --help does not list install"
expect 2 mp install --bogus
expect 2 mp list extra-arg
expect 2 mp remove
expect 2 mp remove --frozen x

# --- publish ------------------------------------------------------------------------------
ex="$SRC/examples/gpacks"
expect 2 mp publish "$ex/macros-std" --local
grep -q "keygen" "$tmp/err" || fail "no hint to run keygen"
mp keygen >/dev/null
expect 0 mp publish "$ex/macros-std" --local --dry-run
grep -q "would publish io.ggen.examples.macros-std@0.1.3" "$tmp/out" || fail "dry run output"
expect 3 mp install --dir "$tmp" io.ggen.examples.macros-std   # the dry run stored nothing
# without --local and without a network: published on this node, exit 4 with a hint
expect 4 mp publish "$ex/macros-std"
grep -q -- "--local" "$tmp/err" || fail "publish without --local: no hint"
for p in macros-std rdf-core rust-cli-subcommand; do mp publish "$ex/$p" --local >/dev/null; done
json=$(mp publish "$ex/rdf-core" --local --json)
[[ $json == '{"id":"io.ggen.examples.rdf-core","version":"1.0.0","cid":"bafkrei'*'"existed":true,"dry_run":false,"network":null}' ]] ||
  fail "publish --json: $json"
# malformed manifest: position in the message, exit 2
mkdir -p "$tmp/bad"
printf '[gpack]\nid = "io.t.bad"\nversion = "1.0"\n' > "$tmp/bad/gpack.toml"
expect 2 mp publish "$tmp/bad" --local
grep -q "gpack.toml:3:11:" "$tmp/err" || fail "malformed manifest message: $(cat "$tmp/err")"
# a symlink is never packed: bad input (exit 2, as for `pack`), naming the file
mkdir -p "$tmp/sym/templates"
printf '[gpack]\nid = "io.t.sym"\nversion = "1.0.0"\n' > "$tmp/sym/gpack.toml"
ln -s /etc/passwd "$tmp/sym/templates/x"
expect 2 mp publish "$tmp/sym" --local
grep -q "templates/x" "$tmp/err" || fail "symlink message: $(cat "$tmp/err")"
# another key's version of an owned id: exit 5
mkdir -p "$tmp/own"
cp -r "$ex/macros-std/." "$tmp/own/"
sed -i 's/^version = .*/version = "0.2.0"/' "$tmp/own/gpack.toml"
mv "$GGEN_HOME/publisher.key" "$tmp/key1"
mp keygen >/dev/null
expect 5 mp publish "$tmp/own" --local
grep -q "belongs to publisher key" "$tmp/err" || fail "ownership message: $(cat "$tmp/err")"
mv "$tmp/key1" "$GGEN_HOME/publisher.key"
# the same version with other content: exit 5
echo "changed" >> "$tmp/own/README.md"
sed -i 's/^version = .*/version = "0.1.3"/' "$tmp/own/gpack.toml"
expect 5 mp publish "$tmp/own" --local
grep -q "already published with another archive" "$tmp/err" || fail "immutable version message"

# --- install ------------------------------------------------------------------------------
proj="$tmp/proj"
mkdir -p "$proj"
cd "$proj"
expect 0 mp install io.ggen.examples.rust-cli-subcommand
grep -q "3 added" "$tmp/out" || fail "install summary: $(cat "$tmp/out")"
[ -f ggen.lock ] && [ -f .ggen/packs/io.ggen.examples.rdf-core/templates/graphs/cli.ttl ] || fail "not installed"
grep -q '^requested = "\^0.2.0"' ggen.lock || fail "requested range not recorded"
expect 0 mp install io.ggen.examples.rust-cli-subcommand
grep -q "up to date: 3 packs" "$tmp/out" || fail "second install: $(cat "$tmp/out")"
json=$(mp install --json)
[[ $json == '{"project":".","dry_run":false,"changed":0,'* ]] || fail "install --json: $json"
[[ $json == *'"action":"keep"'* ]] || fail "install --json actions: $json"
# list
mp list | grep -q "io.ggen.examples.rust-cli-subcommand *0.2.0 *requested ^0.2.0" || fail "list"
json=$(mp list --json)
[[ $json == *'"drift":false'* && $json == *'"dependencies":["io.ggen.examples.macros-std@0.1.3","io.ggen.examples.rdf-core@1.0.0"]'* ]] ||
  fail "list --json: $json"
before=$(snap .)
# unknown package (3), bad range (2), bad id (2), nothing after @ (2): nothing changes
expect 3 mp install io.ggen.examples.nope
grep -q "unknown package io.ggen.examples.nope" "$tmp/err" || fail "unknown package message"
expect 2 mp install 'io.ggen.examples.rdf-core@>>1'
grep -q "bad version range" "$tmp/err" || fail "bad range message"
expect 2 mp install '../../etc'
expect 2 mp install 'io.ggen.examples.rdf-core@'
# unsatisfiable: the explanation names the packages in conflict (5)
expect 5 mp install 'io.ggen.examples.macros-std@^9'
expect 5 mp install 'io.ggen.examples.rdf-core@>=2'
grep -q "io.ggen.examples.rdf-core" "$tmp/err" || fail "unsat explanation: $(cat "$tmp/err")"
[ "$(snap .)" = "$before" ] || fail "a refused install changed the project"
# dry run changes nothing
expect 0 mp install --dry-run --force
grep -q "would change" "$tmp/out" || fail "dry run output: $(cat "$tmp/out")"
[ "$(snap .)" = "$before" ] || fail "dry run changed the project"
# progress on a terminal (stderr is a tty under script(1)); none when piped
script -qec "\"$GGEN\" marketplace install --force" /dev/null > "$tmp/tty" || fail "install under script"
grep -q '\[[0-9]*/3\] unpacking' "$tmp/tty" || fail "no progress on a terminal: $(cat -v "$tmp/tty")"
mp install --force 2>&1 | grep -q 'unpacking' && fail "progress drawn on a pipe"
# --frozen: exactly the lock; drift is exit 5
rm -rf .ggen
expect 0 mp install --frozen
[ "$(snap .)" = "$before" ] || fail "frozen install differs"
expect 5 mp install --frozen 'io.ggen.examples.rdf-core@^2'
grep -q "drift" "$tmp/err" || fail "drift message"
mkdir -p "$tmp/empty"
expect 5 mp install --frozen --dir "$tmp/empty"
expect 0 mp install --dir "$tmp/empty"
grep -q "nothing to install" "$tmp/out" || fail "empty install: $(cat "$tmp/out")"
[ -z "$(ls -A "$tmp/empty")" ] || fail "an empty install wrote $(ls -A "$tmp/empty")"
# remove: a dependency only (5), not installed (3), then the root and its dependencies
expect 5 mp remove io.ggen.examples.rdf-core
grep -q "dependency of io.ggen.examples.rust-cli-subcommand" "$tmp/err" || fail "remove dep message"
expect 3 mp remove io.ggen.examples.nope
expect 0 mp remove io.ggen.examples.rust-cli-subcommand
[ "$(ls -A .ggen/packs)" = "" ] || fail "remove left packs"
grep -q '\[\[packs\]\]' ggen.lock && fail "remove left packs in the lock"
# update moves to the newest allowed version
mp install io.ggen.examples.macros-std >/dev/null
mkdir -p "$tmp/m2" && cp -r "$ex/macros-std/." "$tmp/m2/"
sed -i 's/^version = .*/version = "0.1.4"/' "$tmp/m2/gpack.toml"
mp publish "$tmp/m2" --local >/dev/null
expect 0 mp update
grep -q "io.ggen.examples.macros-std 0.1.3 -> 0.1.4" "$tmp/out" || fail "update: $(cat "$tmp/out")"
expect 3 mp update io.ggen.examples.rdf-core
# list flags drift; --check makes it exit 5
rm -rf .ggen/packs/io.ggen.examples.macros-std
expect 0 mp list
grep -q "missing" "$tmp/out" || fail "list does not flag a missing pack"
expect 5 mp list --check
expect 0 mp install
expect 0 mp list --check

# two ggen processes on one project take turns (flock): both succeed, the result is whole
for round in 1 2 3 4; do
  p3="$tmp/proj3-$round"
  mkdir -p "$p3"
  mp install --dir "$p3" io.ggen.examples.rust-cli-subcommand >/dev/null 2>"$tmp/c1" &
  c1=$!
  mp install --dir "$p3" io.ggen.examples.macros-std --force >/dev/null 2>"$tmp/c2" &
  c2=$!
  wait $c1 || { cat "$tmp/c1"; fail "concurrent install 1"; }
  wait $c2 || { cat "$tmp/c2"; fail "concurrent install 2"; }
  expect 0 mp list --dir "$p3" --check
  grep -c '^\[\[packs\]\]' "$p3/ggen.lock" | grep -q '^3$' || fail "concurrent installs: $(cat "$p3/ggen.lock")"
done

# --- a corrupt cache entry: detected, reported, nothing installed (6) ----------------------
p2="$tmp/proj2"
mkdir -p "$p2"
cid=$(mp publish "$ex/rdf-core" --local --json | sed 's/.*"cid":"\([^"]*\)".*/\1/')
blob=$(find "$GGEN_HOME/store/blobs" -name "$cid")
[ -f "$blob" ] || fail "blob $cid not found"
chmod u+w "$blob"
printf 'X' | dd of="$blob" bs=1 seek=20 conv=notrunc 2>/dev/null
expect 6 mp install --dir "$p2" io.ggen.examples.rdf-core
grep -q "corrupt" "$tmp/err" || fail "corrupt entry message: $(cat "$tmp/err")"
[ ! -e "$p2/ggen.lock" ] && [ -z "$(ls -A "$p2/.ggen/packs" 2>/dev/null)" ] || fail "something was installed"
[ ! -e "$blob" ] || fail "the corrupt blob is still in the store"
# publishing again restores it
mp publish "$ex/rdf-core" --local >/dev/null
expect 0 mp install --dir "$p2" io.ggen.examples.rdf-core
# the unpacked trees are part of the cache: stats, gc, clean (installed files survive)
json=$(mp cache stats --json)
[[ $json == *'"unpacked_entries":'[1-9]* ]] || fail "cache stats: $json"
json=$(mp cache gc --json)
[[ $json == *'"unpacked_removed":0,'* ]] || fail "cache gc removed live trees: $json"
json=$(mp cache clean --json)
[[ $json == *'"unpacked_removed":'[1-9]* ]] || fail "cache clean: $json"
[[ $(mp cache stats --json) == *'"unpacked_entries":0,'* ]] || fail "unpacked trees left after clean"
expect 0 mp list --dir "$p2" --check
[ -s "$p2/.ggen/packs/io.ggen.examples.rdf-core/templates/graphs/cli.ttl" ] || fail "clean broke an installed file"
# a malformed ggen.lock: position, exit 2, left alone
printf 'version = "1.0"\n[[packs]]\nid = "BAD"\nversion = "1.0.0"\n' > "$p2/ggen.lock"
expect 2 mp install --dir "$p2"
grep -q "ggen.lock:3:6:" "$tmp/err" || fail "malformed lock message: $(cat "$tmp/err")"
expect 2 mp list --dir "$p2"
echo ok
