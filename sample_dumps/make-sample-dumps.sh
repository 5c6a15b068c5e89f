#!/bin/bash
# make-sample-dumps.sh [SCENARIO...]
#
# Makes real kernel memory dumps of a QEMU/TCG guest running a stock Debian
# kernel in which lhsample.ko (module/lhsample.c) built a known lock hang,
# filtered with makedumpfile, plus truth.json (ground truth) and serial.log.
# By default it regenerates lockhound's committed sample dumps (Debian 12
# 6.1.0-56-amd64); LHS_KREL picks any other Debian release and flavour:
#
#   bullseye 5.10.0-N-amd64, 5.10.0-N-rt-amd64     (5.10.0-46-rt's .debs are
#            listed but not downloadable; -32-rt works)
#   bookworm 6.1.0-N-{amd64,rt-amd64}, 6.12.x+deb12-{amd64,rt-amd64}
#   trixie   6.12.x+deb13-{amd64,rt-amd64}
#   sid      7.x+debN-{amd64,rt-amd64}
#
#   SCENARIO   mmap-pileup | mixed-cycle | sem-chain | abba | rwsem-readers
#              (default: the committed three, one boot each), or several
#              joined by commas to share one boot and one dump (output dir:
#              the names joined by '+'), or `matrix` = all five in one boot
#
# Run as root on Debian 12 (bookworm). Installs missing tools with apt-get,
# downloads the kernel packages with apt-get download (other suites through a
# private apt configuration in LHS_WORK/apt; the system's apt sources are not
# touched), builds everything against the extracted headers (nothing
# kernel-related is installed on the host). KVM is not needed.
#
# What differs between kernels (all handled here):
#   - sid's linux-image-REL is a meta package: vmlinuz is in linux-binary-REL,
#     the modules in linux-modules-REL (under /usr/lib/modules)
#   - modules are .ko, .ko.xz or .ko.zst
#   - the headers name the kernel's compiler (5.10: gcc-10, 6.12+deb13: gcc-14,
#     7.x: gcc-16); missing ones are replaced by the host's gcc-12 with the
#     Makefile-level CONFIG_ symbols that the newer compiler enabled forced off
#   - module BTF (CONFIG_DEBUG_INFO_BTF_MODULES) needs a pahole as new as the
#     kernel's CONFIG_PAHOLE_VERSION and a runnable resolve_btfids: otherwise
#     the module is built without BTF (lockhound does not need it)
#   - sid's kbuild binaries (modpost, objtool) need a newer glibc than
#     bookworm's: they are run through sid's own libc6 (downloaded, extracted
#     into the cache, loader called with --library-path)
#   - 7.x locks have first_waiter (a ring without head) instead of wait_list:
#     read from the headers, passed to the module as -DLHS_<KIND>_FIRST_WAITER
#   - makedumpfile 1.7.2 -d 31 drops live slab pages on 6.10+ (PG_slab moved
#     to page_type): dump level 23 there, 31 before
#
# Environment (all optional):
#   LHS_WORK          cache + scratch dir (default: sample_dumps/work, git-ignored)
#   LHS_OUT           where <scenario>/ output dirs go (default: sample_dumps)
#   LHS_KREL          kernel release (default 6.1.0-56-amd64)
#   LHS_MEM           guest RAM in MiB (default 96 for 6.1.0-56-amd64, else 160)
#   LHS_SMP           guest vCPUs (default 2)
#   LHS_NREADERS      mmap-pileup: `cat /proc/PID/cmdline` readers (default 4)
#   LHS_NPS           mmap-pileup: busybox `ps` readers (default 1)
#   LHS_BOOT_TIMEOUT  seconds until the guest must be ready (default 300)
#   LHS_BOOT_ATTEMPTS boots tried when the guest fails before the dump (default 3)
#   LHS_MAX_DUMP      max bytes of one vmcore (default 20000000)
#   LHS_MKD_LEVEL     makedumpfile dump level (default: 31 before 6.10, else 23)
#   LHS_KCC           compiler for the module (default: the kernel's gcc-N if
#                     installed, else gcc-12)
#   LHS_KEEP_ELF      1: keep the raw QEMU ELF dump in LHS_WORK/run/<scenario>
#   LHS_APPEND        extra guest kernel command line words
#   LHS_NO_APT        1: never call apt-get install (fail if a tool is missing)
#   LHS_VMLINUX       DWARF vmlinux of the kernel: if set (default: the
#                     lockdump-debuginfo cache, if present) and python3-drgn is
#                     installed, every dump is re-checked with tools/verify_dump.py
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${LHS_WORK:-$HERE/work}
OUTROOT=${LHS_OUT:-$HERE}
KREL=${LHS_KREL:-6.1.0-56-amd64}
[ "$KREL" = 6.1.0-56-amd64 ] && MEM=${LHS_MEM:-96} || MEM=${LHS_MEM:-160}
SMP=${LHS_SMP:-2}
NREADERS=${LHS_NREADERS:-4}
NPS=${LHS_NPS:-1}
BOOT_TIMEOUT=${LHS_BOOT_TIMEOUT:-300}
BOOT_ATTEMPTS=${LHS_BOOT_ATTEMPTS:-3}
MAX_DUMP=${LHS_MAX_DUMP:-20000000}
ALL_SCENARIOS="mmap-pileup mixed-cycle sem-chain abba rwsem-readers"
MATRIX_SET="abba,rwsem-readers,sem-chain,mixed-cycle,mmap-pileup"
CMDLINE="console=ttyS0 quiet panic=-1 log_buf_len=1M${LHS_APPEND:+ $LHS_APPEND}"
PY=/usr/bin/python3
T_START=$(date +%s)

