#!/usr/bin/env bash
# lockhound against crash and drgn on every dump with a truth.json (../shared/dumps and
# sample_dumps, plus $LH_BENCH_DUMPS), then the micro-benchmarks (lh_bench).
#
#   bench/run-benchmarks.sh [RUNS]          # RUNS runs of each command (default 5), medians
#
# Per dump, one table row:
#   lockhound analyze DUMP VMLINUX           (DWARF)
#   lockhound analyze DUMP --no-vmlinux      (the dump's BTF + kallsyms)
#   crash -s VMLINUX DUMP: ps; foreach UN bt; struct + list of each truth lock's wait list
#                                            (crash has no lock analysis: what a user types)
#   drgn (bench/drgn_locks.py): load, list tasks, each truth lock's owner and wait list
# Each cell: median wall s / median CPU s (user+sys) / median peak RSS MB, from /usr/bin/time;
# a command whose first run takes more than a minute is run once.
# "x lh" is the peer's median wall time over lockhound's (DWARF). "tasks" is how many tasks each
# tool saw (crash 8.0.2 sees only the idle tasks on Debian's 6.1 kernels: struct pid flex array).
#
# Environment: LH_BENCH_BUILD (default <repo>/build-bench), LH_BENCH_NO_INSTALL=1 (do not
# apt-get install crash / python3-drgn when missing), LH_BENCH_SKIP_MICRO=1, LH_BENCH_DUMPS
# (extra vmcores, colon-separated, e.g. a 4000-waiter many-waiters made with dumpfactory),
# LH_BENCH_MICRO_ARGS (extra lh_bench arguments, default --benchmark_min_time=0.3),
# LH_BENCH_LARGE=N: also make (once, cached in the build directory) a many-waiters dump with N
# waiter threads with ../shared/dumpfactory (QEMU/TCG, ~2 min + 7 s per 1000 threads) and add it.
set -euo pipefail

runs=${1:-5}
src=$(cd "$(dirname "$0")/.." && pwd)
build=${LH_BENCH_BUILD:-$src/build-bench}
shared=${LOCKHOUND_SHARED:-$src/../shared}
tmp=$(mktemp -d -t lh-bench-XXXXXX)  # $TMPDIR, else /tmp
trap 'rm -rf "$tmp"' EXIT

cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLH_WERROR=ON \
    -DLH_BENCH=ON >/dev/null
ninja -C "$build" lockhound lh_bench >/dev/null
lh=$build/src/cli/lockhound

# Peers from Debian; skipped cleanly when they cannot be installed.
want_pkg() {  # want_pkg PACKAGE TEST-COMMAND...
    local pkg=$1
    shift
    "$@" >/dev/null 2>&1 && return 0
    [ "${LH_BENCH_NO_INSTALL:-0}" = 1 ] && return 1
    echo "installing $pkg ..." >&2
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y "$pkg" >/dev/null 2>&1 || return 1
    else
        return 1
    fi
    "$@" >/dev/null 2>&1
}
have_crash=0
have_drgn=0
want_pkg crash command -v crash && have_crash=1
want_pkg python3-drgn /usr/bin/python3 -c 'import drgn' && have_drgn=1

# measure NAME CMD... : runs CMD $runs times; sets m_wall m_cpu m_rss (medians), m_status (last),
# and keeps the last stdout/stderr in $tmp/NAME.out / .err.
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "?"}'; }
measure() {
    local name=$1
    shift
    : >"$tmp/$name.times"
    for ((i = 0; i < runs; i++)); do
        m_status=0
        /usr/bin/time -f "%e %U %S %M" -o "$tmp/$name.t" timeout 600 "$@" \
            >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null || m_status=$?
        tail -1 "$tmp/$name.t" >>"$tmp/$name.times"
        # A run of more than a minute (crash on thousands of tasks) is not repeated.
        awk '{exit !($1 > 60)}' "$tmp/$name.t" && break
    done
    m_wall=$(awk '{print $1}' "$tmp/$name.times" | median)
    m_cpu=$(awk '{printf "%.2f\n", $2 + $3}' "$tmp/$name.times" | median)
    m_rss=$(awk '{printf "%.0f\n", $4 / 1024}' "$tmp/$name.times" | median)
}
cell() { echo "$m_wall / $m_cpu / $m_rss"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "?" }'; }

