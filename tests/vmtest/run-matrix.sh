#!/bin/bash
# tests/vmtest/run-matrix.sh [CELL...]
#
# The real-kernel matrix: for every cell of cells.txt (a Debian kernel release),
# make the cell's dump with sample_dumps/make-sample-dumps.sh (QEMU/TCG, the stock
# Debian kernel, the scenario module built against its headers; reused from the
# cache when the release and the generator's files are unchanged), then run the
# built lockhound on it (BTF-only, and with the -dbg vmlinux where cells.txt says
# dwarf) and compare with the dump's truth.json (check.py). Known failures are
# listed in expected.txt: they are reported as XFAIL with their reason; an
# expected failure that passes is reported as XPASS (update expected.txt).
#
#   CELL   a release of cells.txt, or a substring of one (default: every cell)
#
# Ends with "N passed, N failed" (failed = unexpected failures). Exit status 1
# if anything failed unexpectedly (a module that does not build, a package that
# cannot be fetched, a wrong answer not listed in expected.txt).
#
# Environment (optional):
#   VMTEST_ROOT     cache root: packages, kernels, dumps, results
#                   (default ${XDG_CACHE_HOME:-~/.cache}/lockhound-vmtest)
#   VMTEST_DUMPS    where dumps go: <release>/<scenario>/ (default $VMTEST_ROOT/dumps)
#   VMTEST_PUBLISH  also symlink every dump as $VMTEST_PUBLISH/<release>/<scenario>
#   VMTEST_MODES    only these modes (btf, dwarf; comma list)
#   VMTEST_REBUILD  1: make the dumps again even if cached
#   LOCKHOUND       the binary (default build/release/src/cli/lockhound)
#   DEBUGINFO_CACHE where -dbg vmlinux files are kept (default ~/.cache/lockdump-debuginfo)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ROOT=${VMTEST_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/lockhound-vmtest}
DUMPS=${VMTEST_DUMPS:-$ROOT/dumps}
LOCKHOUND=${LOCKHOUND:-$REPO/build/release/src/cli/lockhound}
CELLS_FILE=${VMTEST_CELLS:-$HERE/cells.txt}
EXPECTED=${VMTEST_EXPECTED:-$HERE/expected.txt}
DBGCACHE=${DEBUGINFO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lockdump-debuginfo}
GEN=$REPO/sample_dumps/make-sample-dumps.sh
T0=$(date +%s)
mkdir -p "$ROOT/results" "$DUMPS"
ROOT=$(cd "$ROOT" && pwd)
DUMPS=$(cd "$DUMPS" && pwd)
say() { echo "vmtest: $*" >&2; }
[ -x "$LOCKHOUND" ] || { say "no lockhound binary at $LOCKHOUND (build first: scripts/build.sh)"; exit 1; }

# the generator's inputs: a dump is reused only if none of them changed
GEN_HASH=$(cd "$REPO/sample_dumps" && cat make-sample-dumps.sh module/lhsample.c module/Kbuild guest/init \
	guest/mapuser.c tools/serial2truth.py tools/guestdump.py | sha256sum | cut -c1-16)

