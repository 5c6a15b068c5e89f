// Holders that a lock does not record: rw_semaphore readers and semaphore holders, inferred from
// evidence, each with its confidence:
//   - a holder rule of lockmodels/holders (e.g. a thread of the mm's process in the page-fault path
//     holds that mm's mmap_lock for read)                                    -> the rule's
//     confidence
//   - the task's frame functions load the lock's address and call an acquire function  -> likely
//   - the lock's address is on the task's live stack and it is not a waiter            -> likely
//   - it sleeps, waiting on no lock, in a function where the waiters took the lock     -> possible
//   - the rwsem owner word's last-reader hint names it                                 -> possible
// The reader count caps how many are named; when the count and the candidates agree, possible
// candidates become likely and the report says so.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "kernel/stack_search.h"
#include "locks/code_evidence.h"
#include "locks/lock_model.h"
#include "locks/lock_state.h"
#include "locks/resolved_model.h"
#include "locks/task_frames.h"

namespace lockhound::kernel {
class Kernel;
}

namespace lockhound::locks {

struct HolderInference {
    kernel::Kernel& k;
    const LockModelSet& set;
    const std::vector<ResolvedModel>& models;
    kernel::StackCache& stacks;
    TaskFrames& frames;
    CodeScanner& code;
    const std::unordered_map<std::uint64_t, std::size_t>& waiting;  // task -> index of its wait

    void infer(LockState& lock, const ResolvedModel& model);
};

// What a task is doing, from its backtrace: blocked_in ("io_schedule", "schedule", "on CPU"),
// a one-line summary and its frames.
// The function names come from the model set's frame facts (lockmodels/frames/).
TaskActivity describe_activity(kernel::Kernel& k,
                               TaskFrames& frames,
                               const LockModelSet& set,
                               const kernel::Task& task);

}  // namespace lockhound::locks
