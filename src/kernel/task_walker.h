// Walking every task of the dumped kernel: processes from init_task.tasks, every thread of each
// (signal->thread_head / thread_node, or the older thread_group list), and each CPU's idle task
// and current task from the per-CPU runqueues.
//
//   TaskWalkResult r = walk_tasks(kernel);
//   r.tasks;      // ordered by pid, idle tasks first
//   r.problems;   // lists cut short, task_structs that could not be read
#pragma once

#include <string>
#include <vector>

#include "kernel/task.h"

namespace lockhound::kernel {

class Kernel;

struct TaskWalkResult {
    std::vector<Task> tasks;
    std::vector<std::string> problems;
};

TaskWalkResult walk_tasks(Kernel& kernel);

}  // namespace lockhound::kernel
