#include "kernel/backtrace_format.h"

#include <fmt/format.h>

namespace lockhound::kernel {
namespace {

// Names come from the dump: keep printable ASCII, escape the rest.
std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f)
            out.push_back(static_cast<char>(c));
        else
            out += fmt::format("\\x{:02x}", c);
    }
    return out;
}

const char* stack_name(StackKind k) {
    switch (k) {
        case StackKind::kTask:
            return "task stack";
        case StackKind::kIrq:
            return "IRQ stack";
        case StackKind::kException:
            return "exception stack";
        case StackKind::kUnknown:
            return "unknown stack";
    }
    return "?";
}

}  // namespace

std::string format_frame(const StackFrame& f, std::size_t index, bool with_pc) {
    std::string s = fmt::format("#{:<2} [{:016x}] ", index, f.sp);
    if (f.reliability == FrameReliability::kStackScan) s += "? ";
    s += f.function.empty() ? fmt::format("{:016x}", f.pc) : printable(f.symbol());
    if (!f.module.empty()) s += fmt::format(" [{}]", printable(f.module));
    if (f.reliability == FrameReliability::kFramePointer) s += " (frame pointer)";
    if (with_pc) s += fmt::format(" (pc {:016x})", f.pc);
    return s;
}

std::vector<std::string> format_regs(const dump::X86Regs& r, bool partial) {
    std::vector<std::string> out;
    out.push_back(
        fmt::format("RIP: {:016x}  RSP: {:016x}  RFLAGS: {:08x}", r.rip, r.rsp, r.eflags));
    if (!partial) {
        out.push_back(fmt::format("RAX: {:016x}  RBX: {:016x}  RCX: {:016x}", r.rax, r.rbx, r.rcx));
        out.push_back(fmt::format("RDX: {:016x}  RSI: {:016x}  RDI: {:016x}", r.rdx, r.rsi, r.rdi));
        out.push_back(fmt::format("RBP: {:016x}   R8: {:016x}   R9: {:016x}", r.rbp, r.r8, r.r9));
        out.push_back(fmt::format("R10: {:016x}  R11: {:016x}  R12: {:016x}", r.r10, r.r11, r.r12));
        out.push_back(fmt::format("R13: {:016x}  R14: {:016x}  R15: {:016x}", r.r13, r.r14, r.r15));
        out.push_back(
            fmt::format("ORIG_RAX: {:016x}  CS: {:04x}  SS: {:04x}", r.orig_rax, r.cs, r.ss));
    } else {
        out.push_back(fmt::format("CS: {:04x}  SS: {:04x}", r.cs, r.ss));
    }
    return out;
}

std::vector<std::string> format_backtrace(const Backtrace& bt, const BacktraceFormatOptions& o) {
    std::vector<std::string> out;
    const std::string& in = o.indent;
    for (std::size_t i = 0; i < bt.frames.size(); ++i) {
        const StackFrame& f = bt.frames[i];
        if (i > 0 && f.stack != bt.frames[i - 1].stack)
            out.push_back(fmt::format("{} --- <{}> ---", in, stack_name(bt.frames[i - 1].stack)));
        out.push_back(fmt::format("{} {}", in, format_frame(f, i, o.pc)));
        if (o.words && !f.words.empty()) {
            const std::uint64_t base = f.words_start;
            for (std::size_t w = 0; w < f.words.size(); w += 4) {
                std::string line = fmt::format("{}    {:016x}:", in, base + (w * 8));
                for (std::size_t k = w; k < f.words.size() && k < w + 4; ++k)
                    line += fmt::format(" {:016x}", f.words[k]);
                out.push_back(std::move(line));
            }
        }
        if (f.regs)
            for (auto& l : format_regs(*f.regs, f.partial_regs))
                out.push_back(fmt::format("{}    {}", in, l));
    }
    if (bt.user_regs && (bt.frames.empty() || !bt.frames.back().regs)) {
        out.push_back(fmt::format("{}    (user space)", in));
        for (auto& l : format_regs(*bt.user_regs, bt.user_regs_partial))
            out.push_back(fmt::format("{}    {}", in, l));
    }
    for (const auto& n : bt.notes) out.push_back(fmt::format("{}    note: {}", in, printable(n)));
    if (bt.error)
        out.push_back(
            fmt::format("{}    (backtrace stopped: {})", in, printable(bt.error->describe())));
    return out;
}

}  // namespace lockhound::kernel
