#include "support/truth.h"

#include <algorithm>

namespace lockhound::testing {

std::string normalize_mode(const std::string& m) {
    return m == "excl" ? "exclusive" : m;
}
std::string normalize_type(const std::string& t) {
    if (t == "percpu_rwsem") return "percpu_rw_semaphore";
    return t == "rwsem" ? "rw_semaphore" : t;
}

std::string known_holder_gap(const std::string& dump_name) {
    if (dump_name.find("sample/table-cycle") != std::string::npos)
        return "table-cycle: tc_sem's holder (tc_gamma) and node_rwsem's reader tc_alpha leave no "
               "trace on their stacks (their code never loads the lock's address; the live stacks "
               "hold only the table entry of the lock each one waits for), so the cycle is not "
               "closed (issue #10, holder evidence (b)/(e))";
    return "";
}

Truth parse_truth(const nlohmann::json& j) {
    Truth t;
    for (const auto& l : j.value("locks", nlohmann::json::array())) {
        TruthLock tl;
        tl.name = l.value("name", "");
        tl.type = normalize_type(l.value("type", ""));
        tl.address = std::stoull(l.value("addr", "0"), nullptr, 16);
        for (const auto& h : l.value("holders", nlohmann::json::array()))
            tl.holders.push_back({h.value("pid", 0), normalize_mode(h.value("mode", "")), -1});
        for (const auto& w : l.value("waiters", nlohmann::json::array()))
            tl.waiters.push_back(
                {w.value("pid", 0), normalize_mode(w.value("mode", "")), w.value("queue_pos", -1)});
        std::sort(tl.waiters.begin(), tl.waiters.end(), [](const TruthPid& a, const TruthPid& b) {
            return a.queue_pos < b.queue_pos;
        });
        t.locks.push_back(std::move(tl));
    }
    for (const auto& c : j.value("cycles", nlohmann::json::array())) {
        std::vector<int> pids = c.get<std::vector<int>>();
        std::sort(pids.begin(), pids.end());
        t.cycles.push_back(pids);
    }
    if (j.contains("root_cause")) {
        const auto& r = j["root_cause"];
        t.root_pid = r.value("pid", 0);
        if (r.value("kind", "") == "state") t.root_state_summary = r.value("summary", "");
        t.acceptable_roots.insert(t.root_pid);
        for (const auto& o : r.value("other_root_holders", nlohmann::json::array()))
            t.acceptable_roots.insert(o.value("pid", 0));
    }
    for (const auto& b : j.value("blocked_tasks", nlohmann::json::array()))
        t.blocked_pids.push_back(b.value("pid", 0));
    return t;
}

}  // namespace lockhound::testing
