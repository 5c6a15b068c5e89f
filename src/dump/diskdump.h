// DiskDump: makedumpfile's kdump-compressed format ("KDUMP   " signature, header version >= 6
// fully supported, older read best-effort), as physical memory.
//
//   auto dd = DiskDump::open(bytes);   // header, sub-header, bitmaps, page descriptors
//   dd->read_phys(paddr, buf);         // decompresses zlib/lzo/snappy/zstd pages, cached
//   dd->has_page(paddr);               // false for pages the dump excluded (filtering)
//
// Layout: block 0 disk_dump_header; block 1.. kdump_sub_header (phys_base, dump_level, offsets of
// VMCOREINFO and the ELF notes); then two bitmaps (pages present / pages dumped); then one 24-byte
// page_desc {offset, size, flags, page_flags} per dumped page, in pfn order.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "dump/byte_source.h"
#include "dump/decompress.h"
#include "dump/elf_notes.h"
#include "dump/physical_memory.h"

namespace lockhound::dump {

struct DiskDumpHeader {
    int header_version = 0;
    std::string release;       // utsname.release (QEMU leaves it empty)
    std::string machine;       // utsname.machine
    std::uint32_t status = 0;  // DUMP_DH_COMPRESSED_* of the whole file
    std::uint32_t block_size = 0;
    std::uint32_t sub_hdr_size = 0;
    std::uint32_t bitmap_blocks = 0;
    std::uint64_t max_mapnr = 0;
    int nr_cpus = 0;
    std::int64_t phys_base = 0;
    int dump_level = 0;
};

class DiskDump final : public PhysicalMemory {
  public:
    static bool looks_diskdump(const ByteSource& bytes);
    // bytes must outlive the DiskDump.
    [[nodiscard]] static Result<std::unique_ptr<DiskDump>> open(const ByteSource& bytes);

    Result<> read_phys(std::uint64_t paddr, std::span<std::byte> out) override;
    // Whole pages not in the cache are decoded straight into `out` (not cached, as read_phys
    // does), half of them on a second thread when there are at least kParallelPages.
    Result<> read_pages(std::span<const std::uint64_t> paddrs,
                        std::size_t page_size,
                        std::span<std::byte> out,
                        std::size_t& failed) override;
    static constexpr std::size_t kParallelPages = 16;
    bool has_page(std::uint64_t paddr) const override;
    std::uint64_t phys_end() const override { return header_.max_mapnr * header_.block_size; }

    const DiskDumpHeader& header() const { return header_; }
    const NoteContents& notes() const { return notes_; }
    const std::string& vmcoreinfo() const { return vmcoreinfo_; }
    std::uint64_t dumped_pages() const { return dumped_pages_; }
    std::uint64_t valid_pages() const { return valid_pages_; }
    // Compression methods seen in the page descriptors read so far, or from the header status.
    std::string compression_summary() const;
    // Pages decompressed (or copied, when stored raw) so far: cache misses, for benchmarks.
    std::uint64_t pages_decoded() const { return pages_decoded_; }

    // Cache of decoded pages: cache_sets() sets (by pfn) of kCacheWays slots, least recently
    // used out, each slot allocated when first used. The set count follows the number of dumped
    // pages (a power of two, kMinCacheSets..kMaxCacheSets: 4 MiB to 256 MiB of pages), so that
    // the pages an analysis touches (task_structs, live stacks, waiter records: a few per task)
    // are decompressed once even with thousands of tasks; memory follows the pages touched.
    static constexpr std::size_t kCacheWays = 4;
    static constexpr std::size_t kMinCacheSets = 256;
    static constexpr std::size_t kMaxCacheSets = 16384;
    std::size_t cache_sets() const { return cache_sets_; }

  private:
    explicit DiskDump(const ByteSource& bytes) : bytes_(bytes) {}
    bool dumped(std::uint64_t pfn) const;
    std::uint64_t rank(std::uint64_t pfn) const;  // number of dumped pages below pfn
    struct Slot;
    Slot* cached(std::uint64_t pfn);  // the cached page (marked used), or nullptr
    [[nodiscard]] Result<const std::byte*> page(std::uint64_t pfn);               // cached
    [[nodiscard]] Result<> decode(std::uint64_t pfn, std::span<std::byte> dest);  // not cached
    // decode() without touching the counters (safe on several threads): the page's method is
    // or-ed into `methods`.
    [[nodiscard]] Result<> decode_page(std::uint64_t pfn,
                                       std::span<std::byte> dest,
                                       unsigned& methods) const;

    const ByteSource& bytes_;
    DiskDumpHeader header_;
    NoteContents notes_;
    std::string vmcoreinfo_;
    std::vector<std::uint64_t> valid_bitmap_;
    std::vector<std::uint64_t> dump_bitmap_;
    std::vector<std::uint64_t> rank_;  // dumped pages before each 64-bit word
    std::uint64_t desc_offset_ = 0;
    std::uint64_t dumped_pages_ = 0;
    std::uint64_t valid_pages_ = 0;
    unsigned seen_methods_ = 0;

    struct Slot {
        std::uint64_t pfn = ~0ull;
        std::uint64_t last_use = 0;
        std::unique_ptr<std::byte[]> data;  // block_size bytes, not zeroed: decoding fills them
    };
    std::size_t cache_sets_ = kMinCacheSets;
    std::vector<Slot> cache_;
    std::uint64_t clock_ = 0;
    std::uint64_t pages_decoded_ = 0;
};

}  // namespace lockhound::dump
