#!/usr/bin/env bash
# CLI tests for the DHT: `ggen p2p start` nodes joined through --bootstrap and
# $GGEN_P2P_BOOTSTRAP; `ggen p2p dht put|get|provide|find-providers|find-peer|status` through a
# running node's control socket and on one-shot nodes; records surviving a restart
# (<home>/dht.db); the documented exit codes (docs/cli.md).
set -euo pipefail
GGEN=${GGEN_BIN:?GGEN_BIN must point to the ggen binary}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
unset GGEN_P2P_BOOTSTRAP GGEN_P2P_LISTEN GGEN_P2P_DHT_SERVER

start_node() { # name [extra args...]: starts, waits for "dht ready", sets $addr
  local name=$1; shift
  "$GGEN" --home "$tmp/$name" p2p start --listen /ip4/127.0.0.1/tcp/0 --open-namespace test "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!)
  for _ in $(seq 200); do grep -q "^dht ready" "$tmp/$name.out" 2>/dev/null && break; sleep 0.05; done
  grep -q "^dht ready" "$tmp/$name.out" || fail "$name did not get ready: $(cat "$tmp/$name.out" "$tmp/$name.err")"
  addr=$(sed -n 's/^listening //p' "$tmp/$name.out" | head -1)
}
dht() { "$GGEN" --home "$tmp/$1" p2p dht "${@:2}"; }

# --- a network of five nodes -------------------------------------------------------------
start_node n0
boot=$addr
grep -q "no bootstrap peers" "$tmp/n0.out" || fail "first node: $(cat "$tmp/n0.out")"
start_node n1 --bootstrap "$boot"
grep -q "^dht ready: [1-9]" "$tmp/n1.out" || fail "n1 routing table empty: $(cat "$tmp/n1.out")"
GGEN_P2P_BOOTSTRAP="$boot" start_node n2
for n in n3 n4; do start_node $n --bootstrap "$boot" "$addr"; done
pid_n4=${pids[-1]}

# put through a running node, get from another running node and from a one-shot node
out=$(dht n1 put /test/greeting "hello, dht") || fail "put: $out"
[[ $out == "stored /test/greeting at "[1-9]*" peers"* ]] || fail "put output: $out"
[ "$(dht n3 get /test/greeting)" = "hello, dht" ] || fail "get on n3"
[ "$(dht oneshot get /test/greeting --bootstrap "$boot" --open-namespace test)" = "hello, dht" ] ||
  fail "one-shot get"
[ "$(GGEN_P2P_BOOTSTRAP="$boot" dht oneshot get /test/greeting --open-namespace test)" = "hello, dht" ] ||
  fail "one-shot get with GGEN_P2P_BOOTSTRAP"
json=$(dht n4 get /test/greeting --json)
[[ $json == *'"ok":true'* && $json == *'"value":"hello, dht"'* && $json == *'"key":"/test/greeting"'* ]] ||
  fail "get --json: $json"
# a one-shot put (several bootstrap addresses after one flag), read back through a node
dht oneshot put /test/from-oneshot v1 --bootstrap "$boot" "$addr" --open-namespace test >/dev/null ||
  fail "one-shot put"
[ "$(dht n2 get /test/from-oneshot)" = v1 ] || fail "get of the one-shot put"
# binary values: --file in, --out and hex out
printf '\x00\x01\xfe\xff' >"$tmp/bin"
dht n2 put /test/bin --file "$tmp/bin" >/dev/null || fail "put --file"
[ "$(dht n0 get /test/bin)" = 0001feff ] || fail "binary value not shown as hex"
dht n0 get /test/bin --out "$tmp/bin.out" || fail "get --out"
cmp -s "$tmp/bin" "$tmp/bin.out" || fail "get --out bytes differ"

# provide on a running node; every node and a one-shot node find it
cid=bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy
out=$(dht n3 provide "$cid") || fail "provide: $out"
[[ $out == "providing $cid at "[1-9]*" peers"* ]] || fail "provide output: $out"
id3=$("$GGEN" --home "$tmp/n3" p2p id)
for n in n0 n1 n2 n4; do
  dht $n find-providers "$cid" | grep -q "^$id3 /ip4/127.0.0.1/tcp/" || fail "$n: no provider $id3"
