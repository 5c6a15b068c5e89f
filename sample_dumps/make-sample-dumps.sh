#!/bin/bash
# make-sample-dumps.sh [SCENARIO...]
#
# Regenerates lockhound's committed sample crash dumps: real kernel memory
# dumps of a QEMU/TCG guest running the stock Debian 12 kernel 6.1.0-56-amd64
# in which lhsample.ko (module/lhsample.c) built a known lock hang, filtered
# with makedumpfile -c -d 31, plus truth.json (ground truth) and serial.log.
#
#   SCENARIO   mmap-pileup | mixed-cycle | sem-chain | table-cycle | frozen-fs
#              (default: all)
#
# Run as root on Debian 12 (bookworm). Installs missing tools with apt-get,
# downloads the kernel packages with apt-get download, builds everything
# against the extracted headers (nothing kernel-related is installed on the
# host). KVM is not needed.
#
# Environment (all optional):
#   LHS_WORK          cache + scratch dir (default: sample_dumps/work, git-ignored)
#   LHS_OUT           where <scenario>/ output dirs go (default: sample_dumps)
#   LHS_KREL          kernel release (default 6.1.0-56-amd64; the module's
#                     wait-list walk assumes 6.1 generic locking)
#   LHS_MEM           guest RAM in MiB (default 96; the kernel needs >= ~88)
#   LHS_SMP           guest vCPUs (default 2)
#   LHS_NREADERS      mmap-pileup, frozen-fs: `cat /proc/PID/cmdline` readers (default 4)
#   LHS_NPS           mmap-pileup, frozen-fs: busybox `ps` readers (default 1)
#   LHS_FS_MB         frozen-fs: size of the ext4 ram disk in MiB (default 8;
#                     the guest gets 128 MiB unless LHS_MEM is set)
#   LHS_BOOT_TIMEOUT  seconds until the guest must be ready (default 300)
#   LHS_MAX_DUMP      max bytes of one vmcore (default 20000000)
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
MEM=${LHS_MEM:-96}
SMP=${LHS_SMP:-2}
NREADERS=${LHS_NREADERS:-4}
NPS=${LHS_NPS:-1}
FS_MB=${LHS_FS_MB:-8}
BOOT_TIMEOUT=${LHS_BOOT_TIMEOUT:-300}
MAX_DUMP=${LHS_MAX_DUMP:-20000000}
ALL_SCENARIOS="mmap-pileup mixed-cycle sem-chain table-cycle frozen-fs"
CMDLINE="console=ttyS0 quiet panic=-1 log_buf_len=1M${LHS_APPEND:+ $LHS_APPEND}"
PY=/usr/bin/python3
T_START=$(date +%s)

say() { echo "make-sample-dumps: $*" >&2; }
die() { echo "make-sample-dumps: ERROR: $*" >&2; exit 1; }

SCENARIOS=${*:-$ALL_SCENARIOS}
for s in $SCENARIOS; do
	case " $ALL_SCENARIOS " in *" $s "*) ;; *) die "unknown scenario '$s' (known: $ALL_SCENARIOS)" ;; esac
done
[ "$(id -u)" = 0 ] || die "run as root (apt-get, mknod in the initramfs staging dir)"
[ -r /etc/debian_version ] || die "this script expects a Debian 12 host"
COMMAND="sample_dumps/make-sample-dumps.sh${*:+ $*}"
for v in LHS_MEM LHS_SMP LHS_NREADERS LHS_NPS LHS_APPEND LHS_KREL; do
	[ -z "${!v:-}" ] || COMMAND="$v='${!v}' $COMMAND"
done

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
need "command -v gcc-12" gcc-12
need "command -v gcc" gcc
need "command -v make" make
need "test -e /usr/lib/x86_64-linux-gnu/libc.a" libc6-dev
need "command -v strings" binutils
need "command -v readelf" binutils
need "command -v gzip" gzip
need "test -x $PY" python3
need "command -v dpkg-deb" dpkg
need "command -v timeout" coreutils
need "command -v mkfs.ext4" e2fsprogs
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
# fetch PKG [VERSION] -> path of the cached .deb (downloaded if not cached)
fetch() {
	local pkg=$1 ver=${2:-} pat deb
	pat="${pkg}_${ver:-*}_*.deb"
	deb=$(cd "$WORK/debs" && ls $pat 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -z "$deb" ]; then
		say "apt-get download $pkg${ver:+=$ver}"
		(cd "$WORK/debs" && timeout 900 apt-get download -q "$pkg${ver:+=$ver}") >/dev/null 2>"$WORK/debs/.err" ||
			{ grep -v unsandboxed "$WORK/debs/.err" >&2; return 1; }
		deb=$(cd "$WORK/debs" && ls $pat 2>/dev/null | sort -V | tail -n 1 || true)
	fi
	[ -n "$deb" ] || return 1
	echo "$WORK/debs/$deb"
}
have_apt_lists() { apt-cache show "linux-headers-$KREL" >/dev/null 2>&1; }
if ! have_apt_lists && ! ls "$WORK/debs/linux-headers-${KREL}_"*.deb >/dev/null 2>&1; then
	say "apt lists do not know linux-headers-$KREL yet: apt-get update"
	timeout 900 apt-get update -q >&2 || die "apt-get update failed"
