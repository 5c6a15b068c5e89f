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
    // Whether the page containing paddr is in the dump (no decompression).
    virtual bool has_page(std::uint64_t paddr) const = 0;
    // One past the highest physical address described by the dump.
    virtual std::uint64_t phys_end() const = 0;
};

}  // namespace lockhound::dump
