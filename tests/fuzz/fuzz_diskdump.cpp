// Fuzz target: kdump-compressed header, sub-header, bitmaps, page descriptors and page data
// (DiskDump), including decompression of whatever the descriptors point at.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "dump/diskdump.h"

using namespace lockhound::dump;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto* p = reinterpret_cast<const std::byte*>(data);
    MemoryBytes bytes(std::vector<std::byte>(p, p + size));
    if (!DiskDump::looks_diskdump(bytes)) return 0;
    auto dd = DiskDump::open(bytes);
    if (!dd) return 0;
    DiskDump& d = **dd;
    (void)merge_cpu_notes(d.notes());
    const std::uint64_t bs = d.header().block_size;
    std::vector<std::byte> buf(2 * bs);
    // The first dumped pages (each one decompressed), a page-crossing read, and the end.
    int pages = 0;
    for (std::uint64_t pfn = 0; pfn < d.header().max_mapnr && pages < 16; ++pfn) {
        if (!d.has_page(pfn * bs)) continue;
        ++pages;
        (void)d.read_phys(pfn * bs, std::span(buf).first(bs));
        (void)d.read_phys(pfn * bs + bs - 8, std::span(buf).first(16));
        (void)d.read_phys(pfn * bs, std::span(buf).first(8));  // from the cache
    }
    (void)d.read_phys(d.phys_end() - 8, std::span(buf).first(16));
    (void)d.compression_summary();
    return 0;
}
