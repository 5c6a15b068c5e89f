// The one-letter task state as `ps` shows it (R S D T t X Z P I), from __state/exit_state.
//
//   char c = task_state_letter(0x102, 0);   // 'D': TASK_KILLABLE is uninterruptible too
//   char i = task_state_letter(0x402, 0);   // 'I': TASK_IDLE
#pragma once

#include <cstdint>

namespace lockhound::kernel {

// Bit values of the 4.14+ kernels (TASK_REPORT = 0x7f, TASK_IDLE = 0x402, RTLOCK_WAIT = 0x1000).
char task_state_letter(std::uint64_t state, std::uint64_t exit_state);
// Whether the task sleeps uninterruptibly (D): TASK_UNINTERRUPTIBLE set, not TASK_IDLE.
bool task_state_is_uninterruptible(std::uint64_t state);

}  // namespace lockhound::kernel
