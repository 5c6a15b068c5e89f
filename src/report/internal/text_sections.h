// The parts of the text report (internal to src/report/): text_verdict.cpp, text_locks.cpp.
#pragma once

#include <ostream>
#include <set>

#include "locks/lock_state.h"
#include "report/report.h"
#include "report/text_renderer.h"

namespace lockhound::report::internal {

// "VERDICT: ..." with the cycles, root causes and their blocked trees, ownerless locks.
void write_verdict(std::ostream& out, const Report& report, const TextOptions& options);
// The lock part of the verdict (cycles, chains, orphans), without panic or completeness lines.
void write_lock_verdict(std::ostream& out, const Report& report, const TextOptions& options);
// One pid's blocked tree: the locks it holds and who waits for them, recursively.
void write_blocked_tree(std::ostream& out,
                        const Report& report,
                        int holder_pid,
                        const std::string& indent,
                        const TextOptions& options);
// One lock section. A holder's backtrace is printed once: `backtraces_shown` collects the pids.
void write_lock(std::ostream& out,
                const Report& report,
                const locks::LockState& lock,
                const TextOptions& options,
                std::set<int>& backtraces_shown);

}  // namespace lockhound::report::internal
