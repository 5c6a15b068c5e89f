// find_cycles: deadlock cycles of a WaitForGraph (internal to src/graph/).
//
//   std::vector<int> cycle_index;                     // per vertex: index into the result, or -1
//   std::vector<Cycle> cycles = find_cycles(g, cycle_index);
//
// A cycle is a strongly connected component (boost::strong_components, Tarjan) with more than one
// vertex; in this bipartite graph that includes a task waiting on a lock it holds itself.
#pragma once

#include <vector>

#include "graph/graph_result.h"
#include "graph/internal/wait_for_graph.h"

namespace lockhound::graph::internal {

std::vector<Cycle> find_cycles(const WaitForGraph& g, std::vector<int>& cycle_index);

}  // namespace lockhound::graph::internal
