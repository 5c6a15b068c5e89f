// Reading truth.json (../shared/dumps and sample_dumps) into the terms lockhound reports in.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace lockhound::testing {

struct TruthPid {
    int pid = 0;
    std::string mode;  // "read" | "write" | "exclusive"
    int queue_pos = -1;
    bool operator<(const TruthPid& o) const { return pid < o.pid; }
};

struct TruthLock {
    std::string name;
    std::string type;  // "mutex" | "rw_semaphore" | "semaphore"
    std::uint64_t address = 0;
    std::vector<TruthPid> holders;
    std::vector<TruthPid> waiters;  // queue order
};

struct Truth {
    std::vector<TruthLock> locks;
    std::vector<std::vector<int>> cycles;  // each sorted
    int root_pid = 0;
    std::set<int> acceptable_roots;  // root pid and other_root_holders
    std::vector<int> blocked_pids;
    std::string root_state_summary;  // root cause that is a state (frozen fs): its summary
};

Truth parse_truth(const nlohmann::json& j);
// Dumps whose truth lockhound does not fully reach yet (issue #10): holders that no evidence
// names. On those, every holder lockhound names must be a true one (subset), nothing is invented,
// and the rest (locks, waiters, queue order) is still exact. Empty when nothing is missing.
std::string known_holder_gap(const std::string& dump_name);
std::string normalize_mode(const std::string& m);  // "excl" -> "exclusive"
std::string normalize_type(const std::string& t);  // "rwsem" -> "rw_semaphore"

}  // namespace lockhound::testing
