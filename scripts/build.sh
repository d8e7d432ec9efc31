#!/usr/bin/env bash
# Configures and builds one configuration.
#   scripts/build.sh            release build in build/
#   scripts/build.sh asan       ASan+UBSan build in build-asan/
#   scripts/build.sh fuzz       clang libFuzzer build in build-fuzz/
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
kind=${1:-release}
jobs=$(nproc)
case "$kind" in
  release) dir=build; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; args=(-DCMAKE_BUILD_TYPE=Debug -DGGEN_SANITIZE=ON) ;;
  fuzz) dir=build-fuzz; args=(-DCMAKE_BUILD_TYPE=Debug -DGGEN_FUZZ=ON -DCMAKE_C_COMPILER=clang) ;;
  *) echo "usage: $0 [release|asan|fuzz]" >&2; exit 2 ;;
esac
cmake -S "$here" -B "$here/$dir" -DGGEN_WERROR=ON "${args[@]}" >/dev/null
# progress lines are dropped; with pipefail a failed build still fails this script
cmake --build "$here/$dir" -j "$jobs" 2>&1 | { grep -vE '^\[ *[0-9]+%\]|^-- ' || true; }
