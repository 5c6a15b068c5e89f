// format_backtrace: a Backtrace as crash-like text lines (the CLI's `bt`).
//
//   for (const std::string& line : format_backtrace(bt, {.words = true})) puts(line.c_str());
//
//    #0 [ffffa8c1c0213d78] __schedule+0x34d/0x9f3
//    #4 [ffffa8c1c0213e90] lb_thread.cold+0x114/0x11d [lockbomb]
//    #5 [ffffa8c1c0213f10] ? kthread+0xda/0x100          (a stack-scan guess, as the kernel's "?")
//       RIP: 000000000040194e  RSP: 00007ffe5b1f7e40  RFLAGS: 00010246   (a pt_regs frame)
//
// Plain text only; escaping of untrusted names is done here (module/function names from the dump).
#pragma once

#include <string>
#include <vector>

#include "dump/cpu_state.h"
#include "kernel/backtrace.h"

namespace lockhound::kernel {

struct BacktraceFormatOptions {
    bool words = false;  // `-f`: the raw stack words of each frame (needs captured words)
    bool pc = false;     // append " (pc ffffffff81a52d1d)" to each frame
    std::string indent;  // put before every line
};

std::vector<std::string> format_backtrace(const Backtrace& bt,
                                          const BacktraceFormatOptions& options = {});
// crash-style register block (7 lines) of a pt_regs; partial: the iret part only (1-2 lines).
std::vector<std::string> format_regs(const dump::X86Regs& regs, bool partial = false);
// One frame as "#N [sp] function+off/size [module]".
std::string format_frame(const StackFrame& frame, std::size_t index, bool with_pc = false);

}  // namespace lockhound::kernel
