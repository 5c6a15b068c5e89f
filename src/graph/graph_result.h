// What the wait-for graph says about a LockAnalysis, as plain data (no Boost types): deadlock
// cycles, root causes ordered by how many tasks they block, every waiter's chain to its root, and
// blocked counts per lock and per task. Produced by build_graph() (build_graph.h); consumed by
// report/.
//
//   graph::GraphResult g = graph::build_graph(analysis);
//   if (!g.cycles.empty()) ... g.cycles[0].chain[0].waiter.pid ...
//   for (const graph::RootCause& r : g.root_causes) ... r.task.pid, r.blocked_count ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "locks/lock_state.h"

namespace lockhound::graph {

// One waits-for step: `waiter` waits (in wait_mode) for `lock`, which `holder` holds (in
// hold_mode, with the analysis' confidence).
struct WaitEdge {
    locks::TaskRef waiter;
    locks::Mode wait_mode = locks::Mode::kExclusive;
    std::uint64_t lock = 0;
    locks::TaskRef holder;
    locks::Mode hold_mode = locks::Mode::kExclusive;
    locks::Confidence confidence = locks::Confidence::kCertain;
};

// A deadlock: a strongly connected part of the wait-for graph (self-deadlock included).
struct Cycle {
    std::vector<int> pids;             // members, ascending
    std::vector<std::uint64_t> locks;  // locks on the cycle, ascending
    // Closed chain starting at the lowest pid: chain[i].holder == chain[i+1].waiter, and the last
    // holder is chain[0].waiter. When the component holds several cycles this is the shortest
    // one through the lowest pid; `pids` and `locks` list the whole component.
    std::vector<WaitEdge> chain;
};

// A lock the task holds (in the analysis' holder list).
struct HeldLock {
    std::uint64_t lock = 0;
    locks::Mode mode = locks::Mode::kExclusive;
    locks::Confidence confidence = locks::Confidence::kCertain;
};

// A task that blocks others and is not itself waiting on a decoded lock, or, for a deadlock,
// the cycle member with the lowest pid.
struct RootCause {
    locks::TaskRef task;
    std::string blocked_in;            // from LockAnalysis.activities ("io_schedule", ...)
    std::string summary;               // from LockAnalysis.activities (one line)
    std::size_t blocked_count = 0;     // distinct tasks transitively blocked behind it
    std::vector<HeldLock> holds;       // locks it holds that others wait for
    std::optional<std::size_t> cycle;  // index into GraphResult::cycles for a deadlock root
};

// A lock with waiters but no holder the analysis could find: the chains through it end here.
struct OrphanLock {
    std::uint64_t lock = 0;
    std::size_t blocked_count = 0;  // distinct tasks transitively blocked behind it
};

// A root cause that is a state, not a task: the locks its waiters sleep on are held by no task
// (a frozen filesystem: its sb_writers levels are write-held by the freeze).
struct StateCause {
    std::string kind;    // "frozen_filesystem"
    std::string object;  // "ext4 on ram0, mounted on /mnt"
    std::string state;   // "SB_FREEZE_COMPLETE"
    std::string clears;  // "fsfreeze --unfreeze /mnt"
    std::string summary;
    std::uint64_t object_address = 0;  // the super_block
    std::vector<std::uint64_t> locks;  // its locks that have waiters, ascending
    std::size_t blocked_count = 0;     // distinct tasks transitively blocked behind it
    std::vector<int> blocked_pids;     // ascending
};

// Where one waiter's waits-for edges lead.
struct Chain {
    locks::TaskRef waiter;
    // Shortest path from the waiter to its first root (or into a cycle, or to an orphan lock):
    // steps[0].waiter is `waiter`, steps[i].holder == steps[i+1].waiter.
    std::vector<WaitEdge> steps;
    std::vector<std::size_t> roots;           // indices into GraphResult::root_causes, ascending
    std::vector<std::uint64_t> orphan_locks;  // ownerless locks it reaches
};

struct GraphResult {
    std::vector<Cycle> cycles;             // by lowest member pid
    std::vector<RootCause> root_causes;    // blocked_count descending, then pid ascending
    std::vector<OrphanLock> orphan_locks;  // without holder and without a state
    std::vector<StateCause> state_causes;  // blocked_count descending
    std::vector<Chain> chains;             // one per waiting task, by pid
    std::vector<WaitEdge> edges;  // every waits-for step, by (waiter pid, lock, holder pid)
    std::map<std::uint64_t, std::size_t> blocked_by_lock;  // lock -> tasks transitively blocked
    std::map<int, std::size_t> blocked_by_task;            // holder pid -> tasks blocked behind it

    const Cycle* cycle_of(int pid) const;  // the cycle containing pid, or nullptr
    const RootCause* root_of(int pid) const;
};

}  // namespace lockhound::graph
