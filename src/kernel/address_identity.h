// What a kernel address is (crash's `kmem ADDR` / drgn's identify_address), as plain data:
//   a symbol (kernel or module) + offset; per-CPU data of a CPU; a task's stack (and the frame);
//   a slab object (cache, object, offset, allocated/free); a struct page of the memmap; a page of
//   the direct map (flags, mapping); a vmalloc area (caller); or unknown, with the reason.
//
//   AddressIdentifier id(kernel);
//   AddressIdentity what = id.identify(0xffff8c1d42355b70);
//   what.kind == AddressKind::kSlab; what.slab->cache_name == "mm_struct"; what.slab->offset;
//
// Every lookup is bounded: one symbol search, one memmap entry, one slab's freelists, one
// vmap_area tree descent, the task list for stacks; nothing walks memory.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "kernel/memmap.h"
#include "kernel/slab.h"
#include "kernel/vmalloc_area.h"

namespace lockhound::kernel {

class Kernel;
class TaskUnwinder;

enum class AddressKind {
    kSymbol,      // kernel or module text/data
    kPerCpu,      // static per-CPU data of one CPU
    kTaskStack,   // a task's kernel stack
    kSlab,        // a slab object
    kStructPage,  // an entry of the memmap
    kPage,        // a page of the direct map that is not a slab page
    kVmalloc,     // a vmalloc area (not a task stack)
    kUnknown,
};
const char* to_string(AddressKind k);  // "symbol", "percpu", "stack", "slab", ...

struct AddressIdentity {
    std::uint64_t address = 0;
    AddressKind kind = AddressKind::kUnknown;
    std::string symbol;  // "lb_mutex+0x20 [lockbomb]" (symbol, percpu)
    std::string module;  // "" for vmlinux
    int cpu = -1;        // percpu
    // task stack
    std::uint64_t task = 0;
    int pid = 0;
    std::string comm;                // untrusted
    std::uint64_t stack_offset = 0;  // from the stack's base
    bool below_sp = false;           // below the saved stack pointer: stale
    std::string frame;  // "#3 rwsem_down_read_slowpath+0x1a3" (when the unwinder was used)
    std::optional<SlabObject> slab;
    std::uint64_t page = 0;  // struct page * behind the address (slab, page)
    std::uint64_t page_flags = 0;
    std::string page_flag_names;  // "slab|head"
    std::uint64_t mapping = 0;    // page->mapping (page)
    std::optional<VmallocArea> vmalloc;
    std::string vmalloc_caller;  // symbolized vm->caller
    std::string reason;          // unknown: why; others: extra facts
};

struct IdentifyOptions {
    bool find_frame = false;  // unwind a stack's task to name the frame (loads ORC once)
};

class AddressIdentifier {
  public:
    explicit AddressIdentifier(Kernel& kernel);
    ~AddressIdentifier();
    AddressIdentity identify(std::uint64_t address, const IdentifyOptions& options = {});
    MemMap& memmap() { return memmap_; }
    SlabLookup& slabs() { return slabs_; }

  private:
    bool by_symbol(AddressIdentity& id);
    bool by_percpu(AddressIdentity& id);
    bool by_stack(AddressIdentity& id, const IdentifyOptions& options);
    void find_frame(AddressIdentity& id);

    Kernel& k_;
    MemMap memmap_;
    SlabLookup slabs_;
    std::unique_ptr<TaskUnwinder> unwinder_;
    bool unwinder_tried_ = false;
};

// One line: "slab object mm_struct+0x70 (object 0xffff..., allocated)", "stack of pid 97 ...".
std::string describe(const AddressIdentity& id);

}  // namespace lockhound::kernel
