#!/usr/bin/env bash
# CLI tests for `ggen marketplace keygen | pack | unpack | cache`: the same directory packs to
# the same CID twice (also from a copy with other mtimes, permissions and creation order, and
# with the output inside the package); every hostile archive of the suite is refused by
# unpack (exit 6) with nothing written; a packed archive unpacks and re-packs to the same
# CID; keygen never replaces a key; cache stats/gc/clean; --help and exit codes (docs/cli.md).
set -euo pipefail
GGEN=${GGEN_BIN:?GGEN_BIN must point to the ggen binary}
SRC=${GGEN_SOURCE_DIR:?GGEN_SOURCE_DIR must point to the source tree}
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export GGEN_HOME="$tmp/home"

# --- a package ------------------------------------------------------------------------------
pkg="$tmp/pkg"
mkdir -p "$pkg/templates/sub" "$pkg/.git" "$pkg/node_modules/x"
cat > "$pkg/gpack.toml" <<'TOML'
[gpack]
id = "io.ggen.test.pack"
name = "Pack test"
version = "1.2.3"
description = "A package for the pack CLI test"
license = "MIT"
ggen_compat = ">=0.1.0"

[dependencies]
"io.ggen.macros.std" = "^0.1"

[templates]
patterns = ["templates/**/*.tmpl"]
TOML
echo 'hello {{ name }}' > "$pkg/templates/a.tmpl"
printf '#!/bin/sh\necho hi\n' > "$pkg/templates/sub/run.sh"
chmod 755 "$pkg/templates/sub/run.sh"
echo 'ref: refs/heads/main' > "$pkg/.git/HEAD"
echo 'module' > "$pkg/node_modules/x/index.js"

# --- pack twice: same CID, same bytes ------------------------------------------------------
cd "$tmp"
out1=$("$GGEN" marketplace pack "$pkg" -o "$tmp/one.tar.zst")
out2=$("$GGEN" marketplace pack "$pkg" -o "$tmp/two.tar.zst")
cid1=${out1%% *}
cid2=${out2%% *}
[[ $cid1 == bafkrei* ]] || fail "not a CIDv1 raw sha2-256: $out1"
[ "$cid1" = "$cid2" ] || fail "two packs gave $cid1 and $cid2"
cmp -s "$tmp/one.tar.zst" "$tmp/two.tar.zst" || fail "two packs differ in bytes"
size=$(stat -c %s "$tmp/one.tar.zst")
[ "$out1" = "$cid1  $size  $tmp/one.tar.zst" ] || fail "pack output: $out1"
# the CID is the sha2-256 of the bytes
digest=$(sha256sum "$tmp/one.tar.zst" | cut -c1-64)
want=b$( (printf '\x01\x55\x12\x20'; printf '%s' "$digest" | sed 's/../\\x&/g' | xargs -0 printf) |
  basenc --base32 | tr -d '=\n' | tr 'A-Z' 'a-z')
[ "$cid1" = "$want" ] || fail "CID $cid1 is not the sha2-256 CID of the archive ($want)"
# default output name from the manifest, JSON output
json=$("$GGEN" marketplace pack "$pkg" --json)
[ -f "$tmp/io.ggen.test.pack-1.2.3.tar.zst" ] || fail "default output name"
[[ $json == "{\"id\":\"io.ggen.test.pack\",\"version\":\"1.2.3\",\"cid\":\"$cid1\",\"size\":$size,"* ]] ||
  fail "pack --json: $json"
# ignored files are not in the archive; the package content is
tar --zstd -tf "$tmp/one.tar.zst" > "$tmp/list"
grep -q '^gpack.toml$' "$tmp/list" || fail "gpack.toml missing from the archive"
grep -q '^templates/sub/run.sh$' "$tmp/list" || fail "run.sh missing"
! grep -q 'node_modules\|\.git' "$tmp/list" || fail "ignored files packed"

