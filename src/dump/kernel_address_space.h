// KernelAddressSpace: x86_64 kernel virtual addresses over a dump's physical memory.
//
//   KernelAddressSpace kas(phys, PagingSetup::from_vmcoreinfo(info).value());
//   kas.read_u64(init_task + tasks_off);   // page walk (4- or 5-level, 1G/2M/4K), cached
//
// Kernel text (__START_KERNEL_map) is translated directly with phys_base, so the page tables
// themselves can be found; everything else (direct map, vmalloc'd stacks, modules) is walked.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/result.h"
#include "dump/physical_memory.h"
#include "dump/virtual_memory.h"

namespace lockhound::dump {

class VmcoreInfo;

struct PagingSetup {
    std::uint64_t top_pgt_phys = 0;  // physical address of init_top_pgt (the kernel's CR3)
    std::int64_t phys_base = 0;      // NUMBER(phys_base)
    bool five_level = false;         // NUMBER(pgtable_l5_enabled)
    std::uint64_t kernel_map = 0xffffffff80000000ull;  // __START_KERNEL_map
    std::uint64_t kernel_image_size = 1ull << 30;      // NUMBER(KERNEL_IMAGE_SIZE) when present

    [[nodiscard]] static Result<PagingSetup> from_vmcoreinfo(const VmcoreInfo& info);
};

class KernelAddressSpace final : public VirtualMemory {
  public:
    KernelAddressSpace(PhysicalMemory& phys, PagingSetup setup);

    Result<> read(std::uint64_t vaddr, std::span<std::byte> out) override;
    [[nodiscard]] Result<std::uint64_t> translate(std::uint64_t vaddr);
    const PagingSetup& setup() const { return setup_; }
    PhysicalMemory& physical() { return phys_; }

  private:
    static constexpr std::size_t kBulkPages = 16;  // reads of this many whole pages go at once
    [[nodiscard]] Result<std::uint64_t> walk(std::uint64_t vaddr);

    PhysicalMemory& phys_;
    PagingSetup setup_;
    // Direct-mapped translation cache: virtual page -> physical page (or "none"). 8192 entries
    // (128 KiB): every stack page of a few thousand tasks.
    struct CacheEntry {
        std::uint64_t vpage = ~0ull;
        std::uint64_t ppage = 0;
    };
    std::vector<CacheEntry> cache_ = std::vector<CacheEntry>(8192);
};

}  // namespace lockhound::dump
