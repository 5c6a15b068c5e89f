// Text report for a person: the verdict first (deadlock cycles spelled out, else the blocking
// chains by how many tasks they block, root cause first), then every lock (state, holders with
// evidence, waiters in queue order with identical ones collapsed, holders' backtraces,
// anomalies), then warnings. Task names are escaped for the terminal.
//
//   report::render_text(std::cout, report);
//   report::render_lock_text(std::cout, report, lock);   // one lock, as `who-holds` prints it
#pragma once

#include <cstddef>
#include <ostream>

#include "locks/lock_state.h"
#include "report/report.h"

namespace lockhound::report {

struct TextOptions {
    std::size_t max_waiter_lines = 12;  // per lock, before waiters are summarised by mode
    std::size_t max_frames = 8;         // per holder backtrace
    std::size_t max_warnings = 20;
    std::size_t max_tree_lines = 40;  // per root cause in the verdict
};

void render_text(std::ostream& out, const Report& report, const TextOptions& options = {});

// The lock (which need not be in report.analysis) with its holders' chains from report.graph.
void render_lock_text(std::ostream& out,
                      const Report& report,
                      const locks::LockState& lock,
                      const TextOptions& options = {});

}  // namespace lockhound::report
