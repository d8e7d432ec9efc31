#!/usr/bin/env bash
# Atomic installs: the real `ggen marketplace install` is killed (GGEN_TEST_CRASH_AT=<n> makes
# it _exit at its n-th crash point) at every step of a transaction, for a first install into an
# empty project and for a change that adds, upgrades and removes packs at once. After each
# kill: without a journal the visible state (ggen.lock and .ggen/packs) is exactly the old or
# the new one (old before the commit point, new after); the next ggen command recovers
# (finishing a committed transaction, undoing an uncommitted one) and leaves no temporary
# files; an install run afterwards gives exactly the new state. docs/install.md "Atomicity".
set -euo pipefail
GGEN=${GGEN_BIN:?GGEN_BIN must point to the ggen binary}
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export GGEN_HOME="$tmp/home"
unset GGEN_TEST_CRASH_AT GGEN_TEST_CRASH_TRACE

mkpack() { # id version [dependency lines]
  local d="$tmp/src/$1-$2"
  mkdir -p "$d/templates"
  printf '[gpack]\nid = "%s"\nversion = "%s"\ndescription = "crash test pack"\n' "$1" "$2" > "$d/gpack.toml"
  if [ $# -gt 2 ]; then printf '\n[dependencies]\n%s\n' "$3" >> "$d/gpack.toml"; fi
  printf '%s %s\n' "$1" "$2" > "$d/templates/$1.tmpl"
  mkdir -p "$d/templates/sub"
  printf 'nested %s\n' "$2" > "$d/templates/sub/n.tmpl"
  "$GGEN" marketplace publish "$d" --local >/dev/null
}
"$GGEN" marketplace keygen >/dev/null
mkpack io.ex.base 1.0.0
mkpack io.ex.base 1.2.0
mkpack io.ex.util 1.0.0 '"io.ex.base" = "^1"'
mkpack io.ex.extra 1.0.0
mkpack io.ex.app 1.0.0 $'"io.ex.util" = "^1"\n"io.ex.base" = "=1.0.0"'
mkpack io.ex.app 2.0.0 $'"io.ex.extra" = "^1"\n"io.ex.base" = "^1.2"'

# The visible state of a project: the lockfile without its timestamp, and every file of
# .ggen/packs with its content hash. Temporary names are not part of it.
state() {
  local p=$1
  if [ -f "$p/ggen.lock" ]; then grep -v '^generated = ' "$p/ggen.lock"; else echo "no lockfile"; fi
  if [ -d "$p/.ggen/packs" ]; then
    (cd "$p/.ggen/packs" && find . -type f | LC_ALL=C sort | xargs -r sha256sum)
  fi
}
leftovers() {
  local p=$1
  { ls -A "$p" | grep '^ggen\.lock\.tmp-' || true
    [ -d "$p/.ggen" ] && { ls -A "$p/.ggen" | grep -E '^(\.staging-|\.trash-|journal)' || true; }
  } | tr '\n' ' '
}

scenario() { # name, setup command (in $1/old), install arguments...
  local name=$1 setup=$2; shift 2
  local base="$tmp/$name"
  mkdir -p "$base/old"
  (cd "$base/old" && eval "$setup")
  state "$base/old" > "$base/old.state"
  cp -a "$base/old" "$base/ref"
  "$GGEN" marketplace install --dir "$base/ref" "$@" >/dev/null
  state "$base/ref" > "$base/new.state"
  cmp -s "$base/old.state" "$base/new.state" && fail "$name: the change changes nothing"
  local n=1 committed=0 points=0
  while :; do
    local p="$base/run$n"
    rm -rf "$p"
    cp -a "$base/old" "$p"
    local rc=0
    GGEN_TEST_CRASH_AT=$n "$GGEN" marketplace install --dir "$p" "$@" >/dev/null 2>"$base/err" || rc=$?
    if [ $rc = 0 ]; then
      state "$p" | cmp -s - "$base/new.state" || fail "$name: a run without crash gave another state"
      break
    fi
    [ $rc = 99 ] || { cat "$base/err" >&2; fail "$name: crash point $n: exit $rc, want 99"; }
    local point
    point=$(sed -n 's/^ggen: test crash at point [0-9]* (\(.*\))$/\1/p' "$base/err")
    [ "$point" = committed ] && committed=1
    # right after the kill: without a journal the state is entirely old or entirely new
    if [ ! -f "$p/.ggen/journal" ]; then
      local want=old.state
      [ $committed = 1 ] && want=new.state
      state "$p" | cmp -s - "$base/$want" ||
        fail "$name: killed at $n ($point) without journal: state is not the ${want%.state} one"
    else
      [ $committed = 1 ] || fail "$name: a journal exists before the commit point ($point)"
    fi
    # the next command recovers: entirely old before the commit, entirely new after it
    local json
    json=$("$GGEN" marketplace list --dir "$p" --json)
    local want=old.state
    [ $committed = 1 ] && want=new.state
    state "$p" | cmp -s - "$base/$want" ||
      fail "$name: after recovery from $n ($point) the state is not the ${want%.state} one"
    [ -z "$(leftovers "$p")" ] || fail "$name: leftovers after recovery from $n ($point): $(leftovers "$p")"
    case "$json" in *'"drift":false'*) ;; *) fail "$name: drift after recovery from $n ($point): $json" ;; esac
    # and the install itself then completes to the new state
    "$GGEN" marketplace install --dir "$p" "$@" >/dev/null 2>"$base/err" || { cat "$base/err" >&2; fail "$name: install after $n"; }
    state "$p" | cmp -s - "$base/new.state" || fail "$name: install after recovery from $n ($point) gave another state"
    rm -rf "$p"
    points=$((points + 1))
    n=$((n + 1))
  done
  [ $committed = 1 ] || fail "$name: never reached the commit point"
  [ $points -ge 8 ] || fail "$name: only $points crash points"
  echo "$name: killed at $points points, each recovered"
}

scenario first 'true' io.ex.app@^1
scenario change "\"$GGEN\" marketplace install io.ex.app@^1 >/dev/null" io.ex.app@^2
# the old state of 'change' has util; the new one has extra instead, and newer app and base
grep -q 'io.ex.util' "$tmp/change/old.state" && ! grep -q 'io.ex.util' "$tmp/change/new.state" ||
  fail "change scenario does not remove io.ex.util"
grep -q 'io.ex.extra' "$tmp/change/new.state" || fail "change scenario does not add io.ex.extra"

# a journal left by a killed committed transaction is finished by any command, even remove
p="$tmp/change/old2"
cp -a "$tmp/change/old" "$p"
rc=0; GGEN_TEST_CRASH_AT=swap-in "$GGEN" marketplace install --dir "$p" io.ex.app@^2 >/dev/null 2>&1 || rc=$?
[ $rc = 99 ] || fail "named crash point: exit $rc"
[ -f "$p/.ggen/journal" ] || fail "no journal after a crash at swap-in"
out=$("$GGEN" marketplace remove --dir "$p" io.ex.app)
grep -q "finished an interrupted transaction" <<<"$out" || fail "remove did not report the recovery: $out"
[ "$(ls -A "$p/.ggen/packs")" = "" ] || fail "remove after recovery left packs: $(ls -A "$p/.ggen/packs")"
echo ok