# Dumps: every vmcore with a truth.json, first file of each scenario.
dumps=()
for d in "$shared"/dumps/*/*/ "$src"/sample_dumps/*/; do
    [ -f "$d/truth.json" ] || continue
    f=$(find "$d" -maxdepth 1 -name 'vmcore*' -type f | sort | head -1)
    [ -n "$f" ] && dumps+=("$f")
done
IFS=: read -r -a extra <<<"${LH_BENCH_DUMPS:-}"
if [ -n "${LH_BENCH_LARGE:-}" ] && [ -x "$shared/dumpfactory/make-dump.sh" ]; then
    large=$build/large/many-waiters-$LH_BENCH_LARGE
    if [ ! -f "$large/vmcore.mkd-d31-zlib" ]; then
        # dumpfactory may be read-only: run a copy, with its cache next to the build.
        rm -rf "$build/large/dumpfactory" && mkdir -p "$build/large"
        cp -r "$shared/dumpfactory" "$build/large/dumpfactory" && chmod -R u+w "$build/large/dumpfactory"
        echo "making $large (dumpfactory, nthreads=$LH_BENCH_LARGE) ..." >&2
        DF_CACHE=$build/large/cache MEM=$((256 + LH_BENCH_LARGE / 10)) MKD_FORMATS=zlib \
            MODARGS=nthreads=$LH_BENCH_LARGE "$build/large/dumpfactory/make-dump.sh" \
            "$(basename "$(find "$shared/dumps" -mindepth 1 -maxdepth 1 -type d | sort | head -1)")" \
            many-waiters "$large" >"$build/large/make-dump.log" 2>&1 ||
            echo "could not make the large dump: see $build/large/make-dump.log" >&2
    fi
    extra+=("$large/vmcore.mkd-d31-zlib")
fi
for f in "${extra[@]}"; do [ -f "$f" ] && dumps+=("$f"); done

echo "lockhound benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $runs runs each"
echo "cells: median wall s / CPU s / peak RSS MB; x lh = peer wall / lockhound (DWARF) wall"
echo
printf '| %s | %s | %s | %s | %s | %s | %s |\n' "dump" "tasks (lh/crash/drgn)" \
    "lockhound DWARF" "lockhound --no-vmlinux" "crash 8.0.2 ps+bt+lists" "drgn 0.0.22 tasks+locks" \
    "x lh (crash, drgn)"
echo "|---|---|---|---|---|---|---|"
per_task=()
for f in "${dumps[@]}"; do
    dir=$(dirname "$f")
    name=$(basename "$dir")
    case "$dir" in "$src"/sample_dumps/*) name="sample/$name" ;; esac
    # lockhound exits 3 on the shared dumps (a filtered page): not an error here.
    release=$("$lh" info "$f" --no-vmlinux -q 2>/dev/null | sed -n 's/^ *RELEASE: //p' || true)
    vmlinux=${LOCKHOUND_VMLINUX:-${DEBUGINFO_CACHE:-$HOME/.cache/lockdump-debuginfo}/$release/vmlinux-$release}
    locks=()
    if [ -f "$dir/truth.json" ]; then
        mapfile -t locks < <(/usr/bin/python3 -c 'import json,sys
kinds = {"rwsem": "rw_semaphore", "sem": "semaphore"}
for l in json.load(open(sys.argv[1])).get("locks", []):
    print(l["addr"] + ":" + kinds.get(l["type"], l["type"]))' "$dir/truth.json")
    fi

    if [ -f "$vmlinux" ]; then
        measure lh "$lh" analyze -q "$f" "$vmlinux"
        lh_cell=$(cell) lh_wall=$m_wall
        lh_tasks=$("$lh" tasks -q "$f" "$vmlinux" 2>/dev/null | tail -1 | awk '{print $1}' || true)
    else
        lh_cell="no vmlinux" lh_wall=0 lh_tasks="?"
    fi
    measure lhb "$lh" analyze -q "$f" --no-vmlinux
    lhb_cell=$(cell)
    if [ "$lh_wall" = 0 ]; then lh_wall=$m_wall; fi
    if [ "$lh_tasks" = "?" ]; then
        lh_tasks=$("$lh" tasks -q "$f" --no-vmlinux 2>/dev/null | tail -1 | awk '{print $1}' || true)
    fi
    case "$name" in *many-waiters*) per_task+=("$name $lh_tasks $lh_wall $lh_cell") ;; esac

    crash_cell="not run" crash_tasks="-" crash_x="-"
    if [ $have_crash = 1 ] && [ -f "$vmlinux" ]; then
        {
            echo "ps"
            echo "foreach UN bt"
            for l in "${locks[@]}"; do
                addr=${l%%:*} type=${l#*:}
                case $type in
                    mutex) waiter=mutex_waiter ;;
                    rw_semaphore) waiter=rwsem_waiter ;;
                    *) waiter=semaphore_waiter ;;
                esac
                off=$(/usr/bin/python3 -c 'import drgn,sys
p=drgn.Program(); p.load_debug_info([sys.argv[1]])
print(drgn.offsetof(p.type("struct " + sys.argv[2]), "wait_list"))' "$vmlinux" "$type" 2>/dev/null || echo 0)
                echo "struct $type $addr"
                printf 'list -l %s.list -s %s.task -H %#x\n' "$waiter" "$waiter" $((addr + off))
            done
            echo "exit"
        } >"$tmp/crash.cmds"
        measure crash crash -s "$vmlinux" "$f" -i "$tmp/crash.cmds"
        if grep -q "PID" "$tmp/crash.out"; then
            crash_cell=$(cell)
            crash_tasks=$(awk '/^ *PID +PPID/ {p=1; next} p && /^[> ] +[0-9]/ {n++} /^ *$/ {p=0} END {print n+0}' "$tmp/crash.out")
            crash_x=$(ratio "$m_wall" "$lh_wall")
        else
            crash_cell="fails: $(grep -m1 -v '^$' "$tmp/crash.err" "$tmp/crash.out" | cut -d: -f2- | cut -c1-50)"
        fi
    fi

    drgn_cell="not run" drgn_tasks="-" drgn_x="-"
    if [ $have_drgn = 1 ] && [ -f "$vmlinux" ]; then
        measure drgn /usr/bin/python3 "$src/bench/drgn_locks.py" "$f" "$vmlinux" "${locks[@]}"
        if [ "$m_status" = 0 ]; then
            drgn_cell=$(cell)
            drgn_tasks=$(sed -n 's/^tasks //p' "$tmp/drgn.out")
            drgn_x=$(ratio "$m_wall" "$lh_wall")
        else
            drgn_cell="fails: $(tail -1 "$tmp/drgn.err" | cut -c1-50)"
        fi
    fi
    printf '| %s | %s / %s / %s | %s | %s | %s | %s | %s, %s |\n' "$name" "$lh_tasks" \
        "$crash_tasks" "$drgn_tasks" "$lh_cell" "$lhb_cell" "$crash_cell" "$drgn_cell" \
        "$crash_x" "$drgn_x"
done

if [ ${#per_task[@]} -gt 0 ]; then
    echo
    echo "Scale (lockhound analyze, DWARF): wall time per task"
    for p in "${per_task[@]}"; do
        read -r n tasks wall _ <<<"$p"
        awk -v n="$n" -v t="$tasks" -v w="$wall" \
            'BEGIN { if (t > 0) printf "  %s: %d tasks, %.2f s, %.0f us/task\n", n, t, w, w / t * 1e6 }'
    done
fi

if [ "${LH_BENCH_SKIP_MICRO:-0}" != 1 ]; then
    echo
    echo "Micro-benchmarks (build-bench/bench/lh_bench; Time = wall, CPU = process CPU):"
    # shellcheck disable=SC2086
    "$build/bench/lh_bench" ${LH_BENCH_MICRO_ARGS:---benchmark_min_time=0.3} 2>&1 |
        grep -v -e '^\*\*\*WARNING' -e '^Run on' -e '^CPU Caches' -e '^  L[123]' -e '^20[0-9][0-9]-'
fi
