// build_graph: the wait-for graph over a lock analysis (waiter task -> lock -> holder task) and
// everything read off it: deadlock cycles (strongly connected components, self-deadlock
// included), root causes, chains and blocked counts.
//
//   locks::LockAnalysis a = locks::analyze_locks(kernel);
//   graph::GraphResult g = graph::build_graph(a);
//   g.root_causes[0].task.pid; g.root_causes[0].blocked_count;
#pragma once

#include "graph/graph_result.h"
#include "locks/lock_state.h"

namespace lockhound::graph {

GraphResult build_graph(const locks::LockAnalysis& analysis);

}  // namespace lockhound::graph
