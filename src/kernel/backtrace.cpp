#include "kernel/backtrace.h"

#include <algorithm>

#include <fmt/format.h>

namespace lockhound::kernel {

std::string StackFrame::symbol() const {
    if (function.empty()) return fmt::format("0x{:x}", pc);
    return fmt::format("{}+0x{:x}/0x{:x}", function, offset, size);
}

bool Backtrace::reliable() const {
    if (error) return false;
    return std::ranges::all_of(frames, [](const auto& f) { return f.reliable(); });
}

int Backtrace::find(std::string_view name) const {
    for (std::size_t i = 0; i < frames.size(); ++i)
        if (frames[i].function == name) return static_cast<int>(i);
    return -1;
}

}  // namespace lockhound::kernel
