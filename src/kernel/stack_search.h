// Kernel stacks as data: read each task's stack once, search every stack for a value (crash's
// `search -t`), and tell live slots (at or above the saved stack pointer) from stale ones.
//
//   StackCache stacks(kernel);                      // whole stacks (search: stale slots too)
//   StackCache live(kernel, StackScope::kLive);     // saved SP .. top only (analysis)
//   const StackSnapshot* s = stacks.get(task);      // nullptr when unreadable (warned once)
//   auto hits = search_stacks(kernel, stacks, 0xffffffffc03a44a0);
//   for (auto& h : hits) h.task->pid, h.slot, h.stale;
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "kernel/task.h"

namespace lockhound::kernel {

class Kernel;

struct StackSnapshot {
    std::uint64_t base = 0;            // first word read: task->stack, or live_sp for kLive
    std::uint64_t live_sp = 0;         // first live slot (saved SP or CPU RSP)
    std::vector<std::uint64_t> words;  // base .. the top of the THREAD_SIZE region
    std::uint64_t top() const { return base + (words.size() * 8); }
    bool contains(std::uint64_t addr) const { return addr >= base && addr < top(); }
    std::optional<std::uint64_t> word_at(std::uint64_t addr) const {
        if (!contains(addr) || (addr & 7)) return std::nullopt;
        return words[(addr - base) / 8];
    }
};

// kWhole reads THREAD_SIZE per task; kLive only the words at and above the live stack pointer
// (a blocked task's live stack is usually under a page, so this reads and keeps ~1/4 as much).
enum class StackScope { kWhole, kLive };

class StackCache {
  public:
    explicit StackCache(Kernel& kernel, StackScope scope = StackScope::kWhole)
        : kernel_(kernel), scope_(scope) {}
    const StackSnapshot* get(const Task& task);

  private:
    Kernel& kernel_;
    StackScope scope_;
    std::unordered_map<std::uint64_t, std::unique_ptr<StackSnapshot>> cache_;
};

struct StackHit {
    const Task* task = nullptr;
    std::uint64_t slot = 0;  // address of the stack word
    bool stale = false;      // below the live stack pointer: a dead value from an earlier call
};

// Every aligned 8-byte stack word equal to value (after masking with mask), in task order.
std::vector<StackHit> search_stacks(Kernel& kernel,
                                    StackCache& stacks,
                                    std::uint64_t value,
                                    std::uint64_t mask = ~0ull);

}  // namespace lockhound::kernel
