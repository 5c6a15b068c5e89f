// analyze_locks: the whole lock investigation over an opened dump.
//
//   auto k = kernel::Kernel::open({...});
//   locks::LockAnalysis a = locks::analyze_locks(**k);
//   a.locks[0].holders / .waiters; a.blocked_on; a.activities
//
//   // `who-holds`: decode one lock at an address, contended or not.
//   std::optional<LockState> s = locks::decode_lock_at(**k, 0xffffffffc03a44a0, std::nullopt);
#pragma once

#include <optional>

#include "kernel/kernel.h"
#include "locks/lock_state.h"

namespace lockhound::locks {

struct AnalysisOptions {
    bool infer_holders = true;  // reader / semaphore holders from evidence
};

LockAnalysis analyze_locks(kernel::Kernel& kernel, const AnalysisOptions& options = {});

// Decodes the lock at address; kind picks the model when given, else the analysis' knowledge or
// the most plausible model. nullopt when no model fits.
std::optional<LockState> decode_lock_at(kernel::Kernel& kernel,
                                        std::uint64_t address,
                                        std::optional<LockKind> kind);

// Per lock kind, the model this kernel's types select and why the others were not (`info`).
std::vector<ModelChoice> lock_model_choices(kernel::Kernel& kernel);

}  // namespace lockhound::locks
