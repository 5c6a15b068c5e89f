// SLUB objects: which kmem_cache object an address lies in, and whether it is allocated.
//
//   SlabLookup slabs(kernel, memmap);
//   if (auto o = slabs.object_at(addr)) o->cache_name, o->object, o->offset, o->state;
//
// The slab is found through the memmap (one struct page, its compound head); its fields come from
// `struct slab` (5.17+) or the slab members of `struct page` (before), chosen by which type has
// `slab_cache`. Free or allocated: the slab's freelist and, for a CPU's active slab, that CPU's
// lockless freelist, each walked at most `objects` steps; with CONFIG_SLAB_FREELIST_HARDENED
// (kmem_cache.random present) every stored pointer is decoded as mm/slub.c freelist_ptr does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace lockhound::kernel {

class Kernel;
class MemMap;

enum class SlabObjectState { kAllocated, kFree, kUnknown };
const char* to_string(SlabObjectState s);  // "allocated", "free", "unknown"

struct SlabObject {
    std::uint64_t cache = 0;  // struct kmem_cache *
    std::string cache_name;   // untrusted bytes
    std::uint64_t slab = 0;   // struct slab * / struct page * (head)
    std::uint64_t object = 0;
    std::uint64_t offset = 0;  // of the address from the object's start
    std::uint64_t object_size = 0;
    SlabObjectState state = SlabObjectState::kUnknown;
    std::string state_reason;  // why unknown, or how free was found
};

class SlabLookup {
  public:
    SlabLookup(Kernel& kernel, MemMap& memmap);
    // nullopt when the address is not in a slab page; *why says why (when given).
    std::optional<SlabObject> object_at(std::uint64_t address, std::string* why = nullptr);

  private:
    bool decode_freelist_variant(std::uint64_t cache);
    std::optional<std::uint64_t> next_free(std::uint64_t cache,
                                           std::uint64_t object,
                                           std::uint64_t fp_offset,
                                           int variant);
    // Is `object` on the freelist starting at `head`? nullopt (with *why) if the list is broken.
    std::optional<bool> on_freelist(std::uint64_t cache,
                                    std::uint64_t head,
                                    std::uint64_t object,
                                    std::uint64_t fp_offset,
                                    std::uint64_t slab_start,
                                    std::uint64_t slab_bytes,
                                    std::uint64_t size,
                                    std::uint64_t max_steps,
                                    std::string* why);

    Kernel& k_;
    MemMap& mm_;
    std::string slab_struct_;  // "slab" or "page"
    bool hardened_ = false;
    std::uint64_t random_ = 0;
    std::uint64_t red_left_ = 0;
    int variant_ = 0;  // 0: ptr ^ random ^ swab(addr) (5.7+), 1: ptr ^ random ^ addr
};

}  // namespace lockhound::kernel
