#include "kernel/address_identity.h"

#include <fmt/format.h>

#include "kernel/kernel.h"
#include "kernel/percpu.h"
#include "kernel/task_unwinder.h"

namespace lockhound::kernel {

const char* to_string(AddressKind k) {
    switch (k) {
        case AddressKind::kSymbol:
            return "symbol";
        case AddressKind::kPerCpu:
            return "percpu";
        case AddressKind::kTaskStack:
            return "stack";
        case AddressKind::kSlab:
            return "slab";
        case AddressKind::kStructPage:
            return "struct page";
        case AddressKind::kPage:
            return "page";
        case AddressKind::kVmalloc:
            return "vmalloc";
        case AddressKind::kUnknown:
            break;
    }
    return "unknown";
}

namespace {
constexpr std::uint64_t kKernelMap = 0xffffffff80000000ull;
}

AddressIdentifier::AddressIdentifier(Kernel& kernel)
    : k_(kernel), memmap_(kernel), slabs_(kernel, memmap_) {}

AddressIdentifier::~AddressIdentifier() = default;

bool AddressIdentifier::by_symbol(AddressIdentity& id) {
    if (id.address < kKernelMap) return false;
    auto r = k_.symbols().lookup(id.address);
    if (!r || !r->symbol) return false;
    const auto& s = *r->symbol;
    if (s.size && r->offset >= s.size && !k_.module_containing(id.address)) return false;
    id.kind = AddressKind::kSymbol;
    id.module = s.module;
    id.symbol = fmt::format("{}+{:#x}", s.name, r->offset);
    if (!s.module.empty()) id.symbol += fmt::format(" [{}]", s.module);
    id.reason = s.is_text() ? "text" : "data";
    return true;
}

bool AddressIdentifier::by_percpu(AddressIdentity& id) {
    auto base = k_.symbols().address_of("__per_cpu_offset");
    auto start = k_.symbols().address_of("__per_cpu_start");
    auto end = k_.symbols().address_of("__per_cpu_end");
    if (!base || !start || !end || *end <= *start) return false;
    int cpus = possible_cpu_count(k_);
    for (int cpu = 0; cpu < cpus; ++cpu) {
        auto off = k_.memory().read_u64(*base + static_cast<std::uint64_t>(cpu) * 8);
        if (!off || *off == 0) continue;
        std::uint64_t rel = id.address - *off;
        if (rel < *start || rel >= *end) continue;
        id.kind = AddressKind::kPerCpu;
        id.cpu = cpu;
        if (auto r = k_.symbols().lookup(rel); r && r->symbol)
            id.symbol = fmt::format("{}+{:#x}", r->symbol->name, r->offset);
        return true;
    }
    return false;
}

bool AddressIdentifier::by_stack(AddressIdentity& id, const IdentifyOptions& options) {
    for (const Task& t : k_.tasks()) {
        if (!t.stack_base || !t.stack_size) continue;
        if (id.address < t.stack_base || id.address >= t.stack_top()) continue;
        id.kind = AddressKind::kTaskStack;
        id.task = t.address;
        id.pid = t.pid;
        id.comm = t.comm;
        id.stack_offset = id.address - t.stack_base;
        id.below_sp = id.address < t.live_sp();
        if (options.find_frame && !id.below_sp) find_frame(id);
        return true;
    }
    return false;
}

void AddressIdentifier::find_frame(AddressIdentity& id) {
    if (!unwinder_tried_) {
        unwinder_tried_ = true;
        if (auto u = TaskUnwinder::create(k_)) unwinder_ = std::move(*u);
    }
    if (!unwinder_) return;
    const Task* t = k_.task_by_address(id.task);
    if (!t) return;
    Backtrace bt = unwinder_->backtrace(*t);
    for (std::size_t i = 0; i < bt.frames.size(); ++i) {
        const auto& f = bt.frames[i];
        std::uint64_t lo = f.sp, hi = f.cfa;
        if (!hi && i + 1 < bt.frames.size()) hi = bt.frames[i + 1].sp;
        if (id.address >= lo && id.address < hi) {
            id.frame =
                fmt::format("#{} {}+{:#x}", i, f.function.empty() ? "?" : f.function, f.offset);
            return;
        }
    }
}

AddressIdentity AddressIdentifier::identify(std::uint64_t address, const IdentifyOptions& options) {
    AddressIdentity id;
    id.address = address;
    if (address < 0xffff800000000000ull) {
        id.reason = "a user-space (or non-canonical) address";
        return id;
    }
    if (by_symbol(id)) return id;
    if (by_percpu(id)) return id;
    if (by_stack(id, options)) return id;
    if (memmap_.is_struct_page(address)) {
        id.kind = AddressKind::kStructPage;
        std::uint64_t page =
            address - (address - memmap_.vmemmap_base()) % memmap_.struct_page_size();
        id.page = page;
        id.page_flags = memmap_.flags(page).value_or(0);
        id.page_flag_names = memmap_.describe_flags(id.page_flags);
        id.reason = fmt::format("struct page of pfn {:#x}", memmap_.pfn_of_page(page));
        return id;
    }
    std::string why;
    if (auto o = slabs_.object_at(address, &why)) {
        id.kind = AddressKind::kSlab;
        id.page = o->slab;
        id.slab = std::move(*o);
        return id;
    }
    if (memmap_.in_direct_map(address)) {
        if (auto page = memmap_.page_of(address)) {
            id.kind = AddressKind::kPage;
            id.page = *page;
            id.page_flags = memmap_.flags(*page).value_or(0);
            id.page_flag_names = memmap_.describe_flags(id.page_flags);
            if (auto m = k_.offset_of("page", "mapping"))
                id.mapping = k_.memory().read_u64(*page + *m).value_or(0);
            id.reason = "direct map; " + why;
            return id;
        }
        id.reason = "direct map, but " + why;
        return id;
    }
    std::string vwhy;
    if (auto a = vmalloc_area_of(k_, address, &vwhy)) {
        id.kind = AddressKind::kVmalloc;
        id.vmalloc = *a;
        if (a->caller)
            if (auto r = k_.symbols().lookup(a->caller)) id.vmalloc_caller = r->format();
        return id;
    }
    id.reason = vwhy.empty() ? why : vwhy;
    return id;
}

std::string describe(const AddressIdentity& id) {
    switch (id.kind) {
        case AddressKind::kSymbol:
            return fmt::format("{:#x}: {} ({} {})",
                               id.address,
                               id.symbol,
                               id.module.empty() ? "vmlinux" : "module",
                               id.reason);
        case AddressKind::kPerCpu:
            return fmt::format("{:#x}: per-CPU {} of CPU {}",
                               id.address,
                               id.symbol.empty() ? "data" : id.symbol,
                               id.cpu);
        case AddressKind::kTaskStack:
            return fmt::format("{:#x}: stack of pid {} ({}) +{:#x}{}{}",
                               id.address,
                               id.pid,
                               id.comm,
                               id.stack_offset,
                               id.below_sp ? ", below its saved SP (stale)" : "",
                               id.frame.empty() ? "" : ", in frame " + id.frame);
        case AddressKind::kSlab: {
            const auto& s = *id.slab;
            return fmt::format("{:#x}: slab object {}+{:#x} (object {:#x}, size {}, {}{})",
                               id.address,
                               s.cache_name,
                               s.offset,
                               s.object,
                               s.object_size,
                               to_string(s.state),
                               s.state == SlabObjectState::kUnknown ? ": " + s.state_reason : "");
        }
        case AddressKind::kStructPage:
            return fmt::format("{:#x}: {} at {:#x} (flags {:#x} {})",
                               id.address,
                               id.reason,
                               id.page,
                               id.page_flags,
                               id.page_flag_names);
        case AddressKind::kPage:
            return fmt::format("{:#x}: page {:#x} (flags {:#x} {}, mapping {:#x}); {}",
                               id.address,
                               id.page,
                               id.page_flags,
                               id.page_flag_names,
                               id.mapping,
                               id.reason);
        case AddressKind::kVmalloc:
            return fmt::format("{:#x}: vmalloc area {:#x}-{:#x}{}",
                               id.address,
                               id.vmalloc->start,
                               id.vmalloc->end,
                               id.vmalloc_caller.empty() ? "" : " from " + id.vmalloc_caller);
        case AddressKind::kUnknown:
            break;
    }
    return fmt::format("{:#x}: unknown ({})", id.address, id.reason);
}

}  // namespace lockhound::kernel
