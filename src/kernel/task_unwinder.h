// TaskUnwinder: backtraces of the tasks of an opened Kernel. Loads the ORC tables once (the
// vmlinux's sections when a vmlinux is in use, else the dump's own memory) plus every module's,
// and knows each task's stacks (its own, and the IRQ/exception stacks of the CPU it runs on).
//
//   auto u = TaskUnwinder::create(kernel, {});
//   if (!u) warn(u.error().describe());
//   Backtrace bt = (*u)->backtrace(*kernel.task_by_pid(93));
//   for (auto& line : format_backtrace(bt)) puts(line.c_str());
//   (*u)->orc_description();   // "ORC tables from /usr/lib/debug/... (385361 entries, ...)"
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "kernel/backtrace.h"
#include "kernel/orc_table.h"
#include "kernel/task.h"
#include "kernel/unwinder.h"

namespace lockhound::kernel {

class Kernel;

enum class OrcSource {
    kAuto,     // the vmlinux's sections when a vmlinux is in use and agrees, else memory
    kVmlinux,  // only the vmlinux ELF
    kMemory,   // only the dump's memory (kallsyms symbols are enough)
};

struct TaskUnwinderOptions {
    OrcSource orc_source = OrcSource::kAuto;
    bool modules = true;  // load each module's ORC table
};

class TaskUnwinder {
  public:
    [[nodiscard]] static Result<std::unique_ptr<TaskUnwinder>> create(
        Kernel& kernel, const TaskUnwinderOptions& options = {});
    TaskUnwinder(const TaskUnwinder&) = delete;
    TaskUnwinder& operator=(const TaskUnwinder&) = delete;

    // The task's kernel backtrace: from its CPU registers when it was running at dump time,
    // else from the inactive_task_frame at thread.sp. Never fails: problems end up in bt.error.
    Backtrace backtrace(const Task& task, const UnwindOptions& options = {});
    // The stacks a walk of this task may visit.
    std::vector<StackRegion> stacks_of(const Task& task);

    const std::string& orc_description() const { return orc_description_; }
    const std::vector<std::string>& notes() const { return notes_; }  // e.g. modules without ORC
    const OrcTables& tables() const { return tables_; }
    const Unwinder& unwinder() const { return *unwinder_; }

  private:
    explicit TaskUnwinder(Kernel& kernel) : kernel_(kernel) {}
    Result<> load(const TaskUnwinderOptions& options);
    const std::vector<StackRegion>& cpu_stacks(int cpu);

    Kernel& kernel_;
    OrcTables tables_;
    std::unique_ptr<Unwinder> unwinder_;
    std::uint64_t frame_size_ = 0;  // sizeof(struct inactive_task_frame); 0: found per task
    std::uint64_t default_stack_size_ = 16384;
    std::string orc_description_;
    std::vector<std::string> notes_;
    std::vector<std::optional<std::vector<StackRegion>>> cpu_stacks_;
};

}  // namespace lockhound::kernel