say() { echo "make-sample-dumps: $*" >&2; }
die() { echo "make-sample-dumps: ERROR: $*" >&2; exit 1; }

SCENARIOS=${*:-mmap-pileup mixed-cycle sem-chain}
for arg in $SCENARIOS; do
	[ "$arg" != matrix ] || arg=$MATRIX_SET
	for s in ${arg//,/ }; do
		case " $ALL_SCENARIOS " in *" $s "*) ;; *) die "unknown scenario '$s' (known: $ALL_SCENARIOS, matrix)" ;; esac
	done
done
[ "$(id -u)" = 0 ] || die "run as root (apt-get, mknod in the initramfs staging dir)"
[ -r /etc/debian_version ] || die "this script expects a Debian 12 host"
COMMAND="sample_dumps/make-sample-dumps.sh${*:+ $*}"
for v in LHS_MEM LHS_SMP LHS_NREADERS LHS_NPS LHS_APPEND LHS_KREL LHS_MKD_LEVEL LHS_KCC; do
	[ -z "${!v:-}" ] || COMMAND="$v='${!v}' $COMMAND"
done
# kernel version X.Y as a number (6.12 -> 612) for the few version-dependent steps
KXY=$(echo "$KREL" | sed -n 's/^\([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p')
[ -n "$KXY" ] || die "LHS_KREL '$KREL' does not look like a kernel release"
KNUM=$(( $(echo "$KXY" | cut -d' ' -f1) * 100 + $(echo "$KXY" | cut -d' ' -f2) ))
KXYDOT=$(echo "$KXY" | tr ' ' .)
if [ -n "${LHS_MKD_LEVEL:-}" ]; then MKD_LEVEL=$LHS_MKD_LEVEL
elif [ "$KNUM" -ge 610 ]; then MKD_LEVEL=23
else MKD_LEVEL=31; fi
DUMPNAME=vmcore.mkd-d$MKD_LEVEL-zlib

# ------------------------------------------------------------ host tools
# tool -> Debian package; installed only if the tool is missing
need_pkgs=""
need() { # need TEST PACKAGE
	if ! eval "$1" >/dev/null 2>&1; then need_pkgs="$need_pkgs $2"; fi
}
need "command -v qemu-system-x86_64" qemu-system-x86
need "dpkg-query -W -f='\${Status}' busybox-static | grep -q 'install ok installed'" busybox-static
need "command -v makedumpfile" makedumpfile
need "command -v cpio" cpio
need "command -v pahole" dwarves
need "command -v gcc-12" gcc-12
need "command -v gcc" gcc
need "command -v make" make
need "test -e /usr/lib/x86_64-linux-gnu/libc.a" libc6-dev
need "command -v strings" binutils
need "command -v readelf" binutils
need "command -v gzip" gzip
need "command -v xz" xz-utils
need "command -v zstd" zstd
need "test -x $PY" python3
need "command -v dpkg-deb" dpkg
need "command -v timeout" coreutils
if [ -n "$need_pkgs" ]; then
	[ "${LHS_NO_APT:-0}" != 1 ] || die "missing packages:$need_pkgs (LHS_NO_APT=1)"
	say "installing:$need_pkgs"
	timeout 900 apt-get update -q >&2 || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive timeout 1800 apt-get install -y -q --no-install-recommends $need_pkgs >&2 ||
		die "apt-get install$need_pkgs failed"
