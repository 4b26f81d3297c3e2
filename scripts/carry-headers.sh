#!/usr/bin/env bash
# Copies the headers charnn builds with beyond LibTorch (CLI11, nlohmann/json, Catch2 v2 and its
# CMake module, Gloo, fmt) from this Debian machine's packages into DIR, for a machine that has
# only a pip torch (cmake -DCHARNN_CARRIED_HEADERS=DIR; scripts/gpu-check.sh).
#   scripts/carry-headers.sh [DIR]   (default: third_party_headers, which git ignores)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/third_party_headers}
source "$root/scripts/setup.sh"
charnn_setup_packages
rm -rf "$dir"
mkdir -p "$dir/cmake"
for d in CLI nlohmann catch2 gloo fmt; do cp -r "/usr/include/$d" "$dir/"; done
cp /usr/lib/cmake/Catch2/Catch.cmake /usr/lib/cmake/Catch2/CatchAddTests.cmake "$dir/cmake/"
du -sh "$dir"
