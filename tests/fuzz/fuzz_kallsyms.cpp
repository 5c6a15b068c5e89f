// Fuzz target: the kernel's compressed symbol table (decode_kallsyms) read from memory the input
// describes, then the SymbolTable made of it (finalize, lookups by name and by address).
//
// Input: a 32-byte header, then an image mapped at kBase. Header: seven u32 offsets from kBase
// (num_syms, names, token_table, token_index, offsets, relative_base, addresses) and u32 flags
// (bit 0: a table of absolute addresses instead of base-relative offsets; bit 1: no absolute
// per-CPU symbols; bit 2: find the tables by their shape, kallsyms_scan.h, with _stext at
// 0xffffffff81000000 + h[6]). Offsets beyond the image make reads fail, as a dump's missing page
// would.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "debuginfo/kallsyms.h"
#include "debuginfo/kallsyms_scan.h"
#include "fuzz_image_memory.h"

using namespace lockhound;

namespace {
constexpr std::uint64_t kBase = 0xffffffff82000000ull;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr std::size_t kHeader = 32;
    if (size < kHeader) return 0;
    std::uint32_t h[8];
    std::memcpy(h, data, sizeof h);
    fuzz::ImageMemory mem(
        kBase, std::span(reinterpret_cast<const std::byte*>(data) + kHeader, size - kHeader));
    debuginfo::KallsymsLocation where;
    where.num_syms = kBase + h[0];
    where.names = kBase + h[1];
    where.token_table = kBase + h[2];
    where.token_index = kBase + h[3];
    if (h[7] & 1) {
        where.addresses = kBase + h[6];
    } else {
        where.offsets = kBase + h[4];
        where.relative_base = kBase + h[5];
    }
    where.absolute_percpu = (h[7] & 2) == 0;
    // Small limits keep each input fast; the decoder's checks are the same at any size.
    debuginfo::KallsymsLimits limits{.max_symbols = 1u << 16, .max_names_bytes = 1u << 20};
    auto table = (h[7] & 4) != 0
                     ? debuginfo::load_kallsyms_by_scan(mem,
                                                        {.start = kBase,
                                                         .end = kBase + (size - kHeader),
                                                         .stext = 0xffffffff81000000ull + h[6]},
                                                        limits)
                     : debuginfo::load_kallsyms(mem, where, limits);
    if (!table) return 0;
    const auto& syms = table->symbols();
    (void)table->address_of("_stext");
    (void)table->find(syms.empty() ? "" : syms.back().name);
    for (std::size_t i = 0; i < syms.size() && i < 16; ++i) {
        std::uint64_t a = syms[i * syms.size() / 16].address;
        for (std::uint64_t at : {a, a + 1, a - 1, a + 0x100000}) {
            if (auto r = table->lookup(at)) (void)r->format();
            if (auto r = table->lookup_backtrace(at)) (void)r->format();
        }
    }
    return 0;
}