fi
IMG_DEB=$(ls "$WORK/debs/linux-image-${KREL}-unsigned_"*.deb "$WORK/debs/linux-image-${KREL}_"*.deb 2>/dev/null | sed -n 1p || true)
[ -n "$IMG_DEB" ] || IMG_DEB=$(fetch "linux-image-$KREL-unsigned" || fetch "linux-image-$KREL") ||
	die "cannot download linux-image-$KREL(-unsigned)"
KVER=$(dpkg-deb -f "$IMG_DEB" Version)
IMG_PKG=$(dpkg-deb -f "$IMG_DEB" Package)
HDR_DEB=$(fetch "linux-headers-$KREL" "$KVER") || die "cannot download linux-headers-$KREL=$KVER"
HDR_DEBS=$HDR_DEB
# its Depends: linux-headers-*-common (=) and linux-kbuild-* (>=)
for dep in $(dpkg-deb -f "$HDR_DEB" Depends | tr ',' '\n' | sed -n 's/^ *\(linux-\(headers\|kbuild\)-[^ ]*\).*/\1/p'); do
	d=$(fetch "$dep" "$KVER" || fetch "$dep") || die "cannot download $dep"
	HDR_DEBS="$HDR_DEBS $d"
done

KROOT=$WORK/kernel/$KREL
STAMP="$(basename "$IMG_DEB") $(for d in $HDR_DEBS; do basename "$d"; done | tr '\n' ' ')"
if [ ! -f "$KROOT/.extracted" ] || [ "$(cat "$KROOT/.extracted")" != "$STAMP" ]; then
	say "extracting $KREL packages"
	rm -rf "$KROOT"
	mkdir -p "$KROOT"
	for d in $IMG_DEB $HDR_DEBS; do dpkg-deb -x "$d" "$KROOT" || die "dpkg-deb -x $d"; done
	# the flavour Makefile includes the -common tree by absolute /usr/src path
	sed -i "s|^include /usr/src/|include $KROOT/usr/src/|" "$KROOT/usr/src/linux-headers-$KREL/Makefile"
	echo "$STAMP" > "$KROOT/.extracted"
fi
VMLINUZ=$KROOT/boot/vmlinuz-$KREL
KHDR=$KROOT/usr/src/linux-headers-$KREL
FWCFG=$(find "$KROOT/lib/modules/$KREL" -name 'qemu_fw_cfg.ko*' | sed -n 1p)
[ -f "$VMLINUZ" ] || die "no $VMLINUZ in $IMG_DEB"
[ -n "$FWCFG" ] || die "qemu_fw_cfg.ko not found in $IMG_DEB"

# ------------------------------------------------------------ module + helper
B=$WORK/build/$KREL
rm -rf "$B"
mkdir -p "$B/module"
cp "$HERE/module/lhsample.c" "$HERE/module/Kbuild" "$B/module/"
say "building lhsample.ko against $KHDR"
# -ffile-prefix-map keeps host paths out of the module's DWARF
KCF="-ffile-prefix-map=$B/module/=lhsample/ -ffile-prefix-map=$KROOT/="
timeout 600 make -C "$KHDR" M="$B/module" KCFLAGS="$KCF" modules >"$B/build.log" 2>&1 ||
	{ cat "$B/build.log" >&2; die "module build failed"; }
grep -E 'warning:' "$B/build.log" >&2 || true
timeout 120 gcc -static -O2 -Wall -Werror -pthread -o "$B/mapuser" "$HERE/guest/mapuser.c" ||
	die "mapuser build failed"
timeout 120 gcc -static -O2 -Wall -Werror -pthread -o "$B/fzuser" "$HERE/guest/fzuser.c" ||
	die "fzuser build failed"
