// Decoding one lock from memory with a ResolvedModel: owner, count, waiters in queue order.
// Every list walk is bounded and loop-safe; what could not be read becomes an anomaly.
//
//   DecodeContext ctx{mem, task_lookup};
//   LockState s = decode_lock(ctx, *find_model(models, LockKind::kMutex), addr);
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "dump/virtual_memory.h"
#include "kernel/task.h"
#include "locks/lock_state.h"
#include "locks/resolved_model.h"

namespace lockhound::locks {

struct DecodeContext {
    dump::VirtualMemory& mem;
    // The task at a task_struct address, or nullptr when it is not one of the dump's tasks.
    std::function<const kernel::Task*(std::uint64_t)> task_at;
    std::size_t max_waiters = 1u << 20;
    // Whether any of the functions is on the task's stack (for a model's waiters.mode_frames);
    // empty: modes come from the record alone.
    std::function<bool(const kernel::Task&, const std::vector<std::string>&)> in_frames = {};
    // __per_cpu_offset[cpu] of every possible CPU (per-CPU counters); empty when unknown.
    std::vector<std::uint64_t> cpu_offsets;
};

TaskRef task_ref(const kernel::Task& t);

// Reads the lock's words and wait list. Holders here are only those the lock itself records
// (mutex owner, rwsem writer); readers and semaphore holders are inferred elsewhere.
LockState decode_lock(DecodeContext& ctx, const ResolvedModel& model, std::uint64_t address);

// The waiter records of the lock's wait list (entry addresses) in queue order, without decoding
// (cheap membership tests while looking for which lock a task waits on).
struct WaitList {
    std::vector<std::uint64_t> entries;
    std::optional<Error> error;
};
WaitList read_wait_list(DecodeContext& ctx, const ResolvedModel& model, std::uint64_t address);

}  // namespace lockhound::locks
