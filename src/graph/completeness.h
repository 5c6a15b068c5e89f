// Completeness: whether the dump held everything an answer rests on (the task list, the
// task_structs, their stacks, the lock structures), what is missing, how much was still read,
// and known capture traps with their fix. A verdict on an incomplete dump says INCOMPLETE first.
//
//   Completeness c = assess_completeness(kernel, analysis, hung_task_reports);
//   if (!c.complete) ... c.missing ... c.advice ...
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "kernel/triage.h"
#include "locks/lock_state.h"

namespace lockhound::kernel {
class Kernel;
}

namespace lockhound::graph {

struct Completeness {
    bool complete = true;
    std::vector<std::string> missing;       // "task list: process list (init_task.tasks): ..."
    std::vector<std::string> recovered_by;  // other routes that found tasks ("per-CPU runqueues")
    std::vector<std::string> advice;        // capture traps and their fix
    std::size_t tasks_read = 0;
    std::optional<std::size_t> tasks_expected;  // nr_threads
};

Completeness assess_completeness(kernel::Kernel& kernel,
                                 const locks::LockAnalysis& analysis,
                                 const std::vector<kernel::HungTaskReport>& hung_tasks);

}  // namespace lockhound::graph
