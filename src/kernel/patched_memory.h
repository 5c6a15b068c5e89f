// PatchedMemory: a VirtualMemory that shows a few byte ranges overwritten, for damage tests
// (kernel::OpenOptions::memory_patches). The dump itself is never modified.
//
//   PatchedMemory mem(kas, {{.vaddr = lock + 8, .bytes = le64(lock + 8)}});  // a looped list
//   mem.read_u64(lock + 8);   // the patched value; every other byte comes from kas
//
// Reads that fail in the underlying memory still fail (a patch never makes a missing page
// readable), so patches model corrupted contents, not missing pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dump/virtual_memory.h"

namespace lockhound::kernel {

struct MemoryPatch {
    std::uint64_t vaddr = 0;
    std::vector<std::byte> bytes;
};

// The 8 little-endian bytes of v (for pointer patches).
std::vector<std::byte> le64_bytes(std::uint64_t v);

class PatchedMemory final : public dump::VirtualMemory {
  public:
    // base must outlive this object; later patches win where they overlap.
    PatchedMemory(dump::VirtualMemory& base, std::vector<MemoryPatch> patches)
        : base_(base), patches_(std::move(patches)) {}
    Result<> read(std::uint64_t vaddr, std::span<std::byte> out) override;

  private:
    dump::VirtualMemory& base_;
    std::vector<MemoryPatch> patches_;
};

}  // namespace lockhound::kernel
