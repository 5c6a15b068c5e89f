#!/usr/bin/env bash
# Generates the fuzz seed corpora; nothing binary is committed.
#
#   tests/fuzz/make-seeds.sh BUILD_DIR OUT_DIR     # OUT_DIR/<target>/... for every fuzz target
#
# Seeds come from tests/support/dump_builder (via BUILD_DIR/tests/fuzz/lh_fuzz_seeds: small valid
# kdump-compressed files of every header version and codec, ELF cores, flattened streams, notes,
# VMCOREINFO text, page tables) and from the first blocks of the shared dumps
# (${LOCKHOUND_SHARED:-<repo>/../shared}/dumps): the kdump header, sub-header, bitmaps and the
# first page descriptors; the first records of a flattened stream; the VMCOREINFO text and the
# ELF notes cut out of each dump.
set -euo pipefail

build=${1:?usage: make-seeds.sh BUILD_DIR OUT_DIR}
out=${2:?usage: make-seeds.sh BUILD_DIR OUT_DIR}
src=$(cd "$(dirname "$0")/../.." && pwd)
shared=${LOCKHOUND_SHARED:-$src/../shared}

rm -rf "$out"
mkdir -p "$out"/{elf_core,diskdump,flattened,vmcoreinfo,notes,page_walk,kallsyms,btf,orc,lock_decode}
"$build/tests/fuzz/lh_fuzz_seeds" "$out"

# Little-endian integers at a byte offset of a file (x86_64 hosts only, like the dumps).
u32() { od -An -t u4 -j "$2" -N 4 "$1" | tr -d ' '; }
u64() { od -An -t u8 -j "$2" -N 8 "$1" | tr -d ' '; }
# LEN bytes at OFFSET of FILE.
cut_out() { dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=64K status=none; }

count=0
if [ -d "$shared/dumps" ]; then
    for f in "$shared"/dumps/*/*/vmcore*; do
        [ -f "$f" ] || continue
        name=$(basename "$(dirname "$f")")-$(basename "$f")
        if [ "$(head -c 8 "$f")" = "KDUMP   " ]; then
            bs=$(u32 "$f" 428)
            sub=$(u32 "$f" 432)
            bitmaps=$(u32 "$f" 436)
            # Header, sub-header (with VMCOREINFO and notes), both bitmaps, 16 page descriptors.
            cut_out "$f" 0 $(((1 + sub + bitmaps) * bs + 16 * 24)) >"$out/diskdump/$name"
            vi_off=$(u64 "$f" $((bs + 32)))
            vi_size=$(u64 "$f" $((bs + 40)))
            note_off=$(u64 "$f" $((bs + 48)))
            note_size=$(u64 "$f" $((bs + 56)))
            cut_out "$f" "$vi_off" "$vi_size" >"$out/vmcoreinfo/$name"
            cut_out "$f" "$note_off" "$note_size" >"$out/notes/$name"
            count=$((count + 1))
        elif [ "$(head -c 12 "$f")" = "makedumpfile" ]; then
            # The stream header and its first records (header, sub-header, notes, bitmaps).
            cut_out "$f" 0 65536 >"$out/flattened/$name"
            count=$((count + 1))
        fi
    done
fi
echo "seeds from $count shared dumps added"
for d in "$out"/*; do echo "  $(basename "$d"): $(find "$d" -type f | wc -l) seeds"; done
