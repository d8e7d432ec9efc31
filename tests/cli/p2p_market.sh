#!/usr/bin/env bash
# CLI tests for the marketplace on the network (docs/p2p-marketplace.md): `ggen p2p start` nodes
# serving the market; `marketplace publish` putting records in the DHT and providing archives;
# `marketplace install` looking records up and fetching archives through a running node and on
# a short-lived node (--bootstrap), after the publisher has left (from a node that cached it),
# and offline; a foreign key's record for an owned id refused; a restarted node re-providing its
# store; `p2p peers`; the documented exit codes.
set -euo pipefail
GGEN=${GGEN_BIN:?GGEN_BIN must point to the ggen binary}
SRC=${GGEN_SOURCE_DIR:?GGEN_SOURCE_DIR must point to the source tree}
tmp=$(mktemp -d); [ -z "${KEEP:-}" ] || echo "kept: $tmp"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
unset GGEN_P2P_BOOTSTRAP GGEN_P2P_LISTEN GGEN_P2P_DHT_SERVER
ex=$SRC/examples/gpacks
M=io.ggen.examples.macros-std R=io.ggen.examples.rdf-core C=io.ggen.examples.rust-cli-subcommand

start_node() { # name [extra args...]: starts, waits for "market ready", sets $addr and $pid
  local name=$1; shift
  "$GGEN" --home "$tmp/$name" p2p start --listen /ip4/127.0.0.1/tcp/0 "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pid=$!
  pids+=($pid)
  for _ in $(seq 200); do grep -q "^market ready" "$tmp/$name.out" 2>/dev/null && break; sleep 0.05; done
  grep -q "^market ready" "$tmp/$name.out" || fail "$name did not get ready: $(cat "$tmp/$name.out" "$tmp/$name.err")"
  addr=$(sed -n 's/^listening //p' "$tmp/$name.out" | head -1)
}
mp() { "$GGEN" --home "$tmp/$1" marketplace "${@:2}"; }
rc() { set +e; "$@" >"$tmp/last.out" 2>"$tmp/last.err"; local r=$?; set -e; echo $r; }

start_node n0
boot=$addr
start_node n1 --bootstrap "$boot"
pid_n1=$pid
start_node n2 --bootstrap "$boot"
pid_n2=$pid
start_node n3 --bootstrap "$boot"

# --- publishing -----------------------------------------------------------------------------
mp n1 keygen >/dev/null
for p in macros-std rdf-core rust-cli-subcommand; do
  out=$(mp n1 publish "$ex/$p") || fail "publish $p: $out"
  [[ $out == *"record stored at "[1-9]*" peer"*", archive provided at "[1-9]*" peer"*", announced to "[1-9]*" peer"* ]] ||
    fail "publish output: $out"
done
# again: already published, announced again (a no-op that succeeds)
out=$(mp n1 publish "$ex/macros-std") || fail "republish"
[[ $out == "already published"*"record stored at"* ]] || fail "republish output: $out"
# --local: no network at all
mp lonely keygen >/dev/null
out=$(mp lonely publish "$ex/macros-std" --local) || fail "publish --local"
[[ $out != *network* ]] || fail "publish --local went to the network: $out"
# no node and no bootstrap: published here only, exit 4 with a hint
[ "$(rc mp lonely publish "$ex/rdf-core")" = 4 ] || fail "offline publish should exit 4"
grep -q "published on this node only" "$tmp/last.err" || fail "offline publish message: $(cat "$tmp/last.err")"
grep -q "published io.ggen.examples.rdf-core@1.0.0" "$tmp/last.out" || fail "not published locally"
# --json carries the network part
json=$(mp n1 publish "$ex/rdf-core" --json)
[[ $json == *'"network":{'*'"stored":'[1-9]* ]] || fail "publish --json: $json"

# --- announcements: the running nodes cataloged every release ---------------------------------
for n in n2 n3; do
  for id in "$M" "$R" "$C"; do
    for _ in $(seq 100); do grep -q "^announcement $id@.*: cataloged" "$tmp/$n.out" && break; sleep 0.05; done
    grep -q "^announcement $id@.*: cataloged" "$tmp/$n.out" || fail "$n did not catalog $id: $(cat "$tmp/$n.out")"
  done
done
out=$(mp n3 search ontology --offline) || fail "offline search on n3 after the announcements: $out"
grep -q "^$R" <<<"$out" || fail "n3's catalog lacks rdf-core: $out"

# --- distributed search: n4 joined after the announcements (Gossipsub may still hand it the
# last few seconds of messages), the peers have the records ---------------------------------------
start_node n4 --bootstrap "$boot"
out=$(mp n4 search ontology) || fail "search on n4: $out"
n1id=$(sed 's#.*/p2p/##' <<<"$(sed -n 's/^listening //p' "$tmp/n1.out" | head -1)")
grep -q "^$R  *1.0.0  *\(local+\)\?[1-9] peers" <<<"$out" || fail "search should find rdf-core at the peers: $out"
grep -q "peers asked, [1-9][0-9]* answered" <<<"$out" || fail "search summary: $out"
json=$(mp solo search rust --json --bootstrap "$boot") || fail "one-shot search: $json"
[[ $json == *"\"id\": \"$C\""* && $json == *"\"sources\": ["*"\"$n1id\""* ]] ||
  fail "one-shot search --json: $json"
