#!/usr/bin/env bash
# Installs everything the project needs on Debian 12 (run as root): the C toolchain and
# libraries from Debian's packages, and the pinned js-libp2p interop peers from npm.
# Idempotent: re-running only installs what is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

pkgs=(build-essential cmake pkg-config git
      libsodium-dev libuv1-dev libsqlite3-dev libprotobuf-c-dev protobuf-c-compiler
      libarchive-dev libzstd-dev libsolv-dev libsolvext-dev libjansson-dev libcmocka-dev
      clang libclang-rt-14-dev
      dhtnode python3-opendht
      iproute2 procps zstd)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node.js >= 20 runs the js-libp2p interop peers. Use the machine's if it is new enough,
# else Debian's (interop tests then report what they need).
if ! command -v node >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
nodever=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$nodever" -lt 20 ]; then
  echo "setup: warning: Node.js $nodever found; js-libp2p interop needs Node.js >= 20" >&2
fi
if [ -f "$here/interop/js/package-lock.json" ]; then
  if [ ! -d "$here/interop/js/node_modules" ] || \
     [ "$here/interop/js/package-lock.json" -nt "$here/interop/js/node_modules" ]; then
    echo "setup: npm ci in interop/js"
    (cd "$here/interop/js" && npm ci --no-audit --no-fund --loglevel=error && touch node_modules)
  fi
fi
echo "setup: done"
