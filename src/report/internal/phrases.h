// Small lookups and phrases shared by the renderers (internal to src/report/).
//
//   hex(0xffffffffc057a700)        -> "0xffffffffc057a700"
//   task_text(t)                   -> "pid 96 cfg_commit"   (comm escaped for a terminal)
//   lock_text(report, 0xffff...)   -> "cfg_mutex [lhsample]" or "mutex 0xffff..." (escaped)
//   find_lock(analysis, address), find_activity(analysis, pid)
#pragma once

#include <cstdint>
#include <string>

#include "graph/graph_result.h"
#include "locks/lock_state.h"

namespace lockhound::report::internal {

std::string hex(std::uint64_t v);
std::string task_text(const locks::TaskRef& t);
std::string lock_text(const locks::LockAnalysis& analysis, std::uint64_t address);
std::string lock_text(const locks::LockState& lock);
std::string hold_text(locks::Mode mode, locks::Confidence confidence);  // "read, likely"
// "pid 96 cfg_commit waits for table_rwsem (write), held by pid 97 table_scan (read, likely)"
std::string step_text(const locks::LockAnalysis& analysis, const graph::WaitEdge& e);

const locks::LockState* find_lock(const locks::LockAnalysis& analysis, std::uint64_t address);
const locks::TaskActivity* find_activity(const locks::LockAnalysis& analysis, int pid);

}  // namespace lockhound::report::internal