fi
BUSYBOX=/bin/busybox
file_is_static() { readelf -l "$1" 2>/dev/null | grep -q 'INTERP' && return 1 || return 0; }
file_is_static "$BUSYBOX" || die "$BUSYBOX is not static (busybox-static package needed)"

mkdir -p "$WORK/debs" "$WORK/kernel" "$WORK/build" "$WORK/run"
WORK=$(cd "$WORK" && pwd)
mkdir -p "$OUTROOT"
OUTROOT=$(cd "$OUTROOT" && pwd)

# ------------------------------------------------------------ kernel packages
# A private apt configuration listing every Debian suite of the archive that
# the system's own sources use (bookworm kernels come from the system's apt).
SUITES_OPTS=""
suites_apt() {
	[ -z "$SUITES_OPTS" ] || return 0
	local dir=$WORK/apt uri key="signed-by=/usr/share/keyrings/debian-archive-keyring.gpg"
	uri=$( (sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
		sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' /etc/apt/sources.list 2>/dev/null || true) |
		grep -v security | sed -n 1p || true)
	[ -n "$uri" ] || die "no Debian archive in the system's apt sources"
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	{
		for s in bullseye bookworm trixie sid; do echo "deb [$key] $uri $s main"; done
		for s in bullseye bookworm trixie; do echo "deb [$key] ${uri%/debian*}/debian-security $s-security main"; done
	} > "$dir/sources.list"
	SUITES_OPTS="-o Dir::Etc::SourceList=$dir/sources.list -o Dir::Etc::SourceParts=/dev/null"
	SUITES_OPTS="$SUITES_OPTS -o Dir::State::Lists=$dir/lists -o Dir::Cache=$dir/cache"
	if [ -z "$(find "$dir/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null)" ]; then
		say "apt-get update (private configuration for bullseye, trixie, sid)"
		# shellcheck disable=SC2086
		timeout 900 apt-get $SUITES_OPTS update -q >"$dir/update.log" 2>&1 ||
			{ cat "$dir/update.log" >&2; die "apt-get update of the private suites configuration failed"; }
	fi
}
# fetch PKG [VERSION] -> path of the cached .deb (downloaded if not cached):
# the system's suites first, then the private one; a failure names PKG
fetch() {
	local pkg=$1 ver=${2:-} pat deb
	pat="${pkg}_${ver:-*}_*.deb"
	deb=$(cd "$WORK/debs" && ls $pat 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -z "$deb" ]; then
		say "apt-get download $pkg${ver:+=$ver}"
		if ! (cd "$WORK/debs" && timeout 900 apt-get download -q "$pkg${ver:+=$ver}") >/dev/null 2>"$WORK/debs/.err"; then
			suites_apt
			# shellcheck disable=SC2086
			(cd "$WORK/debs" && timeout 900 apt-get $SUITES_OPTS download -q "$pkg${ver:+=$ver}") >/dev/null 2>"$WORK/debs/.err" ||
				{ grep -v unsandboxed "$WORK/debs/.err" >&2; say "cannot download package $pkg${ver:+=$ver}"; return 1; }
		fi
		deb=$(cd "$WORK/debs" && ls $pat 2>/dev/null | sort -V | tail -n 1 || true)
	fi
	[ -n "$deb" ] || { say "package $pkg${ver:+=$ver}: downloaded, but no $pat"; return 1; }
	echo "$WORK/debs/$deb"
}
IMG_DEB=$(ls "$WORK/debs/linux-image-${KREL}-unsigned_"*.deb "$WORK/debs/linux-image-${KREL}_"*.deb 2>/dev/null | sed -n 1p || true)
[ -n "$IMG_DEB" ] || IMG_DEB=$(fetch "linux-image-$KREL-unsigned" 2>/dev/null || fetch "linux-image-$KREL") ||
	die "cannot download package linux-image-$KREL(-unsigned)"
KVER=$(dpkg-deb -f "$IMG_DEB" Version)
IMG_PKG=$(dpkg-deb -f "$IMG_DEB" Package)
IMG_DEBS=$IMG_DEB
# sid: linux-image-REL is a meta package (vmlinuz in linux-binary-REL, modules in linux-modules-REL)
if ! dpkg-deb -c "$IMG_DEB" | grep -E '/vmlinuz(-[^/]*)?$' >/dev/null; then
	for part in linux-binary linux-modules; do
		d=$(fetch "$part-$KREL" "$KVER") || die "cannot download package $part-$KREL=$KVER ($IMG_PKG has no vmlinuz)"
		IMG_DEBS="$IMG_DEBS $d"
	done
fi
HDR_DEB=$(fetch "linux-headers-$KREL" "$KVER") || die "cannot download package linux-headers-$KREL=$KVER"
HDR_DEBS=$HDR_DEB
# its Depends: linux-headers-*-common(-rt) (=), linux-kbuild-* (>=), sid: linux-base-REL (=)
for dep in $(dpkg-deb -f "$HDR_DEB" Depends | tr ',' '\n' | sed -n 's/^ *\(linux-\(headers\|kbuild\|base\)-[^ ]*\).*/\1/p'); do
	d=$(fetch "$dep" "$KVER" 2>/dev/null || fetch "$dep") || die "cannot download package $dep"
	HDR_DEBS="$HDR_DEBS $d"
done

KROOT=$WORK/kernel/$KREL
STAMP="$(for d in $IMG_DEBS $HDR_DEBS; do basename "$d"; done | tr '\n' ' ')"
if [ ! -f "$KROOT/.extracted" ] || [ "$(cat "$KROOT/.extracted")" != "$STAMP" ]; then
	say "extracting $KREL packages"
	rm -rf "$KROOT"
	mkdir -p "$KROOT"
	for d in $IMG_DEBS $HDR_DEBS; do dpkg-deb -x "$d" "$KROOT" || die "dpkg-deb -x $d"; done
	# the flavour Makefile includes the -common tree (and, 7.x, sets KBUILD_OUTPUT) by absolute /usr/src path
	sed -i "s|\([ =]\)/usr/src/|\1$KROOT/usr/src/|g" "$KROOT/usr/src/linux-headers-$KREL/Makefile"
	echo "$STAMP" > "$KROOT/.extracted"
fi
VMLINUZ=$(ls "$KROOT/boot/vmlinuz-$KREL" "$KROOT/usr/lib/modules/$KREL/vmlinuz" "$KROOT/lib/modules/$KREL/vmlinuz" 2>/dev/null | sed -n 1p || true)
KHDR=$KROOT/usr/src/linux-headers-$KREL
FWCFG=$(find "$KROOT/lib/modules/$KREL" "$KROOT/usr/lib/modules/$KREL" -name 'qemu_fw_cfg.ko*' 2>/dev/null | sed -n 1p || true)
[ -f "$VMLINUZ" ] || die "no vmlinuz-$KREL in $IMG_DEBS"
[ -n "$FWCFG" ] || die "qemu_fw_cfg.ko not found in $IMG_DEBS"
# the -common tree the flavour headers build against
KSRC=$(sed -n 's|^include \(.*\)/Makefile$|\1|p' "$KHDR/Makefile" | sed -n 1p)
[ -n "$KSRC" ] || KSRC=$KHDR
KCONF=$KHDR/include/config/auto.conf
kconf() { sed -n "s/^$1=//p" "$KCONF" | sed -n 1p; }

# ------------------------------------------------------------ module build settings
MAKEARGS=()
NOTES=()
# compiler: Debian's .kernelvariables names the kernel's own (CC = ... gcc-N)
KGCC=$(sed -n 's/^CC = .*\(gcc-[0-9][0-9.]*\)$/\1/p' "$KHDR/.kernelvariables" 2>/dev/null | sed -n 1p)
KCC=${LHS_KCC:-}
if [ -z "$KCC" ]; then
	if [ -n "$KGCC" ] && command -v "$KGCC" >/dev/null; then KCC=$KGCC; else KCC=gcc-12; fi
fi
MAKEARGS+=("CC=$KCC")
gccnum() { printf '%s\n' __GNUC__ __GNUC_MINOR__ __GNUC_PATCHLEVEL__ | $1 -E -P -x c - | tr '\n' ' ' | awk '{ printf "%d%02d%02d", $1, $2, $3 }'; }
HV=$(gccnum "$KCC")
KV=$(kconf CONFIG_GCC_VERSION)
if [ -n "$KV" ] && [ "$KV" != "$HV" ]; then
	NOTES+=("kernel built with gcc $KV${KGCC:+ ($KGCC)}, lhsample.ko with $KCC $HV")
	MAKEARGS+=("CONFIG_GCC_VERSION=$HV")
fi
if [ -n "$KV" ] && [ "$KV" -gt "$HV" ]; then
	# Kconfig symbols the newer compiler switched on and that the Makefiles act on
	ccok() { echo 'int x;' | $KCC -Werror "$@" -x c - -c -o /dev/null 2>/dev/null; }
	off() { [ "$(kconf "$1")" != y ] || MAKEARGS+=("$1="); }
	ccok -fmin-function-alignment=16 || { off CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT; off CONFIG_CC_HAS_SANE_FUNCTION_ALIGNMENT; }
	ccok -finline-stringops=memset || off CONFIG_CC_OPT_INLINE_MEMSET
	[ "$HV" -ge 130100 ] || off CONFIG_CC_HAS_ASSUME
	[ "$HV" -ge 150100 ] || off CONFIG_CC_HAS_COUNTED_BY
	[ "$HV" -ge 160000 ] || off CONFIG_CC_HAS_COUNTED_BY_PTR
	echo 'char t[][4] __attribute__((__nonstring__)) = { };' | $KCC -Werror -x c - -c -o /dev/null 2>/dev/null ||
		off CONFIG_CC_HAS_MULTIDIMENSIONAL_NONSTRING
	# asm goto with outputs is marked broken before 11.5, 12.4, 13.3 (init/Kconfig)
	if [ "$HV" -lt 110500 ] || { [ "$HV" -ge 120000 ] && [ "$HV" -lt 120400 ]; } ||
		{ [ "$HV" -ge 130000 ] && [ "$HV" -lt 130300 ]; }; then
		off CONFIG_CC_HAS_ASM_GOTO_OUTPUT; off CONFIG_CC_HAS_ASM_GOTO_TIED_OUTPUT
	fi
fi
# sid's kbuild binaries may need a newer glibc: run them with that suite's own libc6
KBUILD=$(cd "$KHDR/scripts/.." && pwd -P)
runs() { [ -x "$1" ] && ! ldd "$1" 2>&1 | grep 'not found' >/dev/null; }  # no grep -q: SIGPIPE + pipefail
for t in scripts/basic/fixdep scripts/mod/modpost scripts/mod/modpost.real-lsb-64 tools/objtool/objtool \
	tools/objtool/objtool.real-x86 scripts/genksyms/genksyms scripts/gendwarfksyms/gendwarfksyms; do
	f=$KBUILD/$t
	[ -e "$f" ] && ! [ -e "$f.debian" ] || continue
	runs "$f" && continue
	glibc=$(ldd "$f" 2>&1 | sed -n "s/.*version \`GLIBC_\([0-9.]*\)' not found.*/\1/p" | sort -V | tail -n 1)
	[ -n "$glibc" ] || die "kbuild tool $t does not run on this host: $(ldd "$f" 2>&1 | grep 'not found' | sed -n 1p)"
	LIBC=$WORK/libc6-$glibc
	if [ ! -x "$LIBC/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ]; then
		suites_apt
		# the suite whose libc6 is at least that new (sid normally)
		cand=$(apt-cache $SUITES_OPTS madison libc6 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' | sort -V | tail -n 1)
		[ -n "$cand" ] || die "no libc6 in the Debian suites (needed for $t)"
		d=$(fetch libc6 "$cand") || die "cannot download package libc6=$cand (needed for kbuild tool $t)"
		rm -rf "$LIBC" && mkdir -p "$LIBC" && dpkg-deb -x "$d" "$LIBC"
		NOTES+=("kbuild tools need glibc $glibc: run with $(basename "$d")")
	fi
	L=$LIBC/usr/lib/x86_64-linux-gnu
	mv "$f" "$f.debian"
	printf '#!/bin/sh\n# %s needs glibc %s: run it with that libc6 (made by make-sample-dumps.sh)\nexec "%s" --library-path "%s:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu" "$0.debian" "$@"\n' \
		"$t" "$glibc" "$L/ld-linux-x86-64.so.2" "$L" > "$f"
	chmod 755 "$f"
	runs "$f.debian" || "$L/ld-linux-x86-64.so.2" --verify "$f.debian" >/dev/null 2>&1 || true
	say "kbuild $t: runs with libc6 $glibc through a wrapper"
done
# module BTF: needs a runnable resolve_btfids and pahole >= CONFIG_PAHOLE_VERSION
if [ "$(kconf CONFIG_DEBUG_INFO_BTF_MODULES)" = y ]; then
	rb=$KHDR/tools/bpf/resolve_btfids/resolve_btfids
	pv=$({ pahole --version 2>/dev/null || true; } | sed -n 's/^v\([0-9]*\)\.\([0-9]*\).*/\1\2/p')
	if ! runs "$rb" || [ -z "$pv" ] || [ "$pv" -lt "$(kconf CONFIG_PAHOLE_VERSION || echo 0)" ]; then
		MAKEARGS+=("CONFIG_DEBUG_INFO_BTF_MODULES=")
		NOTES+=("lhsample.ko built without BTF (needs pahole $(kconf CONFIG_PAHOLE_VERSION), host has ${pv:-none}; resolve_btfids $(runs "$rb" && echo runs || echo 'does not run'))")
	fi
fi
# 7.x: the lock types have first_waiter (ring without head) instead of wait_list
LHSDEFS=""
grep -qs 'first_waiter' "$KSRC/include/linux/mutex_types.h" "$KSRC/include/linux/mutex.h" && LHSDEFS="$LHSDEFS -DLHS_MUTEX_FIRST_WAITER"
grep -qs 'first_waiter' "$KSRC/include/linux/rwsem.h" && LHSDEFS="$LHSDEFS -DLHS_RWSEM_FIRST_WAITER"
grep -qs 'first_waiter' "$KSRC/include/linux/semaphore.h" && LHSDEFS="$LHSDEFS -DLHS_SEM_FIRST_WAITER"

# ------------------------------------------------------------ module + helper
B=$WORK/build/$KREL
rm -rf "$B"
mkdir -p "$B/module"
cp "$HERE/module/lhsample.c" "$HERE/module/Kbuild" "$B/module/"
say "building lhsample.ko against $KHDR"
# -ffile-prefix-map keeps host paths out of the module's DWARF
KCF="-ffile-prefix-map=$B/module/=lhsample/ -ffile-prefix-map=$KROOT/=$LHSDEFS"
say "make${MAKEARGS[*]:+ ${MAKEARGS[*]}}${LHSDEFS:+ KCFLAGS+=$LHSDEFS}"
timeout 600 make -C "$KHDR" M="$B/module" KCFLAGS="$KCF" "${MAKEARGS[@]}" modules >"$B/build.log" 2>&1 ||
	{ grep -E 'error|Error|warning: |undefined' "$B/build.log" | head -n 40 >&2; tail -n 5 "$B/build.log" >&2
	  die "lhsample.ko build for $KREL failed (full log: $B/build.log)"; }
grep -E 'warning:' "$B/build.log" >&2 || true
timeout 120 gcc -static -O2 -Wall -Werror -pthread -o "$B/mapuser" "$HERE/guest/mapuser.c" ||
	die "mapuser build failed"
case $FWCFG in
*.ko) cp "$FWCFG" "$B/qemu_fw_cfg.ko" ;;
*.ko.xz) xz -dc "$FWCFG" > "$B/qemu_fw_cfg.ko" ;;
*.ko.zst) zstd -qdc "$FWCFG" > "$B/qemu_fw_cfg.ko" ;;
*.ko.gz) gzip -dc "$FWCFG" > "$B/qemu_fw_cfg.ko" ;;
esac

