#include "graph/build_graph.h"

#include <boost/graph/adjacency_list.hpp>

#include "graph/internal/cycles.h"
#include "graph/internal/root_causes.h"
#include "graph/internal/wait_for_graph.h"

namespace lockhound::graph {

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
        if (boost::out_degree(l, g.graph()) == 0)
            r.orphan_locks.push_back(OrphanLock{g.lock(l).address, n});
    }
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
