#include "kernel/task.h"

namespace lockhound::kernel {

std::uint64_t Task::live_sp() const {
    std::uint64_t sp = saved_sp;
    if (cpu_regs && cpu_regs->rsp >= stack_base && cpu_regs->rsp < stack_top()) sp = cpu_regs->rsp;
    if (sp < stack_base || sp >= stack_top()) return stack_base;  // unknown: the whole stack
    return sp;
}

}  // namespace lockhound::kernel
