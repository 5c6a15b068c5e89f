// Task: one task_struct as lockhound sees it (plain data; filled by task_walker.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "dump/cpu_state.h"

namespace lockhound::kernel {

struct Task {
    std::uint64_t address = 0;  // struct task_struct *
    int pid = 0;
    int tgid = 0;
    std::string comm;             // raw bytes from the dump: untrusted, escape when printing
    std::uint64_t state_raw = 0;  // __state (or state)
    std::uint64_t exit_state = 0;
    char state = '?';              // as ps shows it: R S D T t X Z P I
    int cpu = -1;                  // thread_info.cpu / task->cpu, when readable
    bool on_cpu = false;           // task->on_cpu, or it is the current task of a CPU
    bool is_idle = false;          // a per-CPU idle task (swapper/N)
    std::uint64_t stack_base = 0;  // task->stack
    std::uint64_t stack_size = 0;  // THREAD_SIZE
    std::uint64_t saved_sp = 0;    // task->thread.sp (the inactive_task_frame of a sleeping task)
    std::uint64_t mm = 0;          // task->mm (0 for kernel threads)
    // Registers from the dump's CPU notes when this task was running on a CPU at dump time.
    std::optional<dump::X86Regs> cpu_regs;

    std::uint64_t stack_top() const { return stack_base + stack_size; }
    // The live part of a sleeping task's stack: [saved_sp, top). On a CPU: from its RSP if known.
    std::uint64_t live_sp() const;
    bool is_kernel_thread() const { return mm == 0; }
};

}  // namespace lockhound::kernel