done
dht oneshot find-providers "$cid" --bootstrap "$boot" | grep -q "^$id3 /ip4/127.0.0.1/tcp/" ||
  fail "one-shot find-providers"
# find-peer
id4=$("$GGEN" --home "$tmp/n4" p2p id)
out=$(dht oneshot find-peer "$id4" --bootstrap "$boot") || fail "find-peer: $out"
[[ $out == "$id4 /ip4/127.0.0.1/tcp/"* ]] || fail "find-peer output: $out"
# status
dht n2 status | grep -q "^protocol /ggen/kad/1.0.0: [1-9][0-9]* peers in the routing table" ||
  fail "status: $(dht n2 status)"
[[ $(dht n2 status --json) == *'"routing_peers":'* ]] || fail "status --json"

# --- not found, refused, usage -----------------------------------------------------------
rc=0; dht n1 get /test/nothing-here >/dev/null 2>&1 || rc=$?
[ $rc = 3 ] || fail "get of a missing key: exit $rc, want 3"
rc=0; dht n1 find-providers bafkreiaoqgsp5bxzqjpy4z4k2fddxjbqlshc3rmfs3wm6r6f4y4ixxzlcu >/dev/null 2>&1 || rc=$?
[ $rc = 3 ] || fail "find-providers with none: exit $rc, want 3"
rc=0; dht n1 put /nons/x y >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "put in an unknown namespace: exit $rc, want 2"
rc=0; dht n1 put /ggen-pkg/io.ggen.x@1.0.0 not-a-record >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "put of a malformed release record: exit $rc, want 2"
rc=0; dht oneshot provide "$cid" --bootstrap "$boot" >/dev/null 2>"$tmp/err" || rc=$?
[ $rc = 2 ] || fail "provide without a running node: exit $rc, want 2"
grep -q "ggen p2p start" "$tmp/err" || fail "no hint to start a node: $(cat "$tmp/err")"
rc=0; dht oneshot get /test/greeting >/dev/null 2>"$tmp/err" || rc=$?
[ $rc = 2 ] || fail "one-shot without bootstrap peers: exit $rc, want 2"
grep -q "GGEN_P2P_BOOTSTRAP" "$tmp/err" || fail "no bootstrap hint"
rc=0; dht oneshot get /test/greeting --bootstrap /ip4/127.0.0.1/tcp/1 --timeout 5 >/dev/null 2>&1 || rc=$?
[ $rc = 4 ] || fail "unreachable bootstrap peer: exit $rc, want 4"
rc=0; dht n1 provide not-a-cid >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "bad CID: exit $rc, want 2"
rc=0; dht n1 find-peer nobody >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "bad peer id: exit $rc, want 2"
rc=0; dht n1 status --bogus >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "unknown option: exit $rc, want 2"
rc=0; dht oneshot status >/dev/null 2>&1 || rc=$?
[ $rc = 3 ] || fail "status without a node: exit $rc, want 3"
for c in put get provide find-providers find-peer status; do
  dht n1 $c --help | grep -q "^usage: ggen p2p dht $c" || fail "$c --help"
done
"$GGEN" p2p dht --help | grep -q "find-providers" || fail "dht --help"
rc=0; "$GGEN" --home "$tmp/n1" p2p start --listen /ip4/127.0.0.1/tcp/0 >/dev/null 2>"$tmp/err" || rc=$?
[ $rc = 5 ] || fail "second node in one home: exit $rc, want 5"

# --- restart: records and provider records come back from <home>/dht.db ----------------
kill -TERM "$pid_n4"
rc=0; wait "$pid_n4" || rc=$?
[ $rc = 0 ] || fail "n4 stop: exit $rc"
[ ! -e "$tmp/n4/p2p.sock" ] || fail "control socket left behind"
[ -f "$tmp/n4/dht.db" ] || fail "no dht.db"
start_node n4 # alone: no bootstrap peers
json=$(dht n4 status --json)
[[ $json == *'"records":'[1-9]* ]] || fail "n4 lost its records: $json"
[[ $json == *'"provider_keys":1'* ]] || fail "n4 lost its provider record: $json"
[ "$(dht n4 get /test/greeting)" = "hello, dht" ] || fail "n4: record not back after restart"
dht n4 find-providers "$cid" | grep -q "^$id3 " || fail "n4: provider not back after restart"
echo "ok"
