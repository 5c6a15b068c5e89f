// Registers of one CPU at the time of the dump (NT_PRSTATUS, or QEMU's CPU state note).
#pragma once

#include <cstdint>
#include <optional>

namespace lockhound::dump {

// x86_64 general registers in struct pt_regs order.
struct X86Regs {
    std::uint64_t r15 = 0, r14 = 0, r13 = 0, r12 = 0, rbp = 0, rbx = 0, r11 = 0, r10 = 0;
    std::uint64_t r9 = 0, r8 = 0, rax = 0, rcx = 0, rdx = 0, rsi = 0, rdi = 0, orig_rax = 0;
    std::uint64_t rip = 0, cs = 0, eflags = 0, rsp = 0, ss = 0;
};

struct CpuState {
    int cpu = 0;             // index in the order the notes appear
    std::optional<int> pid;  // pr_pid of NT_PRSTATUS (the task on that CPU), when known
    X86Regs regs;
    std::optional<std::uint64_t> cr3;  // from QEMU's CPU state note
    std::optional<std::uint64_t> gs_base;
    enum class Source { kPrstatus, kQemu } source = Source::kPrstatus;
};

}  // namespace lockhound::dump
