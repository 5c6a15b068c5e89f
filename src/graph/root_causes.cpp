#include "graph/internal/root_causes.h"

#include <algorithm>
#include <deque>
#include <unordered_map>

#include <fmt/format.h>

#include "graph/internal/task_walk.h"

namespace lockhound::graph::internal {

std::size_t tasks_blocked_behind(const WaitForGraph& g, Vertex v) {
    std::vector<bool> seen(g.vertex_count(), false);
    std::deque<Vertex> queue{v};
    seen[v] = true;
    std::size_t tasks = 0;
    while (!queue.empty()) {
        Vertex x = queue.front();
        queue.pop_front();
        for (Vertex p : g.predecessors(x)) {
            if (seen[p]) continue;
            seen[p] = true;
            if (!g.is_lock(p)) ++tasks;
            queue.push_back(p);
        }
    }
    return tasks;
}

namespace {

std::vector<HeldLock> contended_locks_held(const WaitForGraph& g, Vertex task) {
    std::vector<HeldLock> out;
    for (Vertex l : g.predecessors(task)) {
        if (boost::in_degree(l, g.graph()) == 0) continue;  // nobody waits for it
        const EdgeInfo& e = g.edge(l, task);
        out.push_back(HeldLock{g.lock(l).address, e.mode, e.confidence});
    }
    std::ranges::sort(out, {}, &HeldLock::lock);
    return out;
}

std::string pid_list(const std::vector<int>& pids) {
    std::string s;
    for (int p : pids) s += fmt::format("{}{}", s.empty() ? "" : ", ", p);
    return s;
}

}  // namespace

std::vector<RootCause> find_root_causes(const WaitForGraph& g,
                                        const locks::LockAnalysis& analysis,
                                        const std::vector<Cycle>& cycles,
                                        const std::vector<int>& cycle_index,
                                        const std::map<int, std::size_t>& blocked_by_task) {
    std::unordered_map<int, const locks::TaskActivity*> activity;
    for (const locks::TaskActivity& a : analysis.activities) activity.try_emplace(a.task.pid, &a);

    std::vector<RootCause> roots;
    auto add = [&](Vertex t, std::optional<std::size_t> cycle) {
        RootCause r;
        r.task = g.task(t);
        auto count = blocked_by_task.find(r.task.pid);
        r.blocked_count = count == blocked_by_task.end() ? 0 : count->second;
        r.holds = contended_locks_held(g, t);
        r.cycle = cycle;
        if (auto a = activity.find(r.task.pid); a != activity.end()) {
            r.blocked_in = a->second->blocked_in;
            r.summary = a->second->summary;
            if (r.task.comm.empty()) r.task.comm = a->second->task.comm;
        } else if (cycle) {
            r.blocked_in = "deadlock";
            r.summary = fmt::format("deadlock cycle of pids {}", pid_list(cycles[*cycle].pids));
        }
        roots.push_back(std::move(r));
    };
    for (Vertex t : g.task_vertices()) {
        if (cycle_index[t] >= 0 || g.waits(t)) continue;
        auto count = blocked_by_task.find(g.task(t).pid);
        if (count == blocked_by_task.end() || count->second == 0) continue;
        add(t, std::nullopt);
    }
    for (std::size_t i = 0; i < cycles.size(); ++i)
        if (auto v = g.task_vertex(cycles[i].pids.front())) add(*v, i);
    std::ranges::sort(roots, [](const RootCause& a, const RootCause& b) {
        if (a.blocked_count != b.blocked_count) return a.blocked_count > b.blocked_count;
        return a.task.pid < b.task.pid;
    });
    return roots;
}

std::vector<Chain> find_chains(const WaitForGraph& g, const std::vector<RootCause>& roots) {
    std::unordered_map<int, std::size_t> root_index;
    for (std::size_t i = 0; i < roots.size(); ++i) root_index.emplace(roots[i].task.pid, i);
    auto index_of = [&](Vertex t) -> std::optional<std::size_t> {
        auto it = root_index.find(g.task(t).pid);
        if (it == root_index.end()) return std::nullopt;
        return it->second;
    };

    std::vector<Chain> chains;
    for (Vertex w : g.task_vertices()) {
        if (!g.waits(w)) continue;
        TaskWalk walk = walk_from(g, w, [](Vertex) { return true; });
        Chain c;
        c.waiter = g.task(w);
        std::optional<Vertex> first;
        for (Vertex t : walk.order) {
            auto i = index_of(t);
            if (!i) continue;
            c.roots.push_back(*i);
            if (!first) first = t;
        }
        for (auto [lock, waiter] : walk.dead_ends) {
            c.orphan_locks.push_back(g.lock(lock).address);
            if (!first) first = waiter;
        }
        if (first) c.steps = walk.path_to(g, *first);
        std::ranges::sort(c.roots);
        std::ranges::sort(c.orphan_locks);
        auto dup = std::ranges::unique(c.orphan_locks);
        c.orphan_locks.erase(dup.begin(), dup.end());
        chains.push_back(std::move(c));
    }
    return chains;
}

}  // namespace lockhound::graph::internal
