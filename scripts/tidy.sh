#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy: bugprone-*, modernize-*, readability-*) over every source file in
# src/, with the compile commands of a configured build (default build/release). Exits non-zero on
# any warning. Installs clang-tidy-19 from Debian 12 when it is missing (clang-tidy-14 crashes on
# this code base's C++23).
#   scripts/tidy.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
tidy=$(command -v clang-tidy-19 || true)
if [ -z "$tidy" ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "tidy: clang-tidy-19 missing (apt-get install clang-tidy-19)" >&2; exit 1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang-tidy-19 >/dev/null
  tidy=$(command -v clang-tidy-19)
fi
[ -f "$build/compile_commands.json" ] || { echo "tidy: no $build/compile_commands.json (configure first)" >&2; exit 1; }
mapfile -t files < <(git ls-files 'src/*.cpp')
echo "tidy: ${#files[@]} files" >&2
# run-clang-tidy prints every diagnostic; -quiet drops the per-file banner. Its own exit status is
# not trusted alone: the log is searched for findings too.
status=0
run-clang-tidy-19 -quiet -clang-tidy-binary "$tidy" -p "$build" -j "$(nproc)" "${files[@]/#/$PWD/}" \
  >"$build/tidy.log" 2>&1 || status=$?
if [ "$status" -ne 0 ] || grep -qE 'warning:|error:' "$build/tidy.log"; then
  grep -E -A3 'warning:|error:' "$build/tidy.log" | head -n 400
  echo "tidy: $(grep -cE 'warning:|error:' "$build/tidy.log") findings (full log: $build/tidy.log)" >&2
  exit 1
fi
echo "tidy: clean" >&2
