#!/usr/bin/env bash
# The main job: a local network of ggen nodes publishing, searching and installing real packages.
#
#   1. six nodes start (separate homes under a temp dir, loopback, any free port), five joining
#      through the first: TCP + Noise + Yamux + Identify, the Kademlia DHT, Gossipsub, the market;
#   2. the nodes ping each other;
#   3. node1 publishes the example gpacks (rust-cli-subcommand depends on macros-std and
#      rdf-core): records in the DHT, archives provided, announcements on Gossipsub, which the
#      running nodes validate and catalog;
#   4. node2 installs rust-cli-subcommand: versions, dependencies and archives from the network
#      (from node1, the publisher), each verified; ggen.lock is written;
#   5. node1 stops; node3 installs the same: the archives come from node2, which cached them
#      and provides them (provider records);
#   6. refusals: another key's release of an owned id (refused by every node that knows the
#      owner, and not installable), a tampered record (refused by the DHT);
#   7. node6 joins late - once Gossipsub has forgotten the announcements, so it never hears of
#      them - and finds the packages by distributed search;
#   8. peer reputation as node3 sees it;
#   9. every node stops cleanly (SIGTERM, exit 0).
# It prints what happens with timings and exits non-zero if any step fails.
# Usage: scripts/demo.sh   (after scripts/setup.sh && scripts/build.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
GGEN=${GGEN_BIN:-$here/build/ggen}
[ -x "$GGEN" ] || { echo "demo: $GGEN not found; run scripts/build.sh first" >&2; exit 1; }
unset GGEN_P2P_BOOTSTRAP GGEN_P2P_LISTEN GGEN_P2P_DHT_SERVER GGEN_HOME
work=$(mktemp -d)
ex=$here/examples/gpacks
M=io.ggen.examples.macros-std R=io.ggen.examples.rdf-core C=io.ggen.examples.rust-cli-subcommand
declare -A pid addr id
t_start=$(date +%s%N)

