#!/usr/bin/env bash
# Configures and builds the lockhound binary only (RelWithDebInfo, warnings as errors) into
# build/release; scripts/test.sh builds the tests too.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLH_WERROR=ON >/dev/null
cmake --build build/release -j "$(nproc)" --target lockhound
