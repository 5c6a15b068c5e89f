#!/usr/bin/env bash
# Installs lockhound's build and test dependencies from Debian 12 packages (run as root).
# Idempotent: packages already present are left alone.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config clang clang-format libclang-rt-14-dev
  libdw-dev libelf-dev libcapstone-dev libboost-graph-dev libfmt-dev libgtest-dev libbenchmark-dev
  zlib1g-dev libdeflate-dev liblzo2-dev libsnappy-dev libzstd-dev libbpf-dev
  libcli11-dev nlohmann-json3-dev libtomlplusplus-dev graphviz python3
  python3-drgn  # test-only: whatis_test compares slab objects with drgn's slab_object_info
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: dependencies present" >&2