QEMU_VER=$(qemu-system-x86_64 --version | sed -n 1p)
MKD_VER=$(makedumpfile -v 2>&1 | sed -n 's/^\(makedumpfile: version .*\)/\1/p' | sed -n 1p)
[ -n "$MKD_VER" ] || MKD_VER=$(makedumpfile -v 2>&1 | sed -n 1p)
BB_VER=$($BUSYBOX 2>&1 | sed -n 1p | cut -d' ' -f1-2)
GCC_VER=$($KCC --version | sed -n 1p)
VMLINUX=${LHS_VMLINUX:-}
if [ -z "$VMLINUX" ] && [ -f "$HOME/.cache/lockdump-debuginfo/$KREL/vmlinux-$KREL" ]; then
	VMLINUX=$HOME/.cache/lockdump-debuginfo/$KREL/vmlinux-$KREL
fi
GIT_REV=$(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo unknown)

# ------------------------------------------------------------ one scenario
# run_scenario ARG: ARG is one scenario, a comma list (one boot) or "matrix"
run_scenario() {
	local arg=$1 scen name R IR t0 t1 t2 t3 out elf dump bid osrel size what
	[ "$arg" != matrix ] || arg=$MATRIX_SET
	scen=$arg
	name=${1//,/+}
	R=$WORK/run/$KREL/$name
	t0=$(date +%s)
	say "== $name ($KREL)"
	rm -rf "$R"
	mkdir -p "$R/initramfs"/{bin,dev,proc,sys,tmp} "$R/out"
	IR=$R/initramfs
	cp "$BUSYBOX" "$IR/bin/busybox"
	cp "$HERE/guest/init" "$IR/init"
	chmod 755 "$IR/init"
	cp "$B/module/lhsample.ko" "$B/qemu_fw_cfg.ko" "$IR/"
	case ",$scen," in *,mmap-pileup,*) cp "$B/mapuser" "$IR/mapuser" ;; esac
	mknod -m 600 "$IR/dev/console" c 5 1
	printf 'SCENARIO=%s\nNREADERS=%s\nNPS=%s\nWAIT_D_S=60\n' "$scen" "$NREADERS" "$NPS" > "$IR/lhs.conf"
	(cd "$IR" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -9n) > "$R/initrd.gz"

	out=$R/out
	elf=$R/vmcore.elf
	t1=$(date +%s)
	# A guest that fails before the dump is booted again, up to BOOT_ATTEMPTS times; each failed
	# attempt's log is kept as serial.log.failed-N. Under TCG both kinds of failure seen are
	# races: SMP text patching trapping on an int3 during boot ("Oops: int3" in
	# ktime_get_update_offsets_now on 7.2), and a scenario whose threads did not reach the
	# intended state in time on a loaded host (LHS-FAIL SETUP-FAILED on 5.10: a reader got the
	# rwsem before the writer had queued).
	local attempt=1
	until timeout $((BOOT_TIMEOUT + 120)) $PY "$HERE/tools/guestdump.py" run --kernel "$VMLINUZ" \
		--initrd "$R/initrd.gz" --serial "$out/serial.log" --elf "$elf" \
		--mem "$MEM" --smp "$SMP" --timeout "$BOOT_TIMEOUT" --append "$CMDLINE"; do
		tail -n 30 "$out/serial.log" >&2 || true
		echo >&2
		if [ "$attempt" -ge "$BOOT_ATTEMPTS" ]; then
			die "$name: guest did not get ready / dump failed in $attempt attempt(s) (log: $out/serial.log)"
		fi
		mv "$out/serial.log" "$out/serial.log.failed-$attempt" 2>/dev/null || true
		rm -f "$elf"
		say "$name: the guest failed before the dump (attempt $attempt of $BOOT_ATTEMPTS; log kept as $out/serial.log.failed-$attempt): booting it again"
		attempt=$((attempt + 1))
	done
	t2=$(date +%s)
	$PY "$HERE/tools/guestdump.py" elf-fix "$elf" || die "$name: elf-fix"
	dump=$out/$DUMPNAME
	rm -f "$dump"
	timeout 600 makedumpfile -c -d "$MKD_LEVEL" "$elf" "$dump" > "$R/mkd.raw" 2>&1 ||
		{ cat "$R/mkd.raw" >&2; die "$name: makedumpfile failed"; }
	{ echo "makedumpfile -c -d $MKD_LEVEL vmcore.elf $DUMPNAME"
	  tr '\r' '\n' < "$R/mkd.raw" | grep -vE '^\s*$|\[ *[0-9.]+ ?%\]'; } > "$out/makedumpfile.log"
	t3=$(date +%s)
	[ "${LHS_KEEP_ELF:-0}" = 1 ] || rm -f "$elf"
	chmod 644 "$dump"

	# verify the dump itself
	size=$(stat -c %s "$dump")
	[ "$size" -le "$MAX_DUMP" ] || die "$name: dump is $size bytes > LHS_MAX_DUMP=$MAX_DUMP (lower LHS_MEM?)"
	osrel=$(strings -n 8 "$dump" | sed -n 's/^OSRELEASE=//p' | sed -n 1p)
	[ "$osrel" = "$KREL" ] || die "$name: VMCOREINFO OSRELEASE='$osrel' in the dump, expected $KREL"
	bid=$(strings -n 8 "$dump" | sed -n 's/^BUILD-ID=//p' | sed -n 1p)
	[ -n "$bid" ] || die "$name: no BUILD-ID in the dump's VMCOREINFO"

	if [ "$MKD_LEVEL" = 31 ]; then what="zero/cache/user/free pages excluded"
	else what="dump level $MKD_LEVEL: zero/cache/free pages excluded, user pages kept (makedumpfile 1.7.2 -d 31 drops live slab pages on 6.10+)"; fi
	cp "$B/module/lhsample.ko" "$out/lhsample.ko"
	local notes=() n
	for n in "${NOTES[@]}"; do notes+=(--prov "build_note=$n"); done
	[ "$OUTROOT" = "$HERE" ] || notes+=(--file "lhsample.ko=the scenario module as loaded in the guest (with DWARF)")
	$PY "$HERE/tools/serial2truth.py" --serial "$out/serial.log" --scenario "$scen" --outdir "$out" \
		--mem "$MEM" --smp "$SMP" --cmdline "$CMDLINE" \
		--dbg-package "${IMG_PKG%-unsigned}-dbg_${KVER}_amd64.deb" --module-ko "$B/module/lhsample.ko" \
		--module-note "lhsample.ko built from sample_dumps/module/lhsample.c; the module as loaded (with DWARF) is lhsample.ko next to the dump (module_sha256); its symbols are also in the dump's module kallsyms" \
		--file "$DUMPNAME=makedumpfile -c -d $MKD_LEVEL of the QEMU dump-guest-memory ELF: kdump-compressed (diskdump), zlib, $what; VMCOREINFO included" \
		--file "serial.log=guest serial console (kernel log + init output); truth.json is parsed from it" \
		--file "makedumpfile.log=makedumpfile messages (1.7.2 warns that newer kernels are not in its tested list)" \
		--prov "kernel_package=$(basename "$IMG_DEB")" --prov "kernel_version=$KVER" \
		--prov "build_id=$bid" --prov "vmcoreinfo_osrelease=$osrel" \
		--prov "qemu=$QEMU_VER" --prov "makedumpfile=$MKD_VER" --prov "busybox=$BB_VER" \
		--prov "module_compiler=$GCC_VER" --prov "module_make_args=${MAKEARGS[*]}${LHSDEFS:+ KCFLAGS+=$LHSDEFS}" \
		"${notes[@]}" \
		--prov "host=Debian $(cat /etc/debian_version)" \
		--prov "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" --prov "generator=$COMMAND" \
		--prov "generator_git_head=$GIT_REV" \
		--prov "dump_method=QMP stop + dump-guest-memory (ELF, paging off) of the running guest, program headers moved to offset 64, then makedumpfile -c -d $MKD_LEVEL" \
		--timing "boot_to_ready_and_dump=$((t2 - t1))" --timing "makedumpfile=$((t3 - t2))" \
		--timing "total=$(($(date +%s) - t0))" \
		> "$out/truth.json" ||
		die "$name: truth checks failed (see PROBLEM lines; outputs kept in $out)"
	$PY - "$out/truth.json" <<'EOF' || die "$name: truth.json sanity check failed"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["locks"] and t["blocked_tasks"] and t["root_cause"], "empty truth"
assert not t["checks"]["problems"] and t["checks"]["all_waiters_in_D"]
assert all(b["stack"] for b in t["blocked_tasks"]), "a D task without /proc/PID/stack"
EOF
	# optional independent check of the dump with drgn
	if [ -n "$VMLINUX" ] && $PY -c 'import drgn' 2>/dev/null; then
		mkdir -p "$R/verify" && cp "$B/module/lhsample.ko" "$R/verify/lhsample.ko"
		if timeout 300 $PY "$HERE/tools/verify_dump.py" "$out" "$VMLINUX" "$R/verify/lhsample.ko" > "$R/verify.log" 2>&1; then
			say "$name: drgn check: $(tail -n 1 "$R/verify.log")"
		elif [ "$KREL" = 6.1.0-56-amd64 ]; then
			cat "$R/verify.log" >&2; die "$name: drgn check of the dump against truth.json failed"
		else	# verify_dump.py knows the 6.1 generic layouts only
			say "$name: drgn check not applicable here: $(tail -n 1 "$R/verify.log")"
		fi
	else
		say "$name: drgn check skipped (needs python3-drgn and LHS_VMLINUX)"
	fi
	# publish (the committed samples share sample_dumps/lhsample.ko; others keep it in their dir)
	if [ "$OUTROOT" = "$HERE" ]; then
		cp "$B/module/lhsample.ko" "$OUTROOT/lhsample.ko"
		rm -f "$out/lhsample.ko"
	fi
	rm -rf "$OUTROOT/$name.new"
	mv "$out" "$OUTROOT/$name.new"
	rm -rf "$OUTROOT/$name"
	mv "$OUTROOT/$name.new" "$OUTROOT/$name"
	say "$name: $(stat -c %s "$OUTROOT/$name/$DUMPNAME") bytes, build id $bid, $(($(date +%s) - t0)) s -> $OUTROOT/$name"
}

for s in $SCENARIOS; do run_scenario "$s"; done
say "done in $(($(date +%s) - T_START)) s"
