// kallsyms: the kernel's own compressed symbol table, decoded from a dump's memory.
//
//   auto where = KallsymsLocation::from_vmcoreinfo(dump.vmcoreinfo);   // SYMBOL(kallsyms_*)
//   auto syms = load_kallsyms(kas, *where);                // finalized SymbolTable, ~94k symbols
//   syms->address_of("__start_BTF");                       // KASLR already applied
//
// Reads kallsyms_num_syms, kallsyms_token_index, kallsyms_token_table, kallsyms_offsets (or
// kallsyms_addresses), kallsyms_relative_base and kallsyms_names, each in a few bulk reads.
// Handles 6.1's two-byte "big symbol" lengths and every way the kernel has encoded the
// addresses (KallsymsEncoding). When the location carries _stext's address (VMCOREINFO has it),
// the encoding is the one that puts the symbol _stext there, as drgn chooses it; otherwise the
// tables present decide. The memory is untrusted: counts and lengths are capped and anything
// inconsistent is an Error (with the address for a failed read).
// kallsyms has no sizes: Symbol::size is 0, and lookups reach up to the next symbol.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "debuginfo/symbol_table.h"
#include "dump/virtual_memory.h"

namespace lockhound::dump {
class VmcoreInfo;
}

namespace lockhound::debuginfo {

// How kallsyms_offsets / kallsyms_addresses give a symbol's address.
enum class KallsymsEncoding : std::uint8_t {
    kAbsolute,            // kallsyms_addresses[i] (no CONFIG_KALLSYMS_BASE_RELATIVE)
    kBaseRelativePercpu,  // offsets[i] >= 0 absolute, else relative_base - 1 - offsets[i]
                          // (CONFIG_KALLSYMS_ABSOLUTE_PERCPU, x86_64 SMP before 6.15)
    kBaseRelative,        // relative_base + (u32)offsets[i]
    kPlaceRelative,       // &offsets[i] + offsets[i] (7.0+: no kallsyms_relative_base)
};
std::string_view to_string(KallsymsEncoding e);

struct KallsymsLocation {
    std::uint64_t names = 0;
    std::uint64_t num_syms = 0;
    std::uint64_t token_table = 0;
    std::uint64_t token_index = 0;
    // CONFIG_KALLSYMS_BASE_RELATIVE (every x86_64 kernel since 4.6); 7.0+ has no relative_base
    // (the offsets are place-relative):
    std::uint64_t offsets = 0;
    std::uint64_t relative_base = 0;
    // ... otherwise a table of absolute addresses:
    std::uint64_t addresses = 0;
    // CONFIG_KALLSYMS_ABSOLUTE_PERCPU: non-negative offsets are absolute (per-CPU symbols) and
    // negative ones count down from relative_base - 1. On for x86_64 SMP kernels. Decides only
    // when stext is unknown.
    bool absolute_percpu = true;
    // The address of _stext (VMCOREINFO's SYMBOL(_stext)); 0 when unknown.
    std::uint64_t stext = 0;

    // From the SYMBOL(kallsyms_*) lines (Linux >= 6.0); nullopt when a needed one is missing.
    static std::optional<KallsymsLocation> from_vmcoreinfo(const dump::VmcoreInfo& info);
    bool complete() const {
        return names && num_syms && token_table && token_index && (offsets || addresses);
    }
    // The encodings these tables allow, the likeliest first.
    std::vector<KallsymsEncoding> candidate_encodings() const;
};

struct KallsymsDecoded {
    std::size_t count = 0;
    KallsymsEncoding encoding = KallsymsEncoding::kAbsolute;
};

struct KallsymsLimits {
    std::uint32_t max_symbols = 4'000'000;
    std::uint64_t max_names_bytes = 128ull << 20;
};

// Adds the symbols (module "") to `out`, not finalized. Returns how many, and the encoding.
[[nodiscard]] Result<KallsymsDecoded> decode_kallsyms(dump::VirtualMemory& memory,
                                                      const KallsymsLocation& where,
                                                      SymbolTable& out,
                                                      const KallsymsLimits& limits = {});

// A finalized table with just the kernel's kallsyms.
[[nodiscard]] Result<SymbolTable> load_kallsyms(dump::VirtualMemory& memory,
                                                const KallsymsLocation& where,
                                                const KallsymsLimits& limits = {});

}  // namespace lockhound::debuginfo
