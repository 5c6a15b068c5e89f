#include "graph/internal/wait_for_graph.h"

#include <algorithm>

namespace lockhound::graph::internal {

WaitForGraph::WaitForGraph(const locks::LockAnalysis& analysis) {
    for (const locks::LockState& l : analysis.locks) {
        if (lock_by_address_.contains(l.address)) continue;
        Vertex v = boost::add_vertex(VertexInfo{true, locks_.size()}, graph_);
        locks_.push_back(&l);
        lock_by_address_.emplace(l.address, v);
        lock_vertices_.push_back(v);
    }
    for (const locks::LockState& l : analysis.locks) {
        Vertex lv = lock_by_address_.at(l.address);
        if (locks_[graph_[lv].index] != &l) continue;  // a duplicate address: the first one counts
        for (const locks::Holder& h : l.holders)
            add_edge_once(lv, add_task(h.task), EdgeInfo{h.mode, h.confidence});
        for (const locks::Waiter& w : l.waiters)
            add_edge_once(add_task(w.task), lv, EdgeInfo{w.mode, locks::Confidence::kCertain});
    }
    for (const locks::BlockedOn& b : analysis.blocked_on) {
        auto lv = lock_vertex(b.lock);
        if (!lv) continue;  // not a decoded lock
        const locks::LockState& l = lock(*lv);
        auto it = std::ranges::find_if(
            l.waiters, [&](const locks::Waiter& w) { return w.task.pid == b.task.pid; });
        locks::Mode mode = it != l.waiters.end() ? it->mode : locks::Mode::kExclusive;
        add_edge_once(add_task(b.task), *lv, EdgeInfo{mode, locks::Confidence::kCertain});
    }
    auto by_pid = [&](Vertex a, Vertex b) { return task(a).pid < task(b).pid; };
    std::ranges::sort(task_vertices_, by_pid);
    auto by_address = [&](Vertex a, Vertex b) { return lock(a).address < lock(b).address; };
    std::ranges::sort(lock_vertices_, by_address);
}

Vertex WaitForGraph::add_task(const locks::TaskRef& t) {
    if (auto it = task_by_pid_.find(t.pid); it != task_by_pid_.end()) {
        locks::TaskRef& known = tasks_[graph_[it->second].index];
        if (known.comm.empty() && !t.comm.empty()) known.comm = t.comm;
        if (known.task == 0) known.task = t.task;
        return it->second;
    }
    Vertex v = boost::add_vertex(VertexInfo{false, tasks_.size()}, graph_);
    tasks_.push_back(t);
    task_by_pid_.emplace(t.pid, v);
    task_vertices_.push_back(v);
    return v;
}

void WaitForGraph::add_edge_once(Vertex from, Vertex to, EdgeInfo info) {
    if (boost::edge(from, to, graph_).second) return;
    boost::add_edge(from, to, info, graph_);
}

std::optional<Vertex> WaitForGraph::task_vertex(int pid) const {
    auto it = task_by_pid_.find(pid);
    if (it == task_by_pid_.end()) return std::nullopt;
    return it->second;
}

std::optional<Vertex> WaitForGraph::lock_vertex(std::uint64_t address) const {
    auto it = lock_by_address_.find(address);
    if (it == lock_by_address_.end()) return std::nullopt;
    return it->second;
}

std::vector<Vertex> WaitForGraph::successors(Vertex v) const {
    std::vector<Vertex> out;
    for (auto [it, end] = boost::adjacent_vertices(v, graph_); it != end; ++it) out.push_back(*it);
    return out;
}

std::vector<Vertex> WaitForGraph::predecessors(Vertex v) const {
    std::vector<Vertex> out;
    for (auto [it, end] = boost::inv_adjacent_vertices(v, graph_); it != end; ++it)
        out.push_back(*it);
    return out;
}

const EdgeInfo& WaitForGraph::edge(Vertex from, Vertex to) const {
    return graph_[boost::edge(from, to, graph_).first];
}

WaitEdge WaitForGraph::step(Vertex waiter, Vertex lock_v, Vertex holder) const {
    const EdgeInfo& wait = edge(waiter, lock_v);
    const EdgeInfo& hold = edge(lock_v, holder);
    return WaitEdge{
        task(waiter), wait.mode, lock(lock_v).address, task(holder), hold.mode, hold.confidence};
}

}  // namespace lockhound::graph::internal
