// Fuzz target: ORC unwind tables and entries (src/kernel/orc_*): raw entries in every format,
// format detection from a header hash and from the entries' shape, a table built from raw
// self-relative IPs (sorting, validation), the kernel's lookup blocks, IP lookups, a module's
// table read from memory (load_module_orc), the kernel + module table set, and the kernel's table
// read on demand from memory (OrcTable::on_demand).
//
// Input: u8 format (1..4), u8 flags, u16 entry count n, u32 text size (low 24 bits); then n
// int32 IPs, n 6-byte entries, then u32 lookup-block words; the whole input is also mapped as
// memory for the module table.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "fuzz_image_memory.h"
#include "kernel/orc_entry.h"
#include "kernel/orc_loader.h"
#include "kernel/orc_table.h"

using namespace lockhound;
using namespace lockhound::kernel;

namespace {
constexpr std::uint64_t kIpTable = 0xffffffff81e00000ull;  // where the IP table "is"
constexpr std::uint64_t kText = 0xffffffff81000000ull;
constexpr std::uint64_t kModule = 0xffffffffc0000000ull;  // the input mapped for the module
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr std::size_t kHeader = 8;
    if (size < kHeader) return 0;
    const auto* bytes = reinterpret_cast<const std::byte*>(data);
    const auto format = static_cast<OrcFormat>(1 + data[0] % 4);
    const std::uint8_t flags = data[1];
    std::uint16_t n = 0;
    std::uint32_t text_size = 0;
    std::memcpy(&n, data + 2, 2);
    std::memcpy(&text_size, data + 4, 4);
    text_size &= 0xffffff;  // up to 16 MiB of text, as a kernel has: 64k lookup blocks
    std::span<const std::byte> rest(bytes + kHeader, size - kHeader);
    n = static_cast<std::uint16_t>(std::min<std::size_t>(n, rest.size() / 10));
    auto ip_bytes = rest.first(std::size_t{n} * 4);
    auto orc_bytes = rest.subspan(ip_bytes.size(), std::size_t{n} * kOrcEntrySize);
    auto tail = rest.subspan(ip_bytes.size() + orc_bytes.size());

    // Entries one by one, in every format; header and shape detection.
    for (std::size_t i = 0; i + kOrcEntrySize <= orc_bytes.size() && i < 64 * kOrcEntrySize;
         i += kOrcEntrySize)
        for (int f = 1; f <= 4; ++f)
            (void)describe(
                decode_orc_entry(orc_bytes.subspan(i, kOrcEntrySize), static_cast<OrcFormat>(f)));
    (void)orc_format_from_header(rest.first(std::min<std::size_t>(rest.size(), kOrcHeaderSize)));
    (void)orc_format_from_shape(orc_bytes);
    (void)orc_format_from_release(
        std::string_view(reinterpret_cast<const char*>(data), std::min<std::size_t>(size, 24)));
    OrcFormatHints hints;
    (void)choose_orc_format(std::nullopt, orc_bytes, hints);

    // The kernel's table from raw bytes, with its lookup blocks (given or computed).
    auto table = OrcTable::from_raw(kIpTable, ip_bytes, orc_bytes, format, "fuzz");
    if (!table) return 0;
    std::vector<std::uint32_t> words(std::min<std::size_t>(tail.size() / 4, 4096));
    if (!words.empty()) std::memcpy(words.data(), tail.data(), words.size() * 4);
    const std::uint64_t text_end = kText + text_size;
    if (flags & 1)
        (void)table->set_lookup_blocks(kText, text_end, words);
    else if (flags & 2)
        (void)table->set_lookup_blocks(kText, text_end);
    std::vector<std::uint64_t> probes{0, kText, text_end, ~0ull};
    for (std::size_t i = 0; i < table->size() && i < 32; ++i) {
        std::uint64_t ip = table->ip_at(i * table->size() / 32);
        probes.insert(probes.end(), {ip, ip - 1, ip + 1});
    }
    for (std::uint64_t ip : probes)
        if (const OrcEntry* e = table->find(ip)) (void)describe(*e);

    // A module's table read from memory (the input), then both in one set.
    fuzz::ImageMemory mem(kModule, std::span(bytes, size));
    Module m;
    m.name = "fuzz";
    m.address = kModule;
    m.text_base = kModule;
    m.text_size = text_size & 0xfffff;
    m.orc_unwind_ip = kModule + kHeader;
    m.orc_unwind = kModule + kHeader + ip_bytes.size();
    m.num_orcs = (flags & 4) ? n + 1u : n;  // one too many: a read past the image
    OrcTables tables;
    tables.set_kernel(std::move(*table));
    if (auto mt = load_module_orc(mem, m, format)) tables.add_module(std::move(*mt));
    for (std::uint64_t ip : probes) (void)tables.find(ip);
    for (std::uint64_t ip : {kModule, kModule + kHeader + 1, kModule + m.text_size})
        (void)tables.find(ip);

    // The same bytes as the kernel's table read on demand from memory (the input), with lookup
    // words from the tail (flags 8) and a count that may run past the image (flags 16).
    const std::size_t count = (flags & 16) ? std::size_t{n} + 4096 : n;
    auto lazy = OrcTable::on_demand(
        kModule + kHeader,
        kModule + kHeader + ip_bytes.size(),
        count,
        format,
        "fuzz",
        [&mem](std::uint64_t a, std::span<std::byte> out) { return mem.read(a, out).has_value(); });
    if (lazy) {
        const std::uint64_t tail_at = kModule + kHeader + ip_bytes.size() + orc_bytes.size();
        lazy->set_lookup_words_at(kText, text_end, (flags & 8) ? tail_at : 0, words.size());
        for (std::uint64_t ip : probes)
            if (const OrcEntry* e = lazy->find(ip)) (void)describe(*e);
        for (std::size_t i = 0; i < 16 && i < lazy->size(); ++i)
            (void)lazy->find(lazy->ip_at(i * lazy->size() / 16) + 1);
    }
    return 0;
}