# a copy made in another order, with other mtimes and permissions: same CID
cp2="$tmp/copy"
mkdir -p "$cp2/templates/sub"
cp "$pkg/templates/sub/run.sh" "$cp2/templates/sub/"
cp "$pkg/templates/a.tmpl" "$cp2/templates/"
cp "$pkg/gpack.toml" "$cp2/"
chmod 700 "$cp2/templates/sub/run.sh"; chmod 600 "$cp2/gpack.toml"; chmod 711 "$cp2/templates"
touch -d '2001-02-03 04:05:06' "$cp2/templates/a.tmpl"
cid3=$("$GGEN" marketplace pack "$cp2" -o "$tmp/three.tar.zst" | cut -d' ' -f1)
[ "$cid3" = "$cid1" ] || fail "copy packs to $cid3, not $cid1"
# output inside the package directory, twice: excluded from the walk, same CID
in1=$(cd "$cp2" && "$GGEN" marketplace pack | cut -d' ' -f1)
in2=$(cd "$cp2" && "$GGEN" marketplace pack | cut -d' ' -f1)
[ "$in1" = "$cid1" ] && [ "$in2" = "$cid1" ] || fail "packing into the package: $in1 $in2"
# content change: another CID
echo changed >> "$cp2/templates/a.tmpl"
cid4=$("$GGEN" marketplace pack "$cp2" -o "$tmp/four.tar.zst" | cut -d' ' -f1)
[ "$cid4" != "$cid1" ] || fail "changed content, same CID"

# --- refusals at pack time ---------------------------------------------------------------------
ln -s a.tmpl "$cp2/templates/link"
rc=0; "$GGEN" marketplace pack "$cp2" -o "$tmp/bad.tar.zst" 2>"$tmp/err" || rc=$?
[ $rc = 2 ] || fail "symlink in package: exit $rc, want 2"
grep -q 'templates/link' "$tmp/err" || fail "symlink error does not name the file"
[ ! -e "$tmp/bad.tar.zst" ] || fail "failed pack left an archive"
ls "$tmp" | grep -q 'tmp-' && fail "failed pack left a temporary file"
rm "$cp2/templates/link"
rc=0; "$GGEN" marketplace pack "$tmp/nonexistent" 2>/dev/null || rc=$?
[ $rc = 3 ] || fail "missing DIR: exit $rc, want 3"
mkdir "$tmp/nomanifest"
rc=0; "$GGEN" marketplace pack "$tmp/nomanifest" 2>"$tmp/err" || rc=$?
[ $rc = 2 ] || fail "no manifest: exit $rc, want 2"
grep -q 'gpack.toml' "$tmp/err" || fail "no-manifest message"
mkdir "$tmp/badmanifest"
printf '[gpack]\nid = "x"\nversion = "1.0"\n' > "$tmp/badmanifest/gpack.toml"
rc=0; "$GGEN" marketplace pack "$tmp/badmanifest" 2>"$tmp/err" || rc=$?
[ $rc = 2 ] || fail "bad manifest: exit $rc, want 2"
grep -q 'gpack.toml:3' "$tmp/err" || fail "bad manifest message has no line: $(cat "$tmp/err")"

# --- unpack: round trip, hostile archives refused --------------------------------------------
"$GGEN" marketplace unpack "$tmp/one.tar.zst" "$tmp/out" >/dev/null
[ -x "$tmp/out/templates/sub/run.sh" ] || fail "unpacked run.sh is not executable"
cmp -s "$tmp/out/gpack.toml" "$pkg/gpack.toml" || fail "unpacked gpack.toml differs"
cid5=$("$GGEN" marketplace pack "$tmp/out" -o "$tmp/five.tar.zst" | cut -d' ' -f1)
[ "$cid5" = "$cid1" ] || fail "unpack + pack changed the CID"
rc=0; "$GGEN" marketplace unpack "$tmp/one.tar.zst" "$tmp/out" 2>/dev/null || rc=$?
[ $rc = 5 ] || fail "unpack into an existing dir: exit $rc, want 5"

