#!/usr/bin/env bash
# Builds the libFuzzer targets in their own build directory (clang, -DLH_FUZZ=ON) and runs each
# for a bounded time; for CI and for local runs.
#
#   tests/fuzz/run-fuzzers.sh 60                  # every target, 60 s each
#   tests/fuzz/run-fuzzers.sh 600 diskdump notes  # some targets
#
# Environment: LH_FUZZ_BUILD (default <repo>/build-fuzz), LH_FUZZ_JOBS (ninja -j for the build).
# The corpus grows in BUILD/corpus/<target> (kept between runs), seeds are regenerated in
# BUILD/seeds (make-seeds.sh), logs go to BUILD/fuzz-<target>.log and crash reproducers to
# BUILD/artifacts/<target>/. Exits non-zero when any target crashed.
set -euo pipefail

seconds=${1:?usage: run-fuzzers.sh SECONDS [TARGET...]}
shift
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${LH_FUZZ_BUILD:-$src/build-fuzz}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(elf_core diskdump flattened vmcoreinfo notes page_walk kallsyms btf orc printk lock_decode)
fi

cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DLH_FUZZ=ON -DLH_TESTS=ON >/dev/null
ninja -C "$build" ${LH_FUZZ_JOBS:+-j "$LH_FUZZ_JOBS"} lh_fuzz
"$src/tests/fuzz/make-seeds.sh" "$build" "$build/seeds"

status=0
for t in "${targets[@]}"; do
    corpus=$build/corpus/$t
    artifacts=$build/artifacts/$t
    log=$build/fuzz-$t.log
    mkdir -p "$corpus" "$artifacts"
    if ! "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$build/seeds/$t" \
        >"$log" 2>&1; then
        status=1
        echo "fuzz_$t: FAILED, see $log and $artifacts/"
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    echo "fuzz_$t: ${execs:-?} inputs run in ${seconds}s, corpus $(find "$corpus" -type f | wc -l) files"
done
exit $status
