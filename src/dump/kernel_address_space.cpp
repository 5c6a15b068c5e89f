#include "dump/kernel_address_space.h"

#include <optional>
#include <vector>

#include <fmt/format.h>

#include "dump/vmcoreinfo.h"

namespace lockhound::dump {

namespace {
constexpr std::uint64_t kPresent = 1ull << 0;
constexpr std::uint64_t kHuge = 1ull << 7;
constexpr std::uint64_t kAddrMask = 0x000ffffffffff000ull;
constexpr std::uint64_t kPage = 4096;
}  // namespace

Result<PagingSetup> PagingSetup::from_vmcoreinfo(const VmcoreInfo& info) {
    PagingSetup s;
    auto phys_base = info.number("phys_base");
    if (!phys_base) return fail(ErrorKind::kNotFound, "VMCOREINFO has no NUMBER(phys_base)");
    s.phys_base = *phys_base;
    auto pgt = info.symbol("init_top_pgt");
    if (!pgt) pgt = info.symbol("swapper_pg_dir");
    if (!pgt) return fail(ErrorKind::kNotFound, "VMCOREINFO has no SYMBOL(init_top_pgt)");
    if (*pgt < s.kernel_map)
        return fail(ErrorKind::kBadData, "SYMBOL(init_top_pgt) is not a kernel-text address");
    s.top_pgt_phys = *pgt - s.kernel_map + static_cast<std::uint64_t>(s.phys_base);
    s.five_level = info.number("pgtable_l5_enabled").value_or(0) != 0;
    if (auto sz = info.number("KERNEL_IMAGE_SIZE"); sz && *sz > 0 && *sz <= (2ll << 30))
        s.kernel_image_size = static_cast<std::uint64_t>(*sz);
    return s;
}

KernelAddressSpace::KernelAddressSpace(PhysicalMemory& phys, PagingSetup setup)
    : phys_(phys), setup_(setup) {}

Result<std::uint64_t> KernelAddressSpace::walk(std::uint64_t vaddr) {
    // Kernel image: a fixed linear mapping at __START_KERNEL_map + phys_base.
    if (vaddr >= setup_.kernel_map && vaddr - setup_.kernel_map < setup_.kernel_image_size)
        return vaddr - setup_.kernel_map + static_cast<std::uint64_t>(setup_.phys_base);

    std::uint64_t table = setup_.top_pgt_phys;
    int levels = setup_.five_level ? 5 : 4;
    for (int level = levels; level >= 1; --level) {
        int shift = 12 + 9 * (level - 1);
        std::uint64_t index = (vaddr >> shift) & 0x1ff;
        std::uint64_t entry = 0;
        auto r = phys_.read_phys((table & kAddrMask) + index * 8,
                                 std::as_writable_bytes(std::span<std::uint64_t, 1>(&entry, 1)));
        if (!r) {
            Error e = r.error();
            e.message = fmt::format("cannot read the level-{} page table at physical {:#x} ({})",
                                    level,
                                    table & kAddrMask,
                                    e.message);
            e.address = vaddr;
            e.has_address = true;
            return std::unexpected(e);
        }
        if (!(entry & kPresent))
            return fail_at(
                ErrorKind::kUnmapped,
                vaddr,
                fmt::format("address is not mapped (level-{} entry not present)", level));
        if ((level == 3 || level == 2) && (entry & kHuge)) {
            std::uint64_t size = 1ull << shift;
            std::uint64_t base = entry & kAddrMask & ~(size - 1);
            return base + (vaddr & (size - 1));
        }
        table = entry;
    }
    return (table & kAddrMask) + (vaddr & (kPage - 1));
}

Result<std::uint64_t> KernelAddressSpace::translate(std::uint64_t vaddr) {
    std::uint64_t vpage = vaddr & ~(kPage - 1);
    CacheEntry& c = cache_[(vpage >> 12) % cache_.size()];
    if (c.vpage == vpage) return c.ppage + (vaddr & (kPage - 1));
    auto p = walk(vpage);
    if (!p) {
        // The walk ran on the page address; the fault is at the address asked for.
        Error e = p.error();
        e.address = vaddr;
        e.has_address = true;
        return std::unexpected(e);
    }
    c.vpage = vpage;
    c.ppage = *p;
    return *p + (vaddr & (kPage - 1));
}

Result<> KernelAddressSpace::read(std::uint64_t vaddr, std::span<std::byte> out) {
    std::size_t done = 0;
    while (done < out.size()) {
        std::uint64_t at = vaddr + done;
        // A run of whole pages (BTF, kallsyms tables) is translated first and read at once: a
        // compressed dump decodes them on two threads.
        if ((at & (kPage - 1)) == 0 && out.size() - done >= kBulkPages * kPage) {
            const std::size_t pages = (out.size() - done) / kPage;
            std::vector<std::uint64_t> paddrs;
            paddrs.reserve(pages);
            std::optional<Error> unmapped;
            for (std::size_t i = 0; i < pages; ++i) {
                auto p = translate(at + i * kPage);
                if (!p) {
                    unmapped = p.error();  // carries its address
                    break;
                }
                paddrs.push_back(*p);
            }
            std::size_t failed = 0;
            auto r =
                phys_.read_pages(paddrs, kPage, out.subspan(done, paddrs.size() * kPage), failed);
            if (!r) {
                Error e = r.error();
                e.address = at + failed * kPage;
                e.has_address = true;
                return std::unexpected(e);
            }
            if (unmapped) return std::unexpected(*unmapped);
            done += paddrs.size() * kPage;
            continue;
        }
        auto p = translate(at);
        if (!p) return std::unexpected(p.error());  // carries at
        std::size_t n = std::min<std::size_t>(out.size() - done, kPage - (at & (kPage - 1)));
        auto r = phys_.read_phys(*p, out.subspan(done, n));
        if (!r) {
            Error e = r.error();
            e.address = at;
            e.has_address = true;
            return std::unexpected(e);
        }
        done += n;
    }
    return {};
}

}  // namespace lockhound::dump