# frozen-fs: the ext4 stack and the ram disk, decompressed
mkdir -p "$B/mod"
for m in crc16 mbcache jbd2 crc32c_generic ext4 brd; do
	f=$(find "$KROOT/lib/modules/$KREL" -name "$m.ko*" | sed -n 1p)
	[ -n "$f" ] || die "$m.ko not found in $IMG_DEB"
	case $f in
	*.ko) cp "$f" "$B/mod/$m.ko" ;;
	*.ko.xz) xz -dc "$f" > "$B/mod/$m.ko" ;;
	*.ko.zst) zstd -qdc "$f" > "$B/mod/$m.ko" ;;
	*.ko.gz) gzip -dc "$f" > "$B/mod/$m.ko" ;;
	esac
done
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
GCC_VER=$(gcc-12 --version | sed -n 1p)
VMLINUX=${LHS_VMLINUX:-}
if [ -z "$VMLINUX" ] && [ -f "$HOME/.cache/lockdump-debuginfo/$KREL/vmlinux-$KREL" ]; then
	VMLINUX=$HOME/.cache/lockdump-debuginfo/$KREL/vmlinux-$KREL
fi
GIT_REV=$(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo unknown)

# ------------------------------------------------------------ one scenario
run_scenario() {
	local scen=$1 R=$WORK/run/$1 IR t0 t1 t2 t3 out elf dump bid osrel problems
	t0=$(date +%s)
	say "== $scen"
	rm -rf "$R"
	mkdir -p "$R/initramfs"/{bin,dev,proc,sys,tmp} "$R/out"
	IR=$R/initramfs
	cp "$BUSYBOX" "$IR/bin/busybox"
	cp "$HERE/guest/init" "$IR/init"
	chmod 755 "$IR/init"
	cp "$B/module/lhsample.ko" "$B/qemu_fw_cfg.ko" "$IR/"
	[ "$scen" != mmap-pileup ] || cp "$B/mapuser" "$IR/mapuser"
	local mem=$MEM
	if [ "$scen" = frozen-fs ]; then
		cp "$B/fzuser" "$IR/fzuser"
		cp -r "$B/mod" "$IR/mod"
		# an ext4 image made on the host (journal included), copied to /dev/ram0 in the guest
		timeout 60 mkfs.ext4 -q -F -L lhsfs -E root_owner=0:0 "$IR/fs.img" "${FS_MB}M" ||
			die "mkfs.ext4 failed"
		[ -n "${LHS_MEM:-}" ] || mem=128	# ext4 + an 8 MiB ram disk need more than 96
	fi
	mknod -m 600 "$IR/dev/console" c 5 1
	printf 'SCENARIO=%s\nNREADERS=%s\nNPS=%s\nWAIT_D_S=60\nFS_MB=%s\n' "$scen" "$NREADERS" "$NPS" "$FS_MB" > "$IR/lhs.conf"
	(cd "$IR" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -9n) > "$R/initrd.gz"

	out=$R/out
	elf=$R/vmcore.elf
	t1=$(date +%s)
	timeout $((BOOT_TIMEOUT + 120)) $PY "$HERE/tools/guestdump.py" run --kernel "$VMLINUZ" \
		--initrd "$R/initrd.gz" --serial "$out/serial.log" --elf "$elf" \
		--mem "$mem" --smp "$SMP" --timeout "$BOOT_TIMEOUT" --append "$CMDLINE" ||
		{ tail -n 30 "$out/serial.log" >&2 || true; echo >&2; die "$scen: guest did not get ready / dump failed (log: $out/serial.log)"; }
	t2=$(date +%s)
	$PY "$HERE/tools/guestdump.py" elf-fix "$elf" || die "$scen: elf-fix"
	dump=$out/vmcore.mkd-d31-zlib
	rm -f "$dump"
	timeout 600 makedumpfile -c -d 31 "$elf" "$dump" > "$R/mkd.raw" 2>&1 ||
		{ cat "$R/mkd.raw" >&2; die "$scen: makedumpfile failed"; }
	{ echo "makedumpfile -c -d 31 vmcore.elf vmcore.mkd-d31-zlib"
	  tr '\r' '\n' < "$R/mkd.raw" | grep -vE '^\s*$|\[ *[0-9.]+ ?%\]'; } > "$out/makedumpfile.log"
	t3=$(date +%s)
	[ "${LHS_KEEP_ELF:-0}" = 1 ] || rm -f "$elf"
	chmod 644 "$dump"

	# verify the dump itself
	local size
	size=$(stat -c %s "$dump")
	[ "$size" -le "$MAX_DUMP" ] || die "$scen: dump is $size bytes > LHS_MAX_DUMP=$MAX_DUMP (lower LHS_MEM?)"
	osrel=$(strings -n 8 "$dump" | sed -n 's/^OSRELEASE=//p' | sed -n 1p)
	[ "$osrel" = "$KREL" ] || die "$scen: VMCOREINFO OSRELEASE='$osrel' in the dump, expected $KREL"
	bid=$(strings -n 8 "$dump" | sed -n 's/^BUILD-ID=//p' | sed -n 1p)
	[ -n "$bid" ] || die "$scen: no BUILD-ID in the dump's VMCOREINFO"

	$PY "$HERE/tools/serial2truth.py" --serial "$out/serial.log" --scenario "$scen" --outdir "$out" \
		--mem "$mem" --smp "$SMP" --cmdline "$CMDLINE" \
		--dbg-package "${IMG_PKG%-unsigned}-dbg_${KVER}_amd64.deb" --module-ko "$B/module/lhsample.ko" \
		--file "vmcore.mkd-d31-zlib=makedumpfile -c -d 31 of the QEMU dump-guest-memory ELF: kdump-compressed (diskdump), zlib, zero/cache/user/free pages excluded; VMCOREINFO included" \
		--file "serial.log=guest serial console (kernel log + init output); truth.json is parsed from it" \
		--file "makedumpfile.log=makedumpfile messages (1.7.2 warns that 6.1 is not in its tested list; the dump is complete)" \
		--prov "kernel_package=$(basename "$IMG_DEB")" --prov "kernel_version=$KVER" \
		--prov "build_id=$bid" --prov "vmcoreinfo_osrelease=$osrel" \
		--prov "qemu=$QEMU_VER" --prov "makedumpfile=$MKD_VER" --prov "busybox=$BB_VER" \
		--prov "module_compiler=$GCC_VER" \
		--prov "host=Debian $(cat /etc/debian_version)" \
		--prov "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" --prov "generator=$COMMAND" \
		--prov "generator_git_head=$GIT_REV" \
		--prov "dump_method=QMP stop + dump-guest-memory (ELF, paging off) of the running guest, program headers moved to offset 64, then makedumpfile -c -d 31" \
		--timing "boot_to_ready_and_dump=$((t2 - t1))" --timing "makedumpfile=$((t3 - t2))" \
		--timing "total=$(($(date +%s) - t0))" \
		> "$out/truth.json" ||
		die "$scen: truth checks failed (see PROBLEM lines; outputs kept in $out)"
	$PY - "$out/truth.json" <<'EOF' || die "$scen: truth.json sanity check failed"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["locks"] and t["blocked_tasks"] and t["root_cause"], "empty truth"
assert not t["checks"]["problems"] and t["checks"]["all_waiters_in_D"]
assert all(b["stack"] for b in t["blocked_tasks"]), "a D task without /proc/PID/stack"
EOF
	# optional independent check of the dump with drgn
	if [ -n "$VMLINUX" ] && $PY -c 'import drgn' 2>/dev/null; then
		cp "$B/module/lhsample.ko" "$out/lhsample.ko.tmp"
		mkdir -p "$R/verify" && mv "$out/lhsample.ko.tmp" "$R/verify/lhsample.ko"
		timeout 300 $PY "$HERE/tools/verify_dump.py" "$out" "$VMLINUX" "$R/verify/lhsample.ko" > "$R/verify.log" 2>&1 ||
			{ cat "$R/verify.log" >&2; die "$scen: drgn check of the dump against truth.json failed"; }
		say "$scen: drgn check: $(tail -n 1 "$R/verify.log")"
	else
		say "$scen: drgn check skipped (needs python3-drgn and LHS_VMLINUX)"
	fi
	# publish: the module of every dump is in its own directory; the shared top-level copy is
	# the one of mmap-pileup, mixed-cycle and sem-chain (same source, older build for those)
	cp "$B/module/lhsample.ko" "$out/lhsample.ko"
	case $scen in mmap-pileup | mixed-cycle | sem-chain) cp "$B/module/lhsample.ko" "$OUTROOT/lhsample.ko" ;; esac
	rm -rf "$OUTROOT/$scen.new"
	mv "$out" "$OUTROOT/$scen.new"
	rm -rf "$OUTROOT/$scen"
	mv "$OUTROOT/$scen.new" "$OUTROOT/$scen"
	say "$scen: $(stat -c %s "$OUTROOT/$scen/vmcore.mkd-d31-zlib") bytes, build id $bid, $(($(date +%s) - t0)) s -> $OUTROOT/$scen"
}

for s in $SCENARIOS; do run_scenario "$s"; done
say "done in $(($(date +%s) - T_START)) s"
