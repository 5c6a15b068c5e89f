#include "kernel/stack_search.h"

#include <fmt/format.h>

#include "kernel/kernel.h"

namespace lockhound::kernel {

const StackSnapshot* StackCache::get(const Task& task) {
    if (auto it = cache_.find(task.address); it != cache_.end()) return it->second.get();
    std::unique_ptr<StackSnapshot> snap;
    if (task.stack_base && task.stack_size && task.stack_size <= (1u << 20) &&
        (task.stack_base & 7) == 0) {
        auto s = std::make_unique<StackSnapshot>();
        const std::uint64_t live = task.live_sp() & ~7ull;  // within the stack (Task::live_sp)
        s->base = scope_ == StackScope::kLive ? live : task.stack_base;
        s->words.resize((task.stack_top() - s->base) / 8);
        auto r = kernel_.memory().read(s->base, std::as_writable_bytes(std::span(s->words)));
        if (r) {
            s->live_sp = live;
            snap = std::move(s);
        } else {
            kernel_.warn(fmt::format("stack of pid {} at {:#x} is unreadable: {}",
                                     task.pid,
                                     task.stack_base,
                                     r.error().describe()));
        }
    }
    const StackSnapshot* p = snap.get();
    cache_.emplace(task.address, std::move(snap));
    return p;
}

std::vector<StackHit> search_stacks(Kernel& kernel,
                                    StackCache& stacks,
                                    std::uint64_t value,
                                    std::uint64_t mask) {
    std::vector<StackHit> hits;
    const std::uint64_t want = value & mask;
    for (const Task& t : kernel.tasks()) {
        const StackSnapshot* s = stacks.get(t);
        if (!s) continue;
        for (std::size_t i = 0; i < s->words.size(); ++i) {
            if ((s->words[i] & mask) != want) continue;
            std::uint64_t slot = s->base + (i * 8);
            hits.push_back(StackHit{&t, slot, slot < s->live_sp});
        }
    }
    return hits;
}

}  // namespace lockhound::kernel
