// kallsyms_scan: the kallsyms tables found in the kernel image by their shape, for dumps whose
// VMCOREINFO does not name them (Linux before 6.0: Debian 11's 5.10, RHEL 8's 4.18).
//
//   KallsymsScan scan{.start = stext, .end = init_uts_ns, .stext = stext};
//   auto found = find_kallsyms_tables(kas, scan);   // candidate locations, likeliest first
//   auto syms = load_kallsyms_by_scan(kas, scan);   // the first candidate that decodes
//
// scripts/kallsyms emits, each table 8-byte aligned: [offsets][relative_base][num_syms][names]
// [markers][token_table][token_index] before 6.4, and [num_syms][names][markers][token_table]
// [token_index][offsets][relative_base] from 6.4 on. The token table always holds the digits
// as single-character tokens ("0\0" ... "9\0" at indexes 0x30..0x39), so the scan looks for that
// run, then requires, each from the one before:
//   - the token table: 0x30 NUL-terminated tokens back to its start, 256 forward to its end;
//   - the token index right after it, whose 256 u16 are exactly those tokens' offsets;
//   - the markers right before it: u32 (u64 on old kernels), 0 first, rising by >= 512;
//   - the names before the markers, and the u32 symbol count before them: the count fits the
//     number of markers, the first 256 names end at markers[1] and the last ones at the markers;
//   - the offsets (or addresses) where either layout puts them.
// decode_kallsyms then chooses the address encoding by where it puts _stext. Reads are bounded
// (max_bytes of image, fixed windows around a hit) and unreadable pages read as zeros.
#pragma once

#include <cstdint>
#include <vector>

#include "base/result.h"
#include "debuginfo/kallsyms.h"
#include "debuginfo/symbol_table.h"
#include "dump/virtual_memory.h"

namespace lockhound::debuginfo {

struct KallsymsScan {
    std::uint64_t start = 0;  // where the image's text begins (_stext)
    std::uint64_t end = 0;    // where its read-only data has ended (init_uts_ns is in .data)
    std::uint64_t stext = 0;  // _stext's address, to choose the encoding; 0 when unknown
    std::uint64_t max_bytes = 96ull << 20;
};

struct KallsymsScanResult {
    std::vector<KallsymsLocation> candidates;  // likeliest first
    std::uint64_t bytes_scanned = 0;
    std::uint64_t token_table = 0;  // where the token table was found (0: nowhere)
};

// The tables' locations, or an Error saying which step of the shape did not match.
[[nodiscard]] Result<KallsymsScanResult> find_kallsyms_tables(dump::VirtualMemory& memory,
                                                              const KallsymsScan& scan);

// The first candidate that decodes (with _stext where scan.stext says), finalized.
[[nodiscard]] Result<SymbolTable> load_kallsyms_by_scan(dump::VirtualMemory& memory,
                                                        const KallsymsScan& scan,
                                                        const KallsymsLimits& limits = {});

}  // namespace lockhound::debuginfo
