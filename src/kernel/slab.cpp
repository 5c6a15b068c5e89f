#include "kernel/slab.h"

#include <fmt/format.h>

#include "kernel/kernel.h"
#include "kernel/memmap.h"
#include "kernel/percpu.h"

namespace lockhound::kernel {

const char* to_string(SlabObjectState s) {
    switch (s) {
        case SlabObjectState::kAllocated:
            return "allocated";
        case SlabObjectState::kFree:
            return "free";
        case SlabObjectState::kUnknown:
            break;
    }
    return "unknown";
}

namespace {

std::optional<std::uint64_t> read_bits(Kernel& k,
                                       std::string_view st,
                                       std::string_view member,
                                       std::uint64_t base) {
    auto m = k.types().member(st, member);
    if (!m) return std::nullopt;
    if (m->bit_size == 0) {
        if (m->size == 8) return k.memory().read_u64(base + m->offset).value_or(0);
        if (m->size == 4) return k.memory().read_u32(base + m->offset).value_or(0);
        if (m->size == 2) return k.memory().read_as<std::uint16_t>(base + m->offset).value_or(0);
        return std::nullopt;
    }
    auto v = k.memory().read_u64(base + m->offset);
    if (!v) return std::nullopt;
    std::uint64_t mask = m->bit_size >= 64 ? ~0ull : ((1ull << m->bit_size) - 1);
    return (*v >> m->bit_offset) & mask;
}

}  // namespace

SlabLookup::SlabLookup(Kernel& kernel, MemMap& memmap) : k_(kernel), mm_(memmap) {
    slab_struct_ = k_.types().has_member("slab", "slab_cache") ? "slab" : "page";
    hardened_ = k_.types().has_member("kmem_cache", "random");
}

std::optional<std::uint64_t> SlabLookup::next_free(std::uint64_t cache,
                                                   std::uint64_t object,
                                                   std::uint64_t fp_offset,
                                                   int variant) {
    std::uint64_t at = object + fp_offset;
    auto stored = k_.memory().read_u64(at);
    if (!stored) return std::nullopt;
    if (!hardened_) return *stored;
    (void)cache;
    std::uint64_t mix = variant == 0 ? __builtin_bswap64(at) : at;
    return *stored ^ random_ ^ mix;
}

std::optional<bool> SlabLookup::on_freelist(std::uint64_t cache,
                                            std::uint64_t head,
                                            std::uint64_t object,
                                            std::uint64_t fp_offset,
                                            std::uint64_t slab_start,
                                            std::uint64_t slab_bytes,
                                            std::uint64_t size,
                                            std::uint64_t max_steps,
                                            std::string* why) {
    std::uint64_t p = head;
    for (std::uint64_t steps = 0; p != 0; ++steps) {
        if (steps > max_steps) {
            if (why)
                *why = fmt::format("freelist longer than the slab's {} objects (loop)", max_steps);
            return std::nullopt;
        }
        if (p < slab_start + red_left_ || p - red_left_ - slab_start >= slab_bytes ||
            (p - red_left_ - slab_start) % size != 0) {
            if (why) *why = fmt::format("freelist pointer {:#x} outside the slab", p);
            return std::nullopt;
        }
        if (p == object) return true;
        auto n = next_free(cache, p, fp_offset, variant_);
        if (!n) {
            if (why) *why = fmt::format("freelist entry at {:#x} unreadable", p + fp_offset);
            return std::nullopt;
        }
        p = *n;
    }
    return false;
}

std::optional<SlabObject> SlabLookup::object_at(std::uint64_t address, std::string* why) {
    auto say = [why](std::string s) {
        if (why) *why = std::move(s);
        return std::nullopt;
    };
    auto page = mm_.page_of(address);
    if (!page) return say("no struct page for it (not mapped, or the memmap is unknown)");
    auto head = mm_.compound_head(*page);
    if (!head)
        return say(fmt::format("struct page {:#x} unreadable or a wild compound head", *page));
    auto flags = mm_.flags(*head);
    if (!flags) return say(fmt::format("struct page {:#x} unreadable", *head));
    if (mm_.pg_slab() < 0) return say("PG_slab unknown (no VMCOREINFO number, no pageflags enum)");
    if (!mm_.flag_set(*flags, mm_.pg_slab())) return say("its page is not a slab page");

    const std::string& st = slab_struct_;
    auto cache_off = k_.types().member(st, "slab_cache");
    if (!cache_off) return say("no slab_cache member in struct " + st);
    auto cache = k_.memory().read_u64(*head + cache_off->offset);
    if (!cache || *cache < 0xffff800000000000ull) return say("slab_cache pointer unreadable");
    SlabObject o;
    o.cache = *cache;
    o.slab = *head;
    auto name_off = k_.offset_of("kmem_cache", "name");
    auto size_off = k_.offset_of("kmem_cache", "size");
    auto osize_off = k_.offset_of("kmem_cache", "object_size");
    auto fp_off = k_.offset_of("kmem_cache", "offset");
    if (!name_off || !size_off || !osize_off || !fp_off)
        return say("kmem_cache layout unknown (SLAB, not SLUB?)");
    auto name_ptr = k_.memory().read_u64(*cache + *name_off);
    if (name_ptr) o.cache_name = k_.memory().read_cstring(*name_ptr, 64).value_or("");
    if (o.cache_name.empty())
        return say(fmt::format("kmem_cache {:#x} has no readable name", *cache));
    std::uint64_t size = k_.memory().read_u32(*cache + *size_off).value_or(0);
    o.object_size = k_.memory().read_u32(*cache + *osize_off).value_or(0);
    std::uint64_t fp_offset = k_.memory().read_u32(*cache + *fp_off).value_or(0);
    std::uint64_t red_left = 0;
    if (auto r = k_.offset_of("kmem_cache", "red_left_pad"))
        red_left = k_.memory().read_u32(*cache + *r).value_or(0);
    if (size == 0 || size > (1u << 24))
        return say(fmt::format("kmem_cache {} has size {}", o.cache_name, size));
    if (hardened_) {
        auto roff = k_.offset_of("kmem_cache", "random");
        random_ = roff ? k_.memory().read_u64(*cache + *roff).value_or(0) : 0;
    }
    std::uint64_t objects = read_bits(k_, st, "objects", *head).value_or(0);
    std::uint64_t slab_start = mm_.page_address(*head);
    if (address < slab_start) return say("address below its slab's first object");
    std::uint64_t index = (address - slab_start) / size;
    if (objects && index >= objects)
        return say(fmt::format("past the last of the slab's {} objects (slab padding)", objects));
    std::uint64_t slot = slab_start + index * size;
    o.object = slot + red_left;
    if (address < o.object) {
        o.object = slot;  // in the left red zone
    }
    o.offset = address - o.object;
    red_left_ = red_left;
    std::uint64_t slab_bytes = (objects ? objects : 1) * size;
    std::uint64_t max_steps = objects ? objects : 4096;

    // The slab's own freelist, and the lockless freelist of a CPU whose active slab this is.
    std::string broken;
    auto free_off = k_.types().member(st, "freelist");
    std::vector<std::uint64_t> lists;
    if (free_off)
        if (auto f = k_.memory().read_u64(*head + free_off->offset)) lists.push_back(*f);
    bool frozen = read_bits(k_, st, "frozen", *head).value_or(0) != 0;
    if (frozen) {
        auto cpu_slab_off = k_.offset_of("kmem_cache", "cpu_slab");
        std::string cpu_slab_member =
            k_.types().has_member("kmem_cache_cpu", "slab") ? "slab" : "page";
        auto c_slab = k_.offset_of("kmem_cache_cpu", cpu_slab_member);
        auto c_free = k_.offset_of("kmem_cache_cpu", "freelist");
        auto per_cpu = k_.symbols().address_of("__per_cpu_offset");
        auto cpu_slab =
            cpu_slab_off ? k_.memory().read_u64(*cache + *cpu_slab_off) : Result<std::uint64_t>(0);
        if (c_slab && c_free && per_cpu && cpu_slab && *cpu_slab) {
            int cpus = possible_cpu_count(k_);
            for (int cpu = 0; cpu < cpus; ++cpu) {
                auto off = k_.memory().read_u64(*per_cpu + static_cast<std::uint64_t>(cpu) * 8);
                if (!off) continue;
                std::uint64_t c = *cpu_slab + *off;
                if (k_.memory().read_u64(c + *c_slab).value_or(0) != *head) continue;
                if (auto f = k_.memory().read_u64(c + *c_free)) lists.push_back(*f);
            }
        }
    }
    // Which decoding the kernel uses (swab'd address since 5.7): the one that keeps the slab's
    // list inside the slab.
    bool decided = !hardened_;
    for (int variant = 0; variant < 2 && !decided; ++variant) {
        variant_ = variant;
        bool all_ok = true;
        for (std::uint64_t h : lists)
            if (!on_freelist(
                    *cache, h, 0, fp_offset, slab_start, slab_bytes, size, max_steps, nullptr))
                all_ok = false;
        if (all_ok) decided = true;
    }
    if (!decided) variant_ = 0;
    bool is_free = false, known = true;
    for (std::uint64_t h : lists) {
        auto r = on_freelist(*cache,
                             h,
                             slot + red_left,
                             fp_offset,
                             slab_start,
                             slab_bytes,
                             size,
                             max_steps,
                             &broken);
        if (!r)
            known = false;
        else if (*r)
            is_free = true;
    }
    if (is_free) {
        o.state = SlabObjectState::kFree;
        o.state_reason = "on the slab's freelist";
    } else if (!known) {
        o.state = SlabObjectState::kUnknown;
        o.state_reason = broken;
    } else {
        o.state = SlabObjectState::kAllocated;
        o.state_reason =
            frozen ? "not on the slab's or its CPU's freelist" : "not on the slab's freelist";
    }
    return o;
}

}  // namespace lockhound::kernel
