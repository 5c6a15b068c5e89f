// Collapsing identical waiters for the renderers (internal to src/report/).
//
//   comm_pattern("lb_mw_17") -> "lb_mw_*"      comm_pattern("cat") -> "cat"
//   auto groups = group_by_comm(waiters);      // [{"cat", 11 waiters}, {"ps", 1 waiter}]
//   auto runs = waiter_runs(lock.waiters);     // consecutive waiters of one mode
//   compact_pids({5, 1, 2, 3, 9}) -> "1-3, 5, 9"
//
// Labels are raw task names: escape them for the output they go to.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "locks/lock_state.h"

namespace lockhound::report::internal {

// A task name with its trailing number replaced by "*", so kworker-like families group.
std::string comm_pattern(std::string_view comm);

struct CommGroup {
    std::string label;  // the comm when all members share it, else the pattern
    std::vector<const locks::Waiter*> members;
};
// Groups by comm_pattern, in order of first appearance.
std::vector<CommGroup> group_by_comm(std::span<const locks::Waiter* const> waiters);

struct WaiterRun {
    locks::Mode mode = locks::Mode::kExclusive;
    std::vector<const locks::Waiter*> members;  // queue order
    std::vector<CommGroup> comms;
};
// Consecutive waiters (queue order) with the same mode form one run.
std::vector<WaiterRun> waiter_runs(std::span<const locks::Waiter> waiters);
// One run per mode over the whole queue (for queues whose modes interleave), ordered by the
// first member's queue position.
std::vector<WaiterRun> waiters_by_mode(std::span<const locks::Waiter> waiters);

// "11 × cat, ps" (counts only above one), each label passed through `escape`.
std::string comm_summary(const std::vector<CommGroup>& comms,
                         std::string (*escape)(std::string_view));
// Ascending, consecutive pids as ranges; at most max_items items, then "… (N more)".
std::string compact_pids(std::vector<int> pids, std::size_t max_items = 12);

}  // namespace lockhound::report::internal
