// MemMap: the kernel's memmap (one struct page per physical page frame) and the direct map, for
// naming addresses: which struct page backs an address, its flags, its compound head.
//
//   MemMap mm(kernel);
//   auto page = mm.page_of(addr);          // struct page * (through the page tables)
//   auto head = mm.compound_head(*page);    // the head page of a slab / compound page
//   mm.page_address(*head);                 // its direct-map address
//
// vmemmap_base / page_offset_base come from the kernel's variables (KASLR), else x86_64's fixed
// defaults; sizeof(struct page) from VMCOREINFO SIZE(page) or the types; PG_slab / PG_head from
// VMCOREINFO or the pageflags enumerators.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace lockhound::kernel {

class Kernel;

class MemMap {
  public:
    explicit MemMap(Kernel& kernel);

    bool usable() const { return page_size_ != 0; }
    std::uint64_t vmemmap_base() const { return vmemmap_base_; }
    std::uint64_t page_offset_base() const { return page_offset_base_; }
    std::uint64_t struct_page_size() const { return page_size_; }
    // Bytes of directly mapped memory: max_pfn pages (0 when unknown).
    std::uint64_t direct_map_size() const { return max_pfn_ << 12; }

    bool in_direct_map(std::uint64_t vaddr) const;
    bool is_struct_page(std::uint64_t vaddr) const;  // inside the memmap's first max_pfn pages
    // struct page * behind vaddr: direct map by arithmetic, anything else through the page walk.
    std::optional<std::uint64_t> page_of(std::uint64_t vaddr);
    std::uint64_t pfn_of_page(std::uint64_t page) const {
        return (page - vmemmap_base_) / page_size_;
    }
    std::uint64_t page_address(std::uint64_t page) const {
        return page_offset_base_ + (pfn_of_page(page) << 12);
    }
    // The head page of a compound page (page itself when it is not a tail).
    std::optional<std::uint64_t> compound_head(std::uint64_t page);
    std::optional<std::uint64_t> flags(std::uint64_t page);
    bool flag_set(std::uint64_t flags, int bit) const { return bit >= 0 && (flags >> bit) & 1; }
    int pg_slab() const { return pg_slab_; }
    int pg_head() const { return pg_head_; }
    // "slab|head|lru" for the flag bits lockhound knows (the kernel's own pageflags names).
    std::string describe_flags(std::uint64_t flags) const;

  private:
    Kernel& k_;
    std::uint64_t vmemmap_base_ = 0xffffea0000000000ull;
    std::uint64_t page_offset_base_ = 0xffff888000000000ull;
    std::uint64_t page_size_ = 0;
    std::uint64_t max_pfn_ = 0;
    std::uint64_t compound_head_off_ = 8;
    int pg_slab_ = -1, pg_head_ = -1;
};

}  // namespace lockhound::kernel
