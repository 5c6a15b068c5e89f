#include "report/internal/waiter_groups.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace lockhound::report::internal {

std::string comm_pattern(std::string_view comm) {
    std::size_t end = comm.size();
    while (end > 0 && comm[end - 1] >= '0' && comm[end - 1] <= '9') --end;
    if (end == comm.size() || end == 0) return std::string(comm);
    return std::string(comm.substr(0, end)) + "*";
}

std::vector<CommGroup> group_by_comm(std::span<const locks::Waiter* const> waiters) {
    std::vector<CommGroup> groups;
    std::map<std::string, std::size_t> index;
    for (const locks::Waiter* w : waiters) {
        std::string pattern = comm_pattern(w->task.comm);
        auto [it, added] = index.try_emplace(pattern, groups.size());
        if (added) groups.push_back(CommGroup{w->task.comm, {}});
        CommGroup& g = groups[it->second];
        if (g.label != w->task.comm) g.label = pattern;
        g.members.push_back(w);
    }
    return groups;
}

namespace {

WaiterRun make_run(std::vector<const locks::Waiter*> members) {
    WaiterRun r;
    r.mode = members.front()->mode;
    r.members = std::move(members);
    r.comms = group_by_comm(r.members);
    return r;
}

}  // namespace

std::vector<WaiterRun> waiter_runs(std::span<const locks::Waiter> waiters) {
    std::vector<WaiterRun> runs;
    std::vector<const locks::Waiter*> current;
    for (const locks::Waiter& w : waiters) {
        if (!current.empty() && current.front()->mode != w.mode) {
            runs.push_back(make_run(std::move(current)));
            current.clear();
        }
        current.push_back(&w);
    }
    if (!current.empty()) runs.push_back(make_run(std::move(current)));
    return runs;
}

std::vector<WaiterRun> waiters_by_mode(std::span<const locks::Waiter> waiters) {
    std::vector<WaiterRun> runs;
    for (locks::Mode m : {locks::Mode::kWrite, locks::Mode::kExclusive, locks::Mode::kRead}) {
        std::vector<const locks::Waiter*> members;
        for (const locks::Waiter& w : waiters)
            if (w.mode == m) members.push_back(&w);
        if (!members.empty()) runs.push_back(make_run(std::move(members)));
    }
    std::ranges::sort(runs, {}, [](const WaiterRun& r) { return r.members.front()->queue_pos; });
    return runs;
}

std::string comm_summary(const std::vector<CommGroup>& comms,
                         std::string (*escape)(std::string_view)) {
    std::string out;
    for (const CommGroup& g : comms) {
        if (!out.empty()) out += ", ";
        if (g.members.size() > 1) out += fmt::format("{} × ", g.members.size());
        out += escape(g.label);
    }
    return out;
}

std::string compact_pids(std::vector<int> pids, std::size_t max_items) {
    std::ranges::sort(pids);
    auto dup = std::ranges::unique(pids);
    pids.erase(dup.begin(), dup.end());
    std::vector<std::string> items;
    std::size_t i = 0;
    std::size_t shown_pids = 0;
    while (i < pids.size() && items.size() < max_items) {
        std::size_t j = i;
        while (j + 1 < pids.size() && pids[j + 1] == pids[j] + 1) ++j;
        if (j == i)
            items.push_back(fmt::format("{}", pids[i]));
        else
            items.push_back(fmt::format("{}-{}", pids[i], pids[j]));
        shown_pids += j - i + 1;
        i = j + 1;
    }
    std::string out = fmt::format("{}", fmt::join(items, ", "));
    if (shown_pids < pids.size()) out += fmt::format(", … ({} more)", pids.size() - shown_pids);
    return out;
}

}  // namespace lockhound::report::internal
