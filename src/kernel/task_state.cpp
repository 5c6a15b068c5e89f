#include "kernel/task_state.h"

#include <bit>
#include <string_view>

namespace lockhound::kernel {

namespace {
constexpr std::uint64_t kUninterruptible = 0x2;
constexpr std::uint64_t kReport = 0x7f;
constexpr std::uint64_t kNoload = 0x400;
constexpr std::uint64_t kIdle = kUninterruptible | kNoload;
constexpr std::uint64_t kReportIdle = kReport + 1;
constexpr std::uint64_t kRtlockWait = 0x1000;
constexpr std::string_view kLetters = "RSDTtXZPI";
}  // namespace

char task_state_letter(std::uint64_t state, std::uint64_t exit_state) {
    std::uint64_t s = (state | exit_state) & kReport;
    if ((state & kIdle) == kIdle) s = kReportIdle;
    if (state & kRtlockWait) s = kUninterruptible;
    auto index = static_cast<unsigned>(std::bit_width(s));
    return index < kLetters.size() ? kLetters[index] : '?';
}

bool task_state_is_uninterruptible(std::uint64_t state) {
    return task_state_letter(state, 0) == 'D';
}

}  // namespace lockhound::kernel
