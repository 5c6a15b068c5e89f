// PhysicalMemory: the RAM a dump contains, addressed physically.
//
// To support a new dump format, implement this interface (see ElfVmcore, DiskDump) and teach
// open_dump() (dump_file.h) to recognise the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "base/result.h"

namespace lockhound::dump {

class PhysicalMemory {
  public:
    virtual ~PhysicalMemory() = default;
    // Reads out.size() bytes at paddr; may cross pages. kNotInDump (with the address) for a page
    // the dump does not contain (filtered, beyond the file's end, never present).
    [[nodiscard]] virtual Result<> read_phys(std::uint64_t paddr, std::span<std::byte> out) = 0;
    // Reads whole pages: page paddrs[i] (aligned to page_size) into out[i * page_size, ...).
    // On failure, `failed` is the index of the first page that failed, in order, and the error
    // is that page's (as read_phys of each in turn would give). This default reads them one by
    // one; a compressed dump decodes them on two threads.
    [[nodiscard]] virtual Result<> read_pages(std::span<const std::uint64_t> paddrs,
                                              std::size_t page_size,
                                              std::span<std::byte> out,
                                              std::size_t& failed) {
        for (std::size_t i = 0; i < paddrs.size(); ++i) {
            if (auto r = read_phys(paddrs[i], out.subspan(i * page_size, page_size)); !r) {
                failed = i;
                return r;
            }
        }
        return {};
    }
    // Whether the page containing paddr is in the dump (no decompression).
    virtual bool has_page(std::uint64_t paddr) const = 0;
    // One past the highest physical address described by the dump.
    virtual std::uint64_t phys_end() const = 0;
};

}  // namespace lockhound::dump
