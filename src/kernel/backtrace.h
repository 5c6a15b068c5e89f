// Backtrace: a task's kernel stack as plain data (filled by Unwinder, printed by
// format_backtrace in backtrace_format.h).
//
//   for (const StackFrame& f : bt.frames)
//       if (f.function == "__mutex_lock.constprop.0") ...;   // f.offset, f.module, f.sp, f.cfa
//   if (bt.user_regs) ... bt.user_regs->rip ...;             // where user space was interrupted
//   if (bt.error) warn(bt.error->describe());                // why the walk stopped early
//
// Frames are listed innermost first. A frame's `sp` is the stack pointer while that function ran
// (for frame 0 of a sleeping task: just above its inactive_task_frame); its `cfa` is the stack
// pointer after it returns, so the frame's own stack words are [sp, cfa).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "dump/cpu_state.h"

namespace lockhound::kernel {

// How the frame's PC was found.
enum class FrameReliability : std::uint8_t {
    kStart,         // the starting registers (saved task frame or CPU registers)
    kOrc,           // by an ORC entry of the frame below
    kFramePointer,  // by the frame-pointer chain (no ORC entry for the frame below)
    kStackScan,     // a text address found on the stack: a guess (crash `bt -t`)
};

// Which stack the frame's SP is on.
enum class StackKind : std::uint8_t { kTask, kIrq, kException, kUnknown };

struct StackFrame {
    std::uint64_t pc = 0;
    std::uint64_t sp = 0;
    std::uint64_t cfa = 0;  // 0 when unknown (the last frame, scanned frames)
    // Symbolization: function "" when no symbol covers pc. Return addresses are looked up at
    // pc - 1 (a call at the very end of a function names that function); offset is pc's own.
    std::string function;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    std::string module;  // "" for vmlinux
    FrameReliability reliability = FrameReliability::kOrc;
    StackKind stack = StackKind::kTask;
    // The pc is exact (CPU registers or an interrupted context), not a return address.
    bool pc_is_exact = false;
    // This frame's CFA holds a struct pt_regs (an interrupt, exception or syscall entry);
    // `regs` are its contents (for an iret-only frame, only rip/cs/eflags/rsp/ss are set).
    bool exception_frame = false;
    bool partial_regs = false;
    std::optional<dump::X86Regs> regs;
    // The raw stack words from words_start (sp; for frame 0 of a sleeping task its saved frame)
    // up to cfa (plus the pt_regs of an exception frame), when asked for (`bt -f`).
    std::uint64_t words_start = 0;
    std::vector<std::uint64_t> words;

    bool reliable() const {
        return reliability == FrameReliability::kStart || reliability == FrameReliability::kOrc;
    }
    // "name+0xoff/0xsize" (no module), or "0x<pc>" when there is no symbol.
    std::string symbol() const;
};

struct Backtrace {
    std::uint64_t task = 0;  // struct task_struct *, 0 when not for a task
    int pid = 0;
    std::vector<StackFrame> frames;
    // Registers of user space at the kernel/user boundary (a pt_regs with a user CS), when the
    // walk reached it; user_regs_partial when only an iret frame was there.
    std::optional<dump::X86Regs> user_regs;
    bool user_regs_partial = false;
    // The walk ended normally: user boundary, ret_from_fork / end-of-stack entry, or stack top.
    bool complete = false;
    // Why the walk stopped early (corrupt stack, missing page, loop, limit). Never thrown.
    std::optional<Error> error;
    // Non-fatal remarks ("no ORC entry for 0x...; frame pointer used").
    std::vector<std::string> notes;

    bool reliable() const;
    // Index of the first frame whose function is `name`, or -1.
    int find(std::string_view name) const;
};

}  // namespace lockhound::kernel
