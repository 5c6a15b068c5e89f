// Fuzz target: makedumpfile flattened stream records (FlattenedSource), then the whole of
// open_dump() over the un-flattened view.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "dump/dump_file.h"
#include "dump/flattened_source.h"

using namespace lockhound::dump;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto* p = reinterpret_cast<const std::byte*>(data);
    std::vector<std::byte> copy(p, p + size);
    {
        auto flat = FlattenedSource::open(std::make_unique<MemoryBytes>(copy));
        if (!flat) return 0;
        const FlattenedSource& f = **flat;
        std::vector<std::byte> buf(4096);
        const std::uint64_t n = f.size();
        // Bounded sweep of the logical file: reads and views at a few hundred places.
        const std::uint64_t step = n / 256 + 1;
        for (std::uint64_t off = 0; off < n; off += step) {
            (void)f.read(off, std::span(buf).first(std::min<std::uint64_t>(buf.size(), n - off)));
            (void)f.view(off, 64);
        }
        (void)f.read(n, std::span(buf).first(1));
        (void)f.read(~0ull - 1, std::span(buf).first(8));
    }
    auto dump = open_dump(std::make_unique<MemoryBytes>(std::move(copy)), "fuzz");
    if (!dump) return 0;
    std::vector<std::byte> page(4096);
    (void)dump->memory->read_phys(0, page);
    (void)dump->memory->read_phys(0x100000, page);
    return 0;
}
