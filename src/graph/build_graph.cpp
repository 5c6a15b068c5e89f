#include "graph/build_graph.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include <fmt/format.h>
#include <boost/graph/adjacency_list.hpp>

#include "graph/internal/cycles.h"
#include "graph/internal/root_causes.h"
#include "graph/internal/wait_for_graph.h"

namespace lockhound::graph {

namespace {

// Tasks transitively waiting behind v, by pid.
void collect_blocked(const internal::WaitForGraph& g, internal::Vertex v, std::set<int>& pids) {
    std::vector<bool> seen(g.vertex_count(), false);
    std::deque<internal::Vertex> queue{v};
    seen[v] = true;
    while (!queue.empty()) {
        internal::Vertex x = queue.front();
        queue.pop_front();
        for (internal::Vertex p : g.predecessors(x)) {
            if (seen[p]) continue;
            seen[p] = true;
            if (!g.is_lock(p)) pids.insert(g.task(p).pid);
            queue.push_back(p);
        }
    }
}

const locks::LockState* find_lock(const locks::LockAnalysis& a, std::uint64_t address) {
    for (const auto& l : a.locks)
        if (l.address == address) return &l;
    return nullptr;
}

}  // namespace

GraphResult build_graph(const locks::LockAnalysis& analysis) {
    using namespace internal;
    WaitForGraph g(analysis);
    GraphResult r;
    std::vector<int> cycle_index;
    r.cycles = find_cycles(g, cycle_index);

    for (Vertex l : g.lock_vertices()) {
        if (boost::in_degree(l, g.graph()) == 0) continue;
        std::size_t n = tasks_blocked_behind(g, l);
        r.blocked_by_lock[g.lock(l).address] = n;
        if (boost::out_degree(l, g.graph()) != 0) continue;
        const locks::LockState* ls = find_lock(analysis, g.lock(l).address);
        if (!ls || !ls->instance) {
            r.orphan_locks.push_back(OrphanLock{g.lock(l).address, n});
            continue;
        }
        // One state per object (all waited-on sb_writers levels of one frozen superblock).
        auto key = std::pair{ls->instance->kind, ls->instance->superblock};
        auto it = std::ranges::find_if(r.state_causes, [&](const StateCause& s) {
            return s.kind == key.first && s.object_address == key.second;
        });
        if (it == r.state_causes.end()) {
            r.state_causes.push_back(StateCause{ls->instance->kind,
                                                ls->instance->object,
                                                ls->instance->state,
                                                ls->instance->clears,
                                                "",
                                                ls->instance->superblock,
                                                {},
                                                0,
                                                {}});
            it = std::prev(r.state_causes.end());
        }
        it->locks.push_back(ls->address);
        std::set<int> pids(it->blocked_pids.begin(), it->blocked_pids.end());
        collect_blocked(g, l, pids);
        it->blocked_pids.assign(pids.begin(), pids.end());
    }
    for (StateCause& s : r.state_causes) {
        std::ranges::sort(s.locks);
        s.blocked_count = s.blocked_pids.size();
        if (s.kind == "frozen_filesystem")
            s.summary = fmt::format("{}{} is frozen ({}); {} task{} wait{} until it is thawed ({})",
                                    s.object,
                                    s.object.find(", mounted on") != std::string::npos ? "," : "",
                                    s.state,
                                    s.blocked_count,
                                    s.blocked_count == 1 ? "" : "s",
                                    s.blocked_count == 1 ? "s" : "",
                                    s.clears);
        else
            s.summary = fmt::format("{} is {}; {} tasks wait", s.object, s.state, s.blocked_count);
    }
    std::ranges::sort(r.state_causes, [](const StateCause& a, const StateCause& b) {
        return a.blocked_count > b.blocked_count;
    });
    for (Vertex t : g.task_vertices())
        if (boost::in_degree(t, g.graph()) > 0)
            r.blocked_by_task[g.task(t).pid] = tasks_blocked_behind(g, t);

    r.root_causes = find_root_causes(g, analysis, r.cycles, cycle_index, r.blocked_by_task);
    r.chains = find_chains(g, r.root_causes);
    return r;
}

const Cycle* GraphResult::cycle_of(int pid) const {
    for (const Cycle& c : cycles)
        if (std::ranges::binary_search(c.pids, pid)) return &c;
    return nullptr;
}

const RootCause* GraphResult::root_of(int pid) const {
    for (const RootCause& r : root_causes)
        if (r.task.pid == pid) return &r;
    return nullptr;
}

}  // namespace lockhound::graph
