// The function names on a task's kernel stack, innermost first, from the ORC unwinder (with its
// own marked fallbacks), cached per task for the analysis.
//
//   TaskFrames frames(kernel);
//   const auto& f = frames.of(task);        // f.functions: {"__schedule", "schedule", ...}
//   frames.has(task, {"io_schedule"});
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernel/backtrace.h"
#include "kernel/task.h"
#include "kernel/task_unwinder.h"

namespace lockhound::kernel {
class Kernel;
}

namespace lockhound::locks {

struct FrameInfo {
    std::uint64_t pc = 0;
    std::string function;  // symbol name without offset ("lb_thread.cold")
    std::string symbol;    // "lb_thread.cold+0x114/0x11d [lockbomb]"
    std::uint64_t function_start = 0;
    std::uint64_t function_size = 0;
};

struct TaskStackInfo {
    std::vector<FrameInfo> frames;
    bool reliable = true;
    std::string error;
};

// Function name without compiler suffixes: "__mutex_lock.constprop.0" -> "__mutex_lock".
std::string base_function(const std::string& name);

class TaskFrames {
  public:
    explicit TaskFrames(kernel::Kernel& kernel);
    const TaskStackInfo& of(const kernel::Task& task);
    // Whether any frame's function (suffixes ignored) is one of names; returns it.
    const FrameInfo* find(const kernel::Task& task, const std::vector<std::string>& names);
    std::string unwinder_note() const { return note_; }

  private:
    kernel::Kernel& kernel_;
    std::unique_ptr<kernel::TaskUnwinder> unwinder_;
    std::string note_;
    std::unordered_map<std::uint64_t, TaskStackInfo> cache_;
};

}  // namespace lockhound::locks