# cells: release suite modes scenarios
mapfile -t CELLS < <(sed -e 's/#.*//' -e '/^\s*$/d' "$CELLS_FILE")
if [ $# -gt 0 ]; then
	sel=()
	for c in "${CELLS[@]}"; do
		for a in "$@"; do case "${c%% *}" in *"$a"*) sel+=("$c"); break ;; esac; done
	done
	[ ${#sel[@]} -gt 0 ] || { say "no cell of $CELLS_FILE matches: $*"; exit 1; }
	CELLS=("${sel[@]}")
fi

# expected.txt: release mode checks reason...   (mode and checks may be *)
expected_for() { # release mode -> "check check ...|reason" lines
	sed -e 's/#.*//' -e '/^\s*$/d' "$EXPECTED" 2>/dev/null | while read -r r m c why; do
		[ "$r" = "$1" ] || [ "$r" = '*' ] || continue
		[ "$m" = "$2" ] || [ "$m" = '*' ] || continue
		echo "${c//,/ }|$why"
	done
}

# -dbg vmlinux of a release: ../shared/dumps/get-debuginfo.sh when the shared tree is
# there, else (or when it cannot reach the package) the same download here through the
# generator's private apt configuration (every suite and its -security archive)
dbg_vmlinux() {
	local rel=$1 out tmp pkg
	out=$DBGCACHE/$rel/vmlinux-$rel
	if [ ! -s "$out" ] && [ -x "$REPO/../shared/dumps/get-debuginfo.sh" ]; then
		DEBUGINFO_CACHE=$DBGCACHE "$REPO/../shared/dumps/get-debuginfo.sh" "$rel" >/dev/null ||
			say "get-debuginfo.sh could not fetch it; trying the suites (with their -security archives) here"
	fi
	if [ ! -s "$out" ]; then
		pkg=linux-image-$rel-dbg
		tmp=$(mktemp -d -t vmtest-dbg.XXXXXX)
		say "apt-get download $pkg"
		local opts=""
		[ -f "$ROOT/apt/sources.list" ] && opts="-o Dir::Etc::SourceList=$ROOT/apt/sources.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$ROOT/apt/lists -o Dir::Cache=$ROOT/apt/cache"
		# shellcheck disable=SC2086
		(cd "$tmp" && { apt-get download -q "$pkg" || apt-get $opts download -q "$pkg"; }) >/dev/null 2>&1 ||
			{ rm -rf "$tmp"; say "cannot download package $pkg"; return 1; }
		mkdir -p "$tmp/x" "$DBGCACHE/$rel"
		dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp/x" --wildcards "./usr/lib/debug/boot/vmlinux-$rel" \
			"./usr/lib/debug/lib/modules/$rel/vmlinux" 2>/dev/null
		local real=$tmp/x/usr/lib/debug/boot/vmlinux-$rel
		[ -f "$real" ] && [ ! -L "$real" ] || real=$tmp/x/usr/lib/debug/lib/modules/$rel/vmlinux
		[ -f "$real" ] && mv "$real" "$out"
		rm -rf "$tmp"
		[ -s "$out" ] || { say "no vmlinux in $pkg"; return 1; }
	fi
	echo "$out"
}

ROWS=()
NPASS=0 NFAIL=0 NXFAIL=0 NXPASS=0
row() { ROWS+=("$(printf '%-26s %-5s %-6s %6s  %s' "$1" "$2" "$3" "$4" "$5")"); }

for cell in "${CELLS[@]}"; do
	read -r rel suite modes scen <<<"$cell"
	[ -z "${VMTEST_MODES:-}" ] || modes=$(echo "$modes" | tr ',' '\n' | grep -xF -f <(echo "$VMTEST_MODES" | tr ',' '\n') | paste -sd, -)
	[ -n "$modes" ] || continue
	name=${scen//,/+}
	dir=$DUMPS/$rel/$name
	res=$ROOT/results/$rel
	mkdir -p "$res"
	key="$rel $scen $GEN_HASH"
	say "== $rel ($suite): $scen"
	tg=$(date +%s)
	gen_err=""
	if [ "${VMTEST_REBUILD:-0}" != 1 ] && [ -f "$dir/truth.json" ] && [ "$(cat "$dir/.vmtest-key" 2>/dev/null)" = "$key" ]; then
		gen_time=cached
	else
		LHS_WORK=$ROOT LHS_OUT=$DUMPS/$rel LHS_KREL=$rel LHS_MAX_DUMP=${VMTEST_MAX_DUMP:-100000000} \
			LHS_BOOT_TIMEOUT=${VMTEST_BOOT_TIMEOUT:-600} "$GEN" "$scen" > "$res/generate.log" 2>&1
		rc=$?
		if [ $rc = 0 ] && [ -f "$dir/truth.json" ]; then
			echo "$key" > "$dir/.vmtest-key"
			gen_time=$(( $(date +%s) - tg ))s
		else
			# the compiler's messages / the package that could not be fetched / the guest's last words
			gen_err=$(grep -E 'error:|ERROR|cannot download|PROBLEM|LHS-FAIL|SETUP-FAILED' "$res/generate.log" | head -n 12)
			[ -n "$gen_err" ] || gen_err=$(tail -n 12 "$res/generate.log")
			gen_time=$(( $(date +%s) - tg ))s
		fi
	fi
	if [ -n "$gen_err" ]; then
		say "$rel: making the dump failed (log: $res/generate.log):"
		echo "$gen_err" | sed 's/^/    /' >&2
		for mode in ${modes//,/ }; do
			exp=$(expected_for "$rel" "$mode" | grep -E '^(\*|[^|]* )?build( [^|]*)?\|' | head -n 1)
			if [ -n "$exp" ]; then
				row "$rel" "$mode" XFAIL "$gen_time" "dump not made (expected: ${exp#*|})"; NXFAIL=$((NXFAIL + 1))
			else
				row "$rel" "$mode" FAIL "$gen_time" "dump not made: $(echo "$gen_err" | grep -m1 -E 'error:|ERROR' || echo "$gen_err" | tail -n 1)"
				NFAIL=$((NFAIL + 1))
			fi
		done
		continue
	fi
	if [ -n "${VMTEST_PUBLISH:-}" ]; then
		mkdir -p "$VMTEST_PUBLISH/$rel" && ln -sfn "$dir" "$VMTEST_PUBLISH/$rel/$name"
	fi
	dump=$(ls "$dir"/vmcore.mkd-* 2>/dev/null | head -n 1)
	for mode in ${modes//,/ }; do
		ta=$(date +%s.%N)
		case $mode in
		btf) dbg=(--no-vmlinux) ;;
		dwarf)
			vml=$(dbg_vmlinux "$rel" 2>"$res/dbg.log" | tail -n 1)
			if [ -z "$vml" ] || [ ! -s "$vml" ]; then
				row "$rel" "$mode" FAIL "-" "no -dbg vmlinux: $(grep -m1 -i 'cannot\|no ' "$res/dbg.log" || tail -n 1 "$res/dbg.log")"
				NFAIL=$((NFAIL + 1))
				continue
			fi
			dbg=(--vmlinux "$vml") ;;
		*) say "unknown mode $mode in $CELLS_FILE"; NFAIL=$((NFAIL + 1)); continue ;;
		esac
		timeout 300 "$LOCKHOUND" analyze "$dump" "${dbg[@]}" --format json > "$res/$mode.analyze.json" 2> "$res/$mode.analyze.err"
		arc=$?
		tb=$(date +%s.%N)
		timeout 300 "$LOCKHOUND" bt --state D "$dump" "${dbg[@]}" > "$res/$mode.bt.txt" 2>&1
		secs=$(awk -v a="$ta" -v b="$tb" 'BEGIN { printf "%.2f", b - a }')
		python3 "$HERE/check.py" --truth "$dir/truth.json" --analyze "$res/$mode.analyze.json" \
			--bt "$res/$mode.bt.txt" --out "$res/$mode.result.json" > "$res/$mode.check.txt" 2>&1
		failed=$(python3 -c 'import json,sys; print(" ".join(k for k, v in json.load(open(sys.argv[1]))["checks"].items() if not v["ok"]))' "$res/$mode.result.json" 2>/dev/null || echo analyze)
		[ $arc = 0 ] || [ $arc = 3 ] || failed="$failed exit$arc"
		errline=$(grep -v '^\s*$' "$res/$mode.analyze.err" | grep -vi 'using the dump' | head -n 1 | cut -c1-140)
		exp_checks="" exp_why=""
		while IFS='|' read -r c why; do
			exp_checks="$exp_checks $c"
			exp_why=${exp_why:-$why}
		done < <(expected_for "$rel" "$mode")
		unexpected="" xfailed="" nowpass=""
		for f in $failed; do
			case " $exp_checks " in *" $f "*|*" * "*) xfailed="$xfailed $f" ;; *) unexpected="$unexpected $f" ;; esac
		done
		set -f # exp_checks may be '*': a word, not a glob
		for c in $exp_checks; do
			[ "$c" = '*' ] && { [ -n "$failed" ] || nowpass="$nowpass (all)"; continue; }
			case " $failed " in *" $c "*) ;; *) nowpass="$nowpass $c" ;; esac
		done
		set +f
		if [ -n "$unexpected" ]; then
			st=FAIL; NFAIL=$((NFAIL + 1))
			detail="unexpected:${unexpected} — $( { [ $arc = 0 ] || [ $arc = 3 ] || echo "exit $arc: $errline"; grep -m1 FAIL "$res/$mode.check.txt" | sed 's/^ *//'; } | head -n 1 | cut -c1-160)"
		elif [ -n "$xfailed" ]; then
			st=XFAIL; NXFAIL=$((NXFAIL + 1))
			detail="known:${xfailed} (${exp_why})${errline:+ [$errline]}${nowpass:+; now passing:$nowpass — update expected.txt}"
		elif [ -n "$exp_checks" ]; then
			st=XPASS; NXPASS=$((NXPASS + 1))
			detail="expected to fail:${exp_checks} but passes — UPDATE tests/vmtest/expected.txt"
		else
			st=PASS; NPASS=$((NPASS + 1)); detail="exact (locks, holders, waiters, cycles, root, bt)"
		fi
		row "$rel" "$mode" "$st" "${secs}s" "$detail"
		say "$rel $mode: $st"
		sed 's/^/    /' "$res/$mode.check.txt" >&2
	done
	say "$rel: dump ${gen_time}, $dir"
done

{
	echo
	echo "vmtest matrix ($(date -u +%Y-%m-%dT%H:%MZ), lockhound $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'), $(( $(date +%s) - T0 )) s)"
	printf '%-26s %-5s %-6s %6s  %s\n' release mode result time detail
	printf '%s\n' "${ROWS[@]}"
	echo
	echo "XFAIL (known, tests/vmtest/expected.txt): $NXFAIL, XPASS: $NXPASS"
	[ $NXPASS = 0 ] || echo "XPASS: expected failures that now pass — update tests/vmtest/expected.txt"
	echo "$((NPASS + NXPASS)) passed, $NFAIL failed"
} | tee "$ROOT/results/summary.txt"
[ $NFAIL = 0 ]
