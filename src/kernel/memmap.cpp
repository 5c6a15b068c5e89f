#include "kernel/memmap.h"

#include <array>
#include <bit>

#include "kernel/kernel.h"

namespace lockhound::kernel {

namespace {

int bit_of(Kernel& k, const char* vmcoreinfo_number, const char* enumerator) {
    const auto& info = k.dump().vmcoreinfo;
    if (auto n = info.number(vmcoreinfo_number); n && *n >= 0 && *n < 64)
        return static_cast<int>(*n);
    if (auto e = k.types().enumerator(enumerator); e && *e >= 0 && *e < 64)
        return static_cast<int>(*e);
    return -1;
}

}  // namespace

MemMap::MemMap(Kernel& kernel) : k_(kernel) {
    auto& syms = k_.symbols();
    if (auto a = syms.address_of("vmemmap_base"))
        if (auto v = k_.memory().read_u64(*a); v && *v >= 0xffff800000000000ull) vmemmap_base_ = *v;
    if (auto a = syms.address_of("page_offset_base"))
        if (auto v = k_.memory().read_u64(*a); v && *v >= 0xffff800000000000ull)
            page_offset_base_ = *v;
    if (auto a = syms.address_of("max_pfn"))
        if (auto v = k_.memory().read_u64(*a); v && *v < (1ull << 40)) max_pfn_ = *v;
    const auto& info = k_.dump().vmcoreinfo;
    page_size_ = info.size("page").value_or(0);
    if (!page_size_) page_size_ = k_.types().struct_size("page").value_or(0);
    if (page_size_ < 32 || page_size_ > 256) page_size_ = 0;
    if (auto off = info.offset("page.compound_head"))
        compound_head_off_ = *off;
    else if (auto m = k_.types().member("page", "compound_head"))
        compound_head_off_ = m->offset;
    pg_slab_ = bit_of(k_, "PG_slab", "PG_slab");
    if (auto mask = info.number("PG_head_mask");
        mask && *mask > 0 && std::has_single_bit(static_cast<std::uint64_t>(*mask)))
        pg_head_ = std::countr_zero(static_cast<std::uint64_t>(*mask));
    else if (auto e = k_.types().enumerator("PG_head"); e && *e >= 0 && *e < 64)
        pg_head_ = static_cast<int>(*e);
}

bool MemMap::in_direct_map(std::uint64_t vaddr) const {
    std::uint64_t span = max_pfn_ ? (max_pfn_ << 12) : (64ull << 40);
    return vaddr >= page_offset_base_ && vaddr - page_offset_base_ < span;
}

bool MemMap::is_struct_page(std::uint64_t vaddr) const {
    if (!usable() || vaddr < vmemmap_base_) return false;
    std::uint64_t span = (max_pfn_ ? max_pfn_ : (1ull << 34)) * page_size_;
    return vaddr - vmemmap_base_ < span;
}

std::optional<std::uint64_t> MemMap::page_of(std::uint64_t vaddr) {
    if (!usable()) return std::nullopt;
    std::uint64_t phys = 0;
    if (in_direct_map(vaddr)) {
        phys = vaddr - page_offset_base_;
    } else {
        auto p = k_.translate(vaddr);
        if (!p) return std::nullopt;
        phys = *p;
    }
    std::uint64_t pfn = phys >> 12;
    if (max_pfn_ && pfn >= max_pfn_) return std::nullopt;
    return vmemmap_base_ + pfn * page_size_;
}

std::optional<std::uint64_t> MemMap::compound_head(std::uint64_t page) {
    auto head = k_.memory().read_u64(page + compound_head_off_);
    if (!head) return std::nullopt;
    if ((*head & 1) == 0) return page;
    std::uint64_t h = *head - 1;
    if (!is_struct_page(h) || (h - vmemmap_base_) % page_size_ != 0 || h > page)
        return std::nullopt;
    return h;
}

std::optional<std::uint64_t> MemMap::flags(std::uint64_t page) {
    auto f = k_.memory().read_u64(page);
    if (!f) return std::nullopt;
    return *f;
}

std::string MemMap::describe_flags(std::uint64_t flags) const {
    // Bits by the kernel's enum pageflags names, as far as the types or VMCOREINFO know them.
    static constexpr std::array kNames{"PG_locked",
                                       "PG_referenced",
                                       "PG_uptodate",
                                       "PG_dirty",
                                       "PG_lru",
                                       "PG_active",
                                       "PG_workingset",
                                       "PG_slab",
                                       "PG_reserved",
                                       "PG_private",
                                       "PG_writeback",
                                       "PG_head",
                                       "PG_swapbacked",
                                       "PG_reclaim",
                                       "PG_mappedtodisk",
                                       "PG_swapcache",
                                       "PG_unevictable",
                                       "PG_mlocked"};
    std::string out;
    for (const char* name : kNames) {
        auto e = k_.types().enumerator(name);
        int bit = e ? static_cast<int>(*e) : -1;
        if (std::string_view(name) == "PG_slab") bit = pg_slab_;
        if (std::string_view(name) == "PG_head") bit = pg_head_;
        if (bit < 0 || bit >= 48 || !((flags >> bit) & 1)) continue;
        if (!out.empty()) out += '|';
        out += std::string_view(name).substr(3);
    }
    return out.empty() ? "-" : out;
}

}  // namespace lockhound::kernel