[[ $json == *'"via": "a short-lived node joined through 1 bootstrap peer"'* ]] || fail "search via: $json"
[ "$(rc mp n4 search no-such-package-anywhere)" = 3 ] || fail "search for nothing should exit 3"

# --- installing through a running node ------------------------------------------------------
mkdir -p "$tmp/p2"
out=$(mp n2 install --dir "$tmp/p2" "$M@0.1.3" "$R@1.0.0" "$C@0.2.0") || fail "install on n2: $out"
[ "$(grep -c '^  fetched ' <<<"$out")" = 3 ] || fail "n2 should fetch 3 archives: $out"
grep -q "done: 3 added" <<<"$out" || fail "n2 install: $out"
grep -q 'source = "p2p"' "$tmp/p2/ggen.lock" || fail "lockfile source"
[ -f "$tmp/p2/.ggen/packs/$C/gpack.toml" ] || fail "pack not installed"
out=$("$GGEN" --home "$tmp/n2" p2p peers) || fail "peers"
grep -q "^$n1id .* 3 .*s ago" <<<"$out" || fail "peers should show n1 with 3 packages: $out"
json=$("$GGEN" --home "$tmp/n2" p2p peers --json)
[[ $json == *'"provided": 3'* ]] || fail "peers --json: $json"

# --- a short-lived node (no node runs in this home) -------------------------------------------
mkdir -p "$tmp/ps"
json=$(mp solo install --dir "$tmp/ps" "$M@0.1.3" --bootstrap "$boot" --json) || fail "one-shot install: $json"
[[ $json == *'"via":"a short-lived node joined through 1 bootstrap peer"'* && $json == *'"action":"add"'* ]] ||
  fail "one-shot install --json: $json"
# offline: the catalog does not know the package
mkdir -p "$tmp/po"
[ "$(rc mp other install --dir "$tmp/po" "$M@0.1.3" --offline)" = 3 ] || fail "offline install should exit 3"
# a version nobody has: the package is found, the version is not (as offline: exit 5)
[ "$(rc mp n3 install --dir "$tmp/po" "$M@7.7.7")" = 5 ] || fail "unknown version should exit 5"
grep -q "7.7.7, which no version matches" "$tmp/last.err" || fail "unknown version: $(cat "$tmp/last.err")"
# a package nobody has: exit 3
[ "$(rc mp n3 install --dir "$tmp/po" io.nobody.has-this)" = 3 ] || fail "unknown package should exit 3"

# --- the publisher leaves: the archives come from n2 -------------------------------------------
kill -TERM "$pid_n1"
wait "$pid_n1" || fail "n1 did not stop cleanly"
mkdir -p "$tmp/p3"
# by id alone: the versions and the dependencies come from the peers that still have them
out=$(mp n3 install --dir "$tmp/p3" "$C") || fail "install after the publisher left: $out"
n2id=$(sed 's#.*/p2p/##' <<<"$(sed -n 's/^listening //p' "$tmp/n2.out" | head -1)")
[ "$(grep -c "^  fetched .* from ${n2id:0:12}" <<<"$out")" = 3 ] || fail "n3 should fetch from n2: $out"

# --- a foreign key's version of an owned id ------------------------------------------------------
mp mallory keygen >/dev/null
cp -r "$ex/macros-std" "$tmp/evil"
sed -i 's/^version = .*/version = "0.1.4"/' "$tmp/evil/gpack.toml"
mp mallory publish "$tmp/evil" --bootstrap "$boot" --json > "$tmp/mallory.out" 2>&1 || true
# every node that knows the owner refuses the announcement (validated before it spreads);
# none catalogs it
for _ in $(seq 100); do grep -q "^announcement $M@0.1.4 .*refused (the id belongs to another publisher key here)" "$tmp"/n[023].out && break; sleep 0.05; done
grep -q "^announcement $M@0.1.4 .*refused (the id belongs to another publisher key here)" "$tmp"/n[023].out ||
  fail "mallory's announcement was not refused: $(tail -3 "$tmp"/n[023].out) $(cat "$tmp/mallory.out")"
! grep -q "^announcement $M@0.1.4 .*cataloged" "$tmp"/n[023].out || fail "a node that knows the owner cataloged mallory's release"
mkdir -p "$tmp/p4"
[ "$(rc mp n3 install --dir "$tmp/p4" "$M@0.1.4")" = 5 ] || fail "a foreign key's record was accepted: $(cat "$tmp/last.out" "$tmp/last.err")"
grep -q "0.1.4, which no version matches" "$tmp/last.err" || fail "foreign record: $(cat "$tmp/last.err")"
[ ! -e "$tmp/p4/ggen.lock" ] || fail "something was installed"

# --- a restarted node re-provides its store --------------------------------------------------------
kill -TERM "$pid_n2"
wait "$pid_n2" || fail "n2 did not stop cleanly"
start_node n2 --bootstrap "$boot"
grep -q "^market ready: providing 3 of 3 archives" "$tmp/n2.out" || fail "re-provide: $(cat "$tmp/n2.out")"
echo ok
