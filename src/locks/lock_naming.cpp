#include "locks/lock_naming.h"

#include <algorithm>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "kernel/address_identity.h"
#include "kernel/kernel.h"
#include "locks/object_naming.h"

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
    std::string name(sym.name);
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
        fmt::format("symbol {} {}",
                    sym.name,
                    sym.module.empty() ? "(vmlinux)" : "in module " + std::string(sym.module)),
        std::nullopt,
        std::nullopt,
        LockObject{.kind = "symbol",
                   .address = sym.address,
                   .offset = r->offset,
                   .member = std::string(sym.name)}};
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
                LockObject obj;
                obj.kind = rule.container == "mm_struct" ? "mm" : rule.container;
                obj.address = container;
                obj.offset = *off;
                obj.member = member;
                obj.pid = who.tgid;
                obj.comm = who.comm;
                return LockName{fmt::format("{} of {}[{}]", member, who.comm, who.tgid),
                                fmt::format("{}.{} of the {} at {:#x}, used by task {} ({})",
                                            rule.container,
                                            member,
                                            rule.container,
                                            container,
                                            t.pid,
                                            rule.task_link),
                                container,
                                rule.container,
                                obj};
            }
        }
    }
    return std::nullopt;
}

bool label_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':' || c == '/';
}

// A module that registers its locks in a table of {name, ..., pointer-to-lock} entries labels them:
// a word in the module's memory equal to the lock's address, with a pointer to a short identifier
// string in one of the three words before it.
std::optional<std::string> module_label(kernel::Kernel& k,
                                        const kernel::Module& m,
                                        std::uint64_t address,
                                        std::string* where) {
    constexpr std::uint64_t kMaxScan = 4u << 20;
    if (!m.core_base || !m.core_size || m.core_size > kMaxScan) return std::nullopt;
    std::vector<std::uint64_t> words(4096 / 8);
    for (std::uint64_t page = m.core_base & ~4095ull; page < m.core_base + m.core_size;
         page += 4096) {
        if (!k.memory().read(page, std::as_writable_bytes(std::span(words)))) continue;
        for (std::size_t i = 3; i < words.size(); ++i) {
            if (words[i] != address) continue;
            for (std::size_t back = 1; back <= 3; ++back) {
                std::uint64_t p = words[i - back];
                if (p < 0xffff800000000000ull) continue;
                auto text = k.memory().read_cstring(p, 64);
                if (!text || text->size() < 3 || text->size() >= 64) continue;
                if (!std::all_of(text->begin(), text->end(), label_char)) continue;
                if (where) *where = fmt::format("{:#x}", page + (i - back) * 8);
                return *text;
            }
        }
    }
    return std::nullopt;
}

// A lock outside any symbol (kmalloc'd) that a module keeps in its own registration table.
std::optional<LockName> by_module_table(kernel::Kernel& k, std::uint64_t address) {
    for (const kernel::Module& m : k.modules()) {
        std::string where;
        if (auto label = module_label(k, m, address, &where))
            return LockName{fmt::format("{} [{}]", *label, m.name),
                            fmt::format("not a symbol; labelled \"{}\" by module {}'s own table "
                                        "(entry at {})",
                                        *label,
                                        m.name,
                                        where),
                            std::nullopt,
                            std::nullopt};
    }
    return std::nullopt;
}

}  // namespace

std::optional<LockName> name_lock(kernel::Kernel& k,
                                  std::uint64_t address,
                                  std::uint64_t lock_size,
                                  const LockModelSet& models) {
    if (auto s = by_symbol(k, address, lock_size)) {
        if (const kernel::Module* m = k.module_containing(address)) {
            std::string where;
            if (auto label = module_label(k, *m, address, &where);
                label && s->name.rfind(*label, 0) != 0) {
                s->evidence += fmt::format(
                    "; labelled \"{}\" by the module's own table (entry at {})", *label, where);
                s->name = fmt::format("{} ({}", *label, s->name.substr(0, s->name.find(" [")));
                s->name += fmt::format(") [{}]", m->name);
            }
        }
        return s;
    }
    if (auto t = by_task_link(k, address, models)) return t;
    // The slab object embedding it: one memmap entry, one cache, one slab's freelists.
    kernel::AddressIdentifier ids(k);
    ObjectNamer namer(k, ids);
    auto n = namer.name_object_at(address);
    // A module's own registration table labels a kmalloc'd lock better than its cache does; the
    // slab object stays its structured identity.
    if (auto label = by_module_table(k, address)) {
        if (n) label->object = n->object;
        return label;
    }
    if (!n) return std::nullopt;
    return LockName{n->name, n->evidence, n->object.address, n->object.kind, n->object};
}

}  // namespace lockhound::locks
