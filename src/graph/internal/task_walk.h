// walk_from: breadth-first walk along waits-for steps (task -> lock -> holder task) of a
// WaitForGraph, keeping how each task was reached (internal to src/graph/).
//
//   TaskWalk w = walk_from(g, start, [](Vertex) { return true; });
//   for (Vertex t : w.order) ...                  // reached tasks, nearest first
//   std::vector<WaitEdge> path = w.path_to(g, t);  // shortest steps start -> t
//
// The start task is in `order` only when a step leads back to it (a cycle through it).
#pragma once

#include <functional>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "graph/graph_result.h"
#include "graph/internal/wait_for_graph.h"

namespace lockhound::graph::internal {

struct TaskWalk {
    struct Reached {
        Vertex lock;
        Vertex waiter;  // the task one step closer to the start
    };
    Vertex start = 0;
    std::vector<Vertex> order;
    std::unordered_map<Vertex, Reached> how;
    // Locks reached that have no holder: (lock, the task waiting on it).
    std::vector<std::pair<Vertex, Vertex>> dead_ends;

    // Shortest steps from start to `task` (must be in `order`, or the start: empty path).
    std::vector<WaitEdge> path_to(const WaitForGraph& g, Vertex task) const;
};

// `keep` filters the vertices (locks and tasks) the walk may enter.
TaskWalk walk_from(const WaitForGraph& g, Vertex start, const std::function<bool(Vertex)>& keep);

}  // namespace lockhound::graph::internal
