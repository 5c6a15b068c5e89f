#!/usr/bin/env bash
# Builds lockhound and runs every test (unit, end-to-end over sample_dumps and, when ../shared
# exists, over ../shared/dumps with their DWARF vmlinux fetched once into the cache).
#   scripts/test.sh            # RelWithDebInfo build in build/release
#   BUILD=build/asan CMAKE_ARGS="-DLH_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug" scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build/release}
args=${CMAKE_ARGS:--DCMAKE_BUILD_TYPE=RelWithDebInfo}
cmake -S . -B "$build" -G Ninja -DLH_WERROR=ON $args >/dev/null
cmake --build "$build" -j "$(nproc)"
if [ -z "${LOCKHOUND_VMLINUX:-}" ] && [ -x ../shared/dumps/get-debuginfo.sh ]; then
  for rel in ../shared/dumps/*/; do
    rel=$(basename "$rel")
    if v=$(../shared/dumps/get-debuginfo.sh "$rel" 2>/dev/null | tail -n 1) && [ -s "$v" ]; then
      export LOCKHOUND_VMLINUX=$v
    else
      echo "test: could not fetch the vmlinux of $rel; tests that need it will skip" >&2
    fi
  done
fi
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" ${CTEST_ARGS:-}
