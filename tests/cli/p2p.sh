#!/usr/bin/env bash
# CLI tests for `ggen p2p`: id stable across runs and homes chosen by --home / GGEN_HOME,
# --help and usage errors with their documented exit codes (docs/cli.md).
set -euo pipefail
GGEN=${GGEN_BIN:?GGEN_BIN must point to the ggen binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# --- id ---------------------------------------------------------------------------------
id1=$("$GGEN" --home "$tmp/a" p2p id)
id2=$("$GGEN" p2p id --home "$tmp/a")
[[ $id1 == 12D3KooW* ]] || fail "id does not look like an Ed25519 peer id: $id1"
[ "$id1" = "$id2" ] || fail "id changed between runs: $id1 vs $id2"
id3=$(GGEN_HOME="$tmp/a" "$GGEN" p2p id)
[ "$id1" = "$id3" ] || fail "GGEN_HOME gave another id"
idb=$("$GGEN" --home "$tmp/b" p2p id)
[ "$id1" != "$idb" ] || fail "two homes share an id"
[ "$(stat -c %a "$tmp/a/identity.key")" = 600 ] || fail "identity.key is not mode 600"
json=$("$GGEN" --home "$tmp/a" p2p id --json)
[[ $json == "{\"peer_id\":\"$id1\","* ]] || fail "bad --json output: $json"
# XDG default when neither --home nor GGEN_HOME is set
idx=$(env -u GGEN_HOME XDG_DATA_HOME="$tmp/xdg" "$GGEN" p2p id)
[ -f "$tmp/xdg/ggen/identity.key" ] || fail "XDG_DATA_HOME not used"
[ "$(env -u GGEN_HOME XDG_DATA_HOME="$tmp/xdg" "$GGEN" p2p id)" = "$idx" ] || fail "XDG id changed"
# a key others can read is refused (exit 2: bad input)
chmod 644 "$tmp/b/identity.key"
rc=0; "$GGEN" --home "$tmp/b" p2p id >/dev/null 2>"$tmp/err" || rc=$?
[ $rc = 2 ] || fail "world-readable key: exit $rc, want 2"
grep -q "chmod 600" "$tmp/err" || fail "no hint for a world-readable key"

# --- help and usage ---------------------------------------------------------------------
"$GGEN" p2p --help | grep -q "id" || fail "p2p --help lists no commands"
"$GGEN" p2p id --help | grep -q "usage: ggen p2p id" || fail "p2p id --help"
rc=0; "$GGEN" p2p id --bogus >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "unknown option: exit $rc, want 2"
rc=0; "$GGEN" p2p nosuchcommand >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "unknown command: exit $rc, want 2"
echo "ok"