hostile="$SRC/tests/data/archives-hostile"
n=0
for a in "$hostile"/generated/*.tar "$hostile"/libarchive/*.tar "$hostile"/libarchive/*.zip; do
  sandbox="$tmp/sandbox"
  rm -rf "$sandbox"; mkdir -p "$sandbox/a/b"
  rc=0; "$GGEN" marketplace unpack "$a" "$sandbox/a/b/t" >/dev/null 2>"$tmp/err" || rc=$?
  case "$a" in
    *.zip) [ $rc = 2 ] || fail "$(basename "$a"): exit $rc, want 2 (not a package archive)" ;;
    *) [ $rc = 6 ] || fail "$(basename "$a"): exit $rc, want 6"
       grep -q 'refused' "$tmp/err" || fail "$(basename "$a"): no refusal message" ;;
  esac
  [ "$(find "$sandbox" | wc -l)" = 3 ] || fail "$(basename "$a") wrote into the sandbox: $(find "$sandbox")"
  n=$((n + 1))
done
[ $n = 20 ] || fail "ran $n hostile archives, want 20"
# compressed like a real package: refused the same way
zstd -q -c "$hostile/generated/dotdot-path.tar" > "$tmp/dotdot.tar.zst"
rc=0; "$GGEN" marketplace unpack "$tmp/dotdot.tar.zst" "$tmp/dd" --json > "$tmp/json" 2>/dev/null || rc=$?
[ $rc = 6 ] || fail "zstd hostile archive: exit $rc"
grep -q '"reason":"path","entry":"a/b/c/../d"' "$tmp/json" || fail "unpack --json: $(cat "$tmp/json")"
[ ! -e "$tmp/dd" ] || fail "refused archive left its target"
# a tampered archive (one byte flipped) is refused
cp "$tmp/one.tar.zst" "$tmp/tampered.tar.zst"
printf '\xff' | dd of="$tmp/tampered.tar.zst" bs=1 seek=$((size - 2)) conv=notrunc 2>/dev/null
rc=0; "$GGEN" marketplace unpack "$tmp/tampered.tar.zst" "$tmp/tt" >/dev/null 2>&1 || rc=$?
[ $rc != 0 ] || fail "tampered archive unpacked"
[ ! -e "$tmp/tt" ] || fail "tampered archive left its target"

# --- keygen --------------------------------------------------------------------------------------
k1=$("$GGEN" marketplace keygen --json)
[[ $k1 == *'"created":true'* ]] || fail "keygen: $k1"
[ "$(stat -c %a "$GGEN_HOME/publisher.key")" = 600 ] || fail "publisher.key not mode 600"
[ "$(stat -c %s "$GGEN_HOME/publisher.key")" = 68 ] || fail "publisher.key size"
pub=$(echo "$k1" | sed 's/.*"public_key":"\([0-9a-f]*\)".*/\1/')
[ ${#pub} = 64 ] || fail "public key: $pub"
rc=0; "$GGEN" marketplace keygen > "$tmp/k2" 2>/dev/null || rc=$?
[ $rc = 5 ] || fail "second keygen: exit $rc, want 5"
grep -q "$pub" "$tmp/k2" || fail "second keygen does not show the existing key"
cp "$GGEN_HOME/publisher.key" "$tmp/key.bak"
cmp -s "$GGEN_HOME/publisher.key" "$tmp/key.bak" || fail "key changed"

# --- cache -----------------------------------------------------------------------------------------
s=$("$GGEN" marketplace cache stats --json)
[[ $s == '{"entries":0,"bytes":0,'* ]] || fail "empty cache stats: $s"
# an archive placed in the store (as a crashed put would leave it) is adopted by gc
shard=${cid1: -2}
mkdir -p "$GGEN_HOME/store/blobs/$shard"
cp "$tmp/one.tar.zst" "$GGEN_HOME/store/blobs/$shard/$cid1"
g=$("$GGEN" marketplace cache gc --json)
[[ $g == *'"reconciled":1,'* ]] || fail "gc did not adopt the blob: $g"
s=$("$GGEN" marketplace cache stats --json)
[[ $s == "{\"entries\":1,\"bytes\":$size,"* ]] || fail "stats after gc: $s"
# a corrupt blob is found by gc --verify and removed
printf 'X' | dd of="$GGEN_HOME/store/blobs/$shard/$cid1" bs=1 seek=20 conv=notrunc 2>/dev/null
g=$("$GGEN" marketplace cache gc --verify --json)
[[ $g == *'"corrupt":1,'* ]] || fail "gc --verify: $g"
[ ! -e "$GGEN_HOME/store/blobs/$shard/$cid1" ] || fail "corrupt blob kept"
"$GGEN" marketplace cache gc --budget 10M > /dev/null
s=$("$GGEN" marketplace cache stats)
echo "$s" | grep -q 'budget    10.0 MiB' || fail "budget not set: $s"
c=$("$GGEN" marketplace cache clean --json)
[[ $c == '{"removed":0,'* ]] || fail "clean: $c"
rc=0; "$GGEN" marketplace cache frobnicate 2>/dev/null || rc=$?
[ $rc = 2 ] || fail "unknown cache command: exit $rc"
rc=0; "$GGEN" marketplace cache stats --budget 1G 2>/dev/null || rc=$?
[ $rc = 2 ] || fail "--budget with stats: exit $rc"

# --- help ------------------------------------------------------------------------------------------
for cmd in keygen pack unpack cache; do
  "$GGEN" marketplace $cmd --help | grep -q "usage: ggen marketplace $cmd" || fail "$cmd --help"
done
"$GGEN" marketplace --help | grep -q 'pack' || fail "marketplace --help lists no pack"
rc=0; "$GGEN" marketplace pack --bogus 2>/dev/null || rc=$?
[ $rc = 2 ] || fail "unknown option: exit $rc"
echo "ok"
