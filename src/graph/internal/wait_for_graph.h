// WaitForGraph: the Boost adjacency_list behind build_graph (internal to src/graph/).
//
//   WaitForGraph g(analysis);            // task and lock vertices, waiter->lock->holder edges
//   for (Vertex v : g.task_vertices()) ... g.task(v).pid ...
//   g.successors(v)  // task -> the locks it waits on; lock -> its holders
//
// Vertices: one per task (keyed by pid) and one per decoded lock (keyed by address). Edges: a
// waiter task to the lock (its wait mode), the lock to each holder task (hold mode, confidence).
// A waiter comes from LockState::waiters or LockAnalysis::blocked_on (a lock that is not among the
// decoded locks gives no edge: the task is then not waiting on a decoded lock).
#pragma once

#include <boost/graph/adjacency_list.hpp>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "graph/graph_result.h"
#include "locks/lock_state.h"

namespace lockhound::graph::internal {

struct VertexInfo {
    bool is_lock = false;
    std::size_t index = 0;  // into tasks() or locks()
};

struct EdgeInfo {
    locks::Mode mode = locks::Mode::kExclusive;
    locks::Confidence confidence = locks::Confidence::kCertain;  // lock -> holder edges only
};

using Graph =
    boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS, VertexInfo, EdgeInfo>;
using Vertex = Graph::vertex_descriptor;

class WaitForGraph {
  public:
    explicit WaitForGraph(const locks::LockAnalysis& analysis);

    const Graph& graph() const { return graph_; }
    std::size_t vertex_count() const { return boost::num_vertices(graph_); }
    bool is_lock(Vertex v) const { return graph_[v].is_lock; }
    const locks::TaskRef& task(Vertex v) const { return tasks_[graph_[v].index]; }
    const locks::LockState& lock(Vertex v) const { return *locks_[graph_[v].index]; }
    std::optional<Vertex> task_vertex(int pid) const;
    std::optional<Vertex> lock_vertex(std::uint64_t address) const;
    const std::vector<Vertex>& task_vertices() const { return task_vertices_; }  // by pid
    const std::vector<Vertex>& lock_vertices() const { return lock_vertices_; }  // by address

    std::vector<Vertex> successors(Vertex v) const;
    std::vector<Vertex> predecessors(Vertex v) const;
    bool waits(Vertex task) const { return boost::out_degree(task, graph_) > 0; }
    const EdgeInfo& edge(Vertex from, Vertex to) const;
    // The waits-for step waiter -> lock -> holder as plain data (both edges must exist).
    WaitEdge step(Vertex waiter, Vertex lock, Vertex holder) const;

  private:
    Vertex add_task(const locks::TaskRef& t);
    void add_edge_once(Vertex from, Vertex to, EdgeInfo info);

    Graph graph_;
    std::vector<locks::TaskRef> tasks_;
    std::vector<const locks::LockState*> locks_;
    std::unordered_map<int, Vertex> task_by_pid_;
    std::unordered_map<std::uint64_t, Vertex> lock_by_address_;
    std::vector<Vertex> task_vertices_;
    std::vector<Vertex> lock_vertices_;
};

}  // namespace lockhound::graph::internal
