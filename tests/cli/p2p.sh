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
chmod 600 "$tmp/b/identity.key"

# --- help and usage ---------------------------------------------------------------------
"$GGEN" p2p --help | grep -q "id" || fail "p2p --help lists no commands"
"$GGEN" p2p id --help | grep -q "usage: ggen p2p id" || fail "p2p id --help"
rc=0; "$GGEN" p2p id --bogus >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "unknown option: exit $rc, want 2"
rc=0; "$GGEN" p2p nosuchcommand >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "unknown command: exit $rc, want 2"
# --- start + ping between two processes ---------------------------------------------------
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
start_node() { # home outfile [extra args...]
  local home=$1 out=$2; shift 2
  "$GGEN" --home "$home" p2p start --listen /ip4/127.0.0.1/tcp/0 "$@" >"$out" 2>"$out.err" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$out" ] && return 0; sleep 0.05; done
  fail "node in $home did not start: $(cat "$out.err")"
}
start_node "$tmp/a" "$tmp/a.out"
pid_a=${pids[-1]}
line=$(head -1 "$tmp/a.out")
[[ $line == "listening /ip4/127.0.0.1/tcp/"*"/p2p/$id1" ]] || fail "bad listening line: $line"
addr_a=${line#listening }
start_node "$tmp/b" "$tmp/b.out" --json
pid_b=${pids[-1]}
jline=$(head -1 "$tmp/b.out")
[[ $jline == '{"event":"listening","addr":"/ip4/127.0.0.1/tcp/'*"/p2p/$idb\",\"peer_id\":\"$idb\"}" ]] ||
  fail "bad --json listening line: $jline"

out=$("$GGEN" --home "$tmp/c" p2p ping "$addr_a" --count 3 --interval 50) || fail "ping failed: $out"
echo "$out" | grep -q "^connected to $id1" || fail "no connected line: $out"
echo "$out" | grep -q "^agent: ggen/" || fail "no agent line: $out"
echo "$out" | grep -q "^protocols:.*/ipfs/id/1.0.0.*/ipfs/ping/1.0.0" || fail "no protocols: $out"
[ "$(echo "$out" | grep -c '^ping [0-9]: rtt ')" = 3 ] || fail "not 3 round trips: $out"
json=$("$GGEN" --home "$tmp/c" p2p ping "${addr_a%/p2p/*}" --count 2 --interval 10 --json) ||
  fail "json ping failed"
[ "$(echo "$json" | grep -c '"event":"pong","seq":[12],"rtt_ms":')" = 2 ] || fail "json pongs: $json"
echo "$json" | grep -q '"event":"identify","agent":"ggen/' || fail "json identify: $json"
# the two nodes ping each other with their own identities
"$GGEN" --home "$tmp/a" p2p ping "$(sed 's/.*"addr":"\([^"]*\)".*/\1/' <<<"$jline")" --count 1 >/dev/null ||
  fail "a cannot ping b"

# --- errors ------------------------------------------------------------------------------
rc=0; "$GGEN" --home "$tmp/c" p2p ping /ip4/127.0.0.1/tcp/1 --count 1 >/dev/null 2>&1 || rc=$?
[ $rc = 4 ] || fail "ping to a closed port: exit $rc, want 4"
rc=0; "$GGEN" --home "$tmp/c" p2p ping /not/an/addr >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "bad multiaddr: exit $rc, want 2"
rc=0; "$GGEN" --home "$tmp/c" p2p start >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "start without --listen: exit $rc, want 2"
port_a=$(echo "$addr_a" | cut -d/ -f5)
rc=0; "$GGEN" --home "$tmp/d" p2p start --listen "/ip4/127.0.0.1/tcp/$port_a" >/dev/null 2>&1 || rc=$?
[ $rc = 1 ] || fail "listen on a used port: exit $rc, want 1"

# --- clean stop on SIGTERM and SIGINT ----------------------------------------------------
kill -TERM "$pid_a"
rc=0; wait "$pid_a" || rc=$?
[ $rc = 0 ] || fail "SIGTERM: exit $rc, want 0"
kill -INT "$pid_b"
rc=0; wait "$pid_b" || rc=$?
[ $rc = 0 ] || fail "SIGINT: exit $rc, want 0"
tail -1 "$tmp/b.out" | grep -q '"event":"stopped"' || fail "no stopped event"
echo "ok"
