#include "kernel/patched_memory.h"

#include <algorithm>
#include <cstring>

namespace lockhound::kernel {

std::vector<std::byte> le64_bytes(std::uint64_t v) {
    std::vector<std::byte> b(8);
    for (std::size_t i = 0; i < 8; ++i) b[i] = static_cast<std::byte>(v >> (8 * i));
    return b;
}

Result<> PatchedMemory::read(std::uint64_t vaddr, std::span<std::byte> out) {
    if (auto r = base_.read(vaddr, out); !r) return r;
    // Overlap of [vaddr, vaddr + n) with each patch, computed without overflowing at the top of
    // the address space.
    const std::uint64_t n = out.size();
    for (const MemoryPatch& p : patches_) {
        const std::uint64_t len = p.bytes.size();
        if (len == 0) continue;
        std::uint64_t from = std::max(vaddr, p.vaddr);
        std::uint64_t out_off = from - vaddr;      // offset of `from` in out
        std::uint64_t patch_off = from - p.vaddr;  // offset of `from` in the patch
        if (out_off >= n || patch_off >= len) continue;
        std::uint64_t count = std::min(n - out_off, len - patch_off);
        std::memcpy(out.data() + out_off, p.bytes.data() + patch_off, count);
    }
    return {};
}

}  // namespace lockhound::kernel