cleanup() {
  for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
die() {
  echo
  echo "demo: FAILED: $*" >&2
  for n in "${!pid[@]}"; do [ -s "$work/$n.err" ] && { echo "--- $n stderr:" >&2; tail -5 "$work/$n.err" >&2; }; done
  exit 1
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
g() { "$GGEN" --home "$work/$1" "${@:2}"; }
short() { echo "${1:0:12}…${1: -6}"; }
indent() { sed 's/^/    /'; }

start_node() { # name [--bootstrap ADDR]
  local name=$1; shift
  "$GGEN" --home "$work/$name" p2p start --listen /ip4/127.0.0.1/tcp/0 "$@" \
    >"$work/$name.out" 2>"$work/$name.err" &
  pid[$name]=$!
  for _ in $(seq 200); do grep -q "^market ready" "$work/$name.out" 2>/dev/null && break; sleep 0.05; done
  grep -q "^market ready" "$work/$name.out" || die "$name did not start: $(cat "$work/$name.out" "$work/$name.err")"
  addr[$name]=$(sed -n 's/^listening //p' "$work/$name.out" | head -1)
  id[$name]=${addr[$name]##*/p2p/}
  printf '  %-7s %s\n          %s\n' "$name" "${addr[$name]}" "$(grep '^dht ready' "$work/$name.out")"
}

echo "== 1. five nodes now, a sixth later (homes under $work)"
start_node node1
boot=${addr[node1]}
for n in node2 node3 node4 node5; do start_node "$n" --bootstrap "$boot"; done

echo
echo "== 2. the nodes ping each other (dial, Noise, Yamux, identify, 3 pings)"
pings=0
for pair in node1:node2 node2:node3 node3:node4 node4:node5 node5:node1 node3:node1; do
  a=${pair%:*} b=${pair#*:}
  out=$(g "$a" p2p ping "${addr[$b]}" --count 3 --interval 50) || die "$a could not ping $b: $out"
  echo "  $a -> $b: $(tail -1 <<<"$out")"
  pings=$((pings + 3))
done

echo
echo "== 3. node1 publishes the example gpacks (rust-cli-subcommand needs macros-std ^0.1 and rdf-core ^1.0)"
g node1 marketplace keygen >/dev/null
for p in macros-std rdf-core rust-cli-subcommand; do
  out=$(g node1 marketplace publish "$ex/$p") || die "publish $p: $out"
  indent <<<"$out"
  [[ $out == *"announced to "[1-9]* ]] || die "the announcement of $p reached nobody"
done
echo "  the running nodes validated the announcements and cataloged the releases:"
for n in node2 node3 node4 node5; do
  for x in "$M" "$R" "$C"; do
    for _ in $(seq 100); do grep -q "^announcement $x@.*: cataloged" "$work/$n.out" && break; sleep 0.05; done
    grep -q "^announcement $x@.*: cataloged" "$work/$n.out" || die "$n did not catalog $x"
  done
done
grep "^announcement" "$work/node3.out" | sed 's/^/    node3: /'

echo
echo "== 4. node2 installs $C into a project: records, dependencies and archives from the network"
mkdir -p "$work/project2"
echo "  \$ ggen marketplace install $C --dir project2   (on node2)"
t0=$(date +%s%N)
out=$(g node2 marketplace install "$C" --dir "$work/project2") || die "install on node2: $out"
t_install=$(ms_since "$t0")
indent <<<"$out"
[ "$(grep -c "^  fetched .* from $(short "${id[node1]}" | cut -c1-12)" <<<"$out")" = 3 ] ||
  die "node2 should have fetched the three archives from node1"
[ -f "$work/project2/.ggen/packs/$C/gpack.toml" ] || die "the pack is not in project2/.ggen/packs"
echo "  install took $t_install ms, CLI included; project2/ggen.lock:"
sed -n '/^\[\[packs\]\]/,$p' "$work/project2/ggen.lock" | grep -E '^(\[\[packs|id|version|source|dependencies)' | indent

echo
echo "== 5. node1 (the publisher) stops; node3 installs: the archives come from node2's cache"
kill -TERM "${pid[node1]}"
rc=0
wait "${pid[node1]}" || rc=$?
unset 'pid[node1]'
[ $rc = 0 ] || die "node1 exited with $rc"
echo "  node1 stopped (exit 0)"
mkdir -p "$work/project3"
t0=$(date +%s%N)
out=$(g node3 marketplace install "$C" --dir "$work/project3") || die "install on node3: $out"
t_install2=$(ms_since "$t0")
indent <<<"$out"
[ "$(grep -c "^  fetched .* from $(short "${id[node2]}" | cut -c1-12)" <<<"$out")" = 3 ] ||
  die "node3 should have fetched the three archives from node2"
echo "  install took $t_install2 ms: node1's provider records led nowhere, node2's to the archives"
cmp -s <(grep -v '^generated' "$work/project2/ggen.lock") <(grep -v '^generated' "$work/project3/ggen.lock") ||
  die "the two projects locked different packs"
echo "  project3/ggen.lock locks exactly what project2's does"

echo
echo "== 6. refusals"
g mallory marketplace keygen >/dev/null
cp -r "$ex/macros-std" "$work/evil"
sed -i 's/^version = .*/version = "0.1.4"/; s/^description = .*/description = "macros, now with a backdoor"/' "$work/evil/gpack.toml"
echo "  mallory (her own key) publishes $M@0.1.4 through node2:"
g mallory marketplace publish "$work/evil" --bootstrap "${addr[node2]}" >"$work/mallory.out" 2>&1 || true
for _ in $(seq 100); do grep -q "^announcement $M@0.1.4 .*refused" "$work"/node[2-5].out && break; sleep 0.05; done
grep -q "^announcement $M@0.1.4 .*refused (the id belongs to another publisher key here)" "$work"/node[2-5].out ||
  die "nobody refused mallory's announcement"
refusers=$(grep -l "^announcement $M@0.1.4 .*refused" "$work"/node[2-5].out | wc -l)
echo "    $(grep -h "^announcement $M@0.1.4" "$work"/node[2-5].out | head -1)"
echo "    (refused by each of the $refusers running nodes it reached: a refused announcement is not"
echo "    forwarded, and the sender's Gossipsub score pays for it)"
! grep -q "^announcement $M@0.1.4 .*cataloged" "$work"/node[2-5].out || die "a node cataloged mallory's release"
t_last_announce=$(date +%s%N)
mkdir -p "$work/project4"
set +e
g node4 marketplace install "$M@0.1.4" --dir "$work/project4" >"$work/i4.out" 2>"$work/i4.err"
rc=$?
set -e
[ $rc = 5 ] || die "installing mallory's version should fail (exit $rc): $(cat "$work/i4.err")"
echo "  node4: install $M@0.1.4 -> exit 5: $(grep -o 'requires .*' "$work/i4.err" | head -1)"
g node4 p2p dht get "/ggen-pkg/$R@1.0.0" --out "$work/rec" >/dev/null || die "dht get of the record"
off=$(($(stat -c %s "$work/rec") - 12))
byte=$(od -An -tu1 -j "$off" -N1 "$work/rec" | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of="$work/rec" bs=1 seek="$off" conv=notrunc status=none
set +e
out=$(g node4 p2p dht put "/ggen-pkg/$R@1.0.0" --file "$work/rec" 2>&1)
rc=$?
set -e
[ $rc = 6 ] || die "a tampered record should be refused with exit 6 (got $rc): $out"
echo "  node4: a record of $R with one bit flipped -> dht put exit 6: $out"

# Gossipsub keeps a message 5 s for peers that ask for it (IHAVE/IWANT): wait that out, so
# that nothing but search can tell node6 about the packages
left=$((6000 - $(ms_since "$t_last_announce")))
if [ $left -gt 0 ]; then
  echo
  echo "  (waiting $((left / 1000)).$(((left % 1000) / 100)) s: Gossipsub's message cache forgets the announcements after 5 s)"
  sleep "$((left / 1000)).$(printf %03d $((left % 1000)))"
fi
echo
echo "== 7. node6 joins late: gossip never told it anything, distributed search finds the packages"
start_node node6 --bootstrap "${addr[node2]}"
set +e
g node6 marketplace search rust --offline >/dev/null 2>&1
rc=$?
set -e
[ $rc = 3 ] || die "node6's own catalog should be empty (exit $rc)"
echo "  node6's own catalog: nothing matches 'rust' (exit 3)"
echo "  \$ ggen marketplace search rust        (on node6)"
t0=$(date +%s%N)
out=$(g node6 marketplace search rust) || die "search on node6: $out"
t_search=$(ms_since "$t0")
indent <<<"$out"
grep -q "^$C " <<<"$out" || die "node6's search did not find $C"
echo "  search took $t_search ms, CLI included"
t0=$(date +%s%N)
out=$(g node6 marketplace search serach templates) || die "search with a typo: $out"
t_search2=$(ms_since "$t0")
echo "  \$ ggen marketplace search serach templates   (a typo; $t_search2 ms)"
indent <<<"$out"
grep -q "^$M " <<<"$out" || die "the typo search did not find $M"

echo
echo "== 8. peer reputation on node3 (ggen p2p peers)"
g node3 p2p peers | indent

echo
echo "== 9. stopping every node (SIGTERM)"
for n in node2 node3 node4 node5 node6; do
  kill -TERM "${pid[$n]}"
  rc=0
  wait "${pid[$n]}" || rc=$?
  echo "  $n exited with status $rc"
  [ $rc = 0 ] || die "$n did not stop cleanly"
  unset "pid[$n]"
done

total=$(ms_since "$t_start")
echo
echo "demo: done in $((total / 1000)).$(((total % 1000) / 100)) s - 6 nodes, $pings pings, 3 packages"
echo "      published, found by a late node's search in $t_search ms (floor 2000 ms), installed from"
echo "      the publisher in $t_install ms and from a cache after it left in $t_install2 ms (floor 5000 ms)"
[ "$t_search" -lt 2000 ] || die "search took $t_search ms, over the 2 s floor"
[ "$t_install" -lt 5000 ] && [ "$t_install2" -lt 5000 ] || die "an install took over the 5 s floor"
