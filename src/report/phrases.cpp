#include "report/internal/phrases.h"

#include <fmt/format.h>

#include "report/escape.h"

namespace lockhound::report::internal {

std::string hex(std::uint64_t v) {
    return fmt::format("{:#x}", v);
}

std::string task_text(const locks::TaskRef& t) {
    return fmt::format("pid {} {}", t.pid, escape_terminal(t.comm));
}

std::string lock_text(const locks::LockState& lock) {
    if (lock.name) return escape_terminal(*lock.name);
    return fmt::format("{} {}", locks::to_string(lock.kind), hex(lock.address));
}

std::string lock_text(const locks::LockAnalysis& analysis, std::uint64_t address) {
    if (const auto* l = find_lock(analysis, address)) return lock_text(*l);
    return fmt::format("lock {}", hex(address));
}

std::string hold_text(locks::Mode mode, locks::Confidence confidence) {
    return fmt::format("{}, {}", locks::to_string(mode), locks::to_string(confidence));
}

std::string step_text(const locks::LockAnalysis& analysis, const graph::WaitEdge& e) {
    return fmt::format("{} waits for {} ({}), held by {} ({})",
                       task_text(e.waiter),
                       lock_text(analysis, e.lock),
                       locks::to_string(e.wait_mode),
                       task_text(e.holder),
                       hold_text(e.hold_mode, e.confidence));
}

const locks::LockState* find_lock(const locks::LockAnalysis& analysis, std::uint64_t address) {
    for (const auto& l : analysis.locks)
        if (l.address == address) return &l;
    return nullptr;
}

const locks::TaskActivity* find_activity(const locks::LockAnalysis& analysis, int pid) {
    for (const auto& a : analysis.activities)
        if (a.task.pid == pid) return &a;
    return nullptr;
}

}  // namespace lockhound::report::internal
