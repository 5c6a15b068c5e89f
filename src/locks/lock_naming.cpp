#include "locks/lock_naming.h"

#include <fmt/format.h>

#include "kernel/kernel.h"

namespace lockhound::locks {

namespace {

std::optional<LockName> by_symbol(kernel::Kernel& k,
                                  std::uint64_t address,
                                  std::uint64_t lock_size) {
    auto r = k.symbols().lookup(address);
    if (!r || !r->symbol || r->symbol->is_text()) return std::nullopt;
    const auto& sym = *r->symbol;
    // Only when the address lies inside the symbol's known extent.
    if (sym.size == 0 ? r->offset != 0 : r->offset >= sym.size) return std::nullopt;
    std::string name = sym.name;
    if (r->offset != 0) {
        if (lock_size && sym.size % lock_size == 0 && r->offset % lock_size == 0)
            name += fmt::format("[{}]", r->offset / lock_size);
        else
            name += fmt::format("+{:#x}", r->offset);
    } else if (lock_size && sym.size > lock_size && sym.size % lock_size == 0) {
        name += "[0]";
    }
    if (!sym.module.empty()) name += fmt::format(" [{}]", sym.module);
    return LockName{
        name,
        fmt::format(
            "symbol {} {}", sym.name, sym.module.empty() ? "(vmlinux)" : "in module " + sym.module),
        std::nullopt,
        std::nullopt};
}

// Locks embedded in an object that tasks point at (task->mm for mmap_lock).
std::optional<LockName> by_task_link(kernel::Kernel& k,
                                     std::uint64_t address,
                                     const LockModelSet& models) {
    for (const auto& rule : models.holder_rules) {
        auto link = k.offset_of("task_struct", rule.task_link);
        if (!link) continue;
        for (const auto& member : rule.members) {
            auto off = k.offset_of(rule.container, member);
            if (!off || address < *off) continue;
            std::uint64_t container = address - *off;
            for (const auto& t : k.tasks()) {
                std::uint64_t target = 0;
                if (rule.task_link == "mm")
                    target = t.mm;
                else
                    target = k.memory().read_u64(t.address + *link).value_or(0);
                if (target != container) continue;
                const kernel::Task* leader = k.task_by_pid(t.tgid);
                const kernel::Task& who = leader ? *leader : t;
                return LockName{fmt::format("{} of {}[{}]", member, who.comm, who.tgid),
                                fmt::format("{}.{} of the {} at {:#x}, used by task {} ({})",
                                            rule.container,
                                            member,
                                            rule.container,
                                            container,
                                            t.pid,
                                            rule.task_link),
                                container,
                                rule.container};
            }
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<LockName> name_lock(kernel::Kernel& k,
                                  std::uint64_t address,
                                  std::uint64_t lock_size,
                                  const LockModelSet& models) {
    if (auto s = by_symbol(k, address, lock_size)) return s;
    return by_task_link(k, address, models);
}

}  // namespace lockhound::locks
