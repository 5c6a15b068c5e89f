// Blocked counts, root causes and chains of a WaitForGraph (internal to src/graph/).
//
//   std::size_t n = tasks_blocked_behind(g, v);   // tasks from which v is reachable (v excluded)
//   auto roots = find_root_causes(g, analysis, cycles, cycle_index, blocked_by_task);
//   auto chains = find_chains(g, roots, cycle_index);
#pragma once

#include <cstddef>
#include <map>
#include <vector>

#include "graph/graph_result.h"
#include "graph/internal/wait_for_graph.h"
#include "locks/lock_state.h"

namespace lockhound::graph::internal {

std::size_t tasks_blocked_behind(const WaitForGraph& g, Vertex v);

// Holders that wait on no decoded lock and block someone, plus the lowest-pid member of each
// cycle; ordered by blocked_count descending, then pid.
std::vector<RootCause> find_root_causes(const WaitForGraph& g,
                                        const locks::LockAnalysis& analysis,
                                        const std::vector<Cycle>& cycles,
                                        const std::vector<int>& cycle_index,
                                        const std::map<int, std::size_t>& blocked_by_task);

// One chain per waiting task (by pid).
std::vector<Chain> find_chains(const WaitForGraph& g, const std::vector<RootCause>& roots);

}  // namespace lockhound::graph::internal
