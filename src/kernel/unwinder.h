// Unwinder: walks x86_64 kernel stacks with ORC, across pt_regs and IRQ/exception stacks, and
// symbolizes every frame. Knows nothing of task_struct: TaskUnwinder (task_unwinder.h) feeds it
// a task's saved frame or CPU registers and the stacks the task may be on.
//
//   Unwinder u(memory, symbols, orc_tables);
//   u.add_text(stext, etext, "");                         // what counts as a code address
//   std::vector<StackRegion> stacks = {{base, base + 16384, StackKind::kTask}};
//   Backtrace bt = u.unwind_inactive(thread_sp, 56, stacks, {});   // a sleeping task
//   Backtrace bt2 = u.unwind_regs(cpu_regs, stacks_with_irq, {});  // a task on a CPU
//
// Everything is bounded: at most max_frames frames, the SP must stay inside the given stacks and
// move upward within one, each stack is left at most once, and a (pc, sp) pair is never visited
// twice. A corrupt stack ends the walk with Backtrace::error set; nothing throws.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "debuginfo/symbol_table.h"
#include "dump/cpu_state.h"
#include "dump/virtual_memory.h"
#include "kernel/backtrace.h"
#include "kernel/orc_table.h"

namespace lockhound::kernel {

struct StackRegion {
    std::uint64_t low = 0;   // lowest address
    std::uint64_t high = 0;  // one past the highest
    StackKind kind = StackKind::kTask;
    bool contains(std::uint64_t a, std::uint64_t len = 8) const {
        return a >= low && a < high && len <= high - a;
    }
};

struct UnwindOptions {
    std::size_t max_frames = 256;
    // When a PC has no ORC entry: follow the frame pointer if it looks valid, else list the text
    // addresses left on the stack (marked kStackScan). Off: stop with an error instead.
    bool fallback = true;
    bool capture_words = false;    // fill StackFrame::words (for `bt -f`)
    std::size_t max_words = 1024;  // per frame
};

class Unwinder {
  public:
    Unwinder(dump::VirtualMemory& memory,
             const debuginfo::SymbolTable& symbols,
             const OrcTables& orc);

    // Declares [start, end) as code (kernel text, a module's text). Without any, an address is
    // code when the symbol table resolves it to a text symbol.
    void add_text(std::uint64_t start, std::uint64_t end, std::string module);
    // Addresses where a new task starts (ret_from_fork, ret_from_fork_asm): a saved return
    // address equal to one of them is an exact PC, not a return address.
    void add_fork_entry(std::uint64_t address) { fork_entries_.push_back(address); }

    // A sleeping task: `struct inactive_task_frame` of frame_size bytes at saved_sp (ret_addr is
    // its last word, bp the one before). frame_size 0: find it (7 or 8 words, the first whose
    // last word is a code address).
    Backtrace unwind_inactive(std::uint64_t saved_sp,
                              std::uint64_t frame_size,
                              std::span<const StackRegion> stacks,
                              const UnwindOptions& options) const;
    // From registers (a task on a CPU, or an interrupted context): rip is an exact PC.
    Backtrace unwind_regs(const dump::X86Regs& regs,
                          std::span<const StackRegion> stacks,
                          const UnwindOptions& options) const;

    bool is_text(std::uint64_t address) const;
    // Fills function/offset/size/module of f from f.pc (looked up at pc - 1 unless exact).
    void symbolize(StackFrame& f) const;

  private:
    struct Walk;
    Backtrace run(Walk& w) const;

    struct TextRange {
        std::uint64_t start = 0;
        std::uint64_t end = 0;
        std::string module;
    };

    dump::VirtualMemory& memory_;
    const debuginfo::SymbolTable& symbols_;
    const OrcTables& orc_;
    std::vector<TextRange> text_;  // sorted by start
    std::vector<std::uint64_t> fork_entries_;
};

// Decodes a struct pt_regs (21 little-endian words) into X86Regs; nullopt when too short.
std::optional<dump::X86Regs> decode_pt_regs(std::span<const std::byte> bytes);
inline constexpr std::uint64_t kPtRegsSize = 21 * std::uint64_t{8};
inline constexpr std::uint64_t kPtRegsIpOffset =
    16 * std::uint64_t{8};  // the iret frame starts at ip

}  // namespace lockhound::kernel
