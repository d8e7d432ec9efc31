#!/usr/bin/env bash
# CLI tests for Gossipsub: `ggen p2p start --sub` relays and prints a topic's messages;
# `ggen p2p pubsub sub` prints them (text and --json) until SIGINT/SIGTERM (exit 0);
# `ggen p2p pubsub pub` waits for a subscriber, publishes and reports the recipients; a message
# crosses a relay to a subscriber that is not connected to the publisher; help, usage errors
# and the documented exit codes (docs/cli.md).
set -euo pipefail
GGEN=${GGEN_BIN:?GGEN_BIN must point to the ggen binary}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
unset GGEN_P2P_BOOTSTRAP GGEN_P2P_LISTEN GGEN_P2P_DHT_SERVER
T=/ggen/test/v1

wait_for() { # file pattern: waits up to 10 s for a line matching pattern
  for _ in $(seq 200); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  fail "no '$2' in $1: $(cat "$1" "$1.err" 2>/dev/null)"
}

# --- help and usage ------------------------------------------------------------------------
"$GGEN" p2p --help | grep -q pubsub || fail "p2p --help does not list pubsub"
"$GGEN" p2p pubsub --help | grep -q "sub" || fail "pubsub --help"
"$GGEN" p2p pubsub sub --help | grep -q "usage: ggen p2p pubsub sub TOPIC" || fail "sub --help"
"$GGEN" p2p pubsub pub --help | grep -q "usage: ggen p2p pubsub pub TOPIC MESSAGE" || fail "pub --help"
"$GGEN" p2p start --help | grep -q -- "--sub TOPIC" || fail "start --help lacks --sub"
for args in "sub" "sub $T extra --bootstrap /ip4/127.0.0.1/tcp/1" "pub $T" "sub $T" \
  "pub $T m --bootstrap not-an-addr" "pub $T m --timeout x --bootstrap /ip4/127.0.0.1/tcp/1" \
  "sub $T --bogus" "nosuch"; do
  rc=0
  # shellcheck disable=SC2086
  "$GGEN" --home "$tmp/u" p2p pubsub $args >/dev/null 2>&1 || rc=$?
  [ $rc = 2 ] || fail "'pubsub $args': exit $rc, want 2"
done

# --- a relay, a subscriber behind it, a publisher --------------------------------------------
"$GGEN" --home "$tmp/relay" p2p start --listen /ip4/127.0.0.1/tcp/0 --sub "$T" \
  >"$tmp/relay.out" 2>"$tmp/relay.out.err" &
pids+=($!)
pid_relay=${pids[-1]}
wait_for "$tmp/relay.out" "^listening "
relay=$(sed -n 's/^listening //p' "$tmp/relay.out" | head -1)

"$GGEN" --home "$tmp/s1" p2p pubsub sub "$T" --bootstrap "$relay" >"$tmp/s1.out" 2>"$tmp/s1.out.err" &
pids+=($!)
pid_s1=${pids[-1]}
"$GGEN" --home "$tmp/s2" p2p pubsub sub "$T" --json --bootstrap "$relay" \
  >"$tmp/s2.out" 2>"$tmp/s2.out.err" &
pids+=($!)
pid_s2=${pids[-1]}
wait_for "$tmp/s2.out" '"event":"subscribed"'
sleep 1.5 # the relay's heartbeat puts the subscribers in its mesh

out=$("$GGEN" --home "$tmp/p" p2p pubsub pub "$T" "hello, gossip" --bootstrap "$relay") ||
  fail "pub: $out"
[[ $out == "published to 1 peer (id "*")" ]] || fail "pub output: $out"
pid_p=$("$GGEN" --home "$tmp/p" p2p id)
wait_for "$tmp/relay.out" "^message $T $pid_p hello, gossip$"
wait_for "$tmp/s1.out" "^message $T $pid_p hello, gossip$"
wait_for "$tmp/s2.out" "\"from\":\"$pid_p\""
grep -q '"data":"hello, gossip"' "$tmp/s2.out" || fail "s2 json: $(cat "$tmp/s2.out")"

# escaped text, binary data as hex in JSON
json=$("$GGEN" --home "$tmp/p" p2p pubsub pub "$T" $'two\nlines\x01' --json --bootstrap "$relay") ||
  fail "pub --json: $json"
[[ $json == '{"event":"published","topic":"'"$T"'","recipients":1,"id":"'* ]] || fail "pub json: $json"
wait_for "$tmp/s1.out" '^message .* two\\nlines\\x01$'
wait_for "$tmp/s2.out" '"data_hex":"74776f0a6c696e657301"'

# the subscribers stop on SIGINT / SIGTERM with exit 0
kill -INT "$pid_s1"
rc=0; wait "$pid_s1" || rc=$?
[ $rc = 0 ] || fail "sub after SIGINT: exit $rc"
kill -TERM "$pid_s2"
rc=0; wait "$pid_s2" || rc=$?
[ $rc = 0 ] || fail "sub after SIGTERM: exit $rc"

# --- nobody listening, nobody subscribed ------------------------------------------------------
rc=0; "$GGEN" --home "$tmp/p" p2p pubsub pub "$T" x --bootstrap /ip4/127.0.0.1/tcp/1 >/dev/null 2>&1 || rc=$?
[ $rc = 4 ] || fail "pub to a closed port: exit $rc, want 4"
rc=0; "$GGEN" --home "$tmp/s3" p2p pubsub sub "$T" --bootstrap /ip4/127.0.0.1/tcp/1 >/dev/null 2>&1 || rc=$?
[ $rc = 4 ] || fail "sub to a closed port: exit $rc, want 4"
rc=0
out=$("$GGEN" --home "$tmp/p" p2p pubsub pub /ggen/nobody "x" --timeout 1 --bootstrap "$relay" 2>"$tmp/err") || rc=$?
[ $rc = 4 ] || fail "pub without subscribers: exit $rc, want 4"
[[ $out == "published to 0 peers"* ]] || fail "pub without subscribers: $out"
grep -q "no peer subscribed" "$tmp/err" || fail "no explanation: $(cat "$tmp/err")"

kill -TERM "$pid_relay"
rc=0; wait "$pid_relay" || rc=$?
[ $rc = 0 ] || fail "relay after SIGTERM: exit $rc"
echo "pubsub CLI: ok"
