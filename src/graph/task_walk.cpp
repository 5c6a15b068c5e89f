#include "graph/internal/task_walk.h"

#include <algorithm>
#include <deque>

namespace lockhound::graph::internal {

TaskWalk walk_from(const WaitForGraph& g, Vertex start, const std::function<bool(Vertex)>& keep) {
    TaskWalk w;
    w.start = start;
    std::deque<Vertex> queue{start};
    while (!queue.empty()) {
        Vertex t = queue.front();
        queue.pop_front();
        for (Vertex l : g.successors(t)) {
            if (!keep(l)) continue;
            auto holders = g.successors(l);
            if (holders.empty()) w.dead_ends.emplace_back(l, t);
            for (Vertex h : holders) {
                if (!keep(h) || w.how.contains(h)) continue;
                w.how.emplace(h, TaskWalk::Reached{l, t});
                w.order.push_back(h);
                if (h != start) queue.push_back(h);
            }
        }
    }
    return w;
}

std::vector<WaitEdge> TaskWalk::path_to(const WaitForGraph& g, Vertex task) const {
    std::vector<WaitEdge> path;
    auto it = how.find(task);
    if (it == how.end()) return path;  // the start itself (or not reached)
    Vertex holder = task;
    while (true) {
        const Reached& r = it->second;
        path.push_back(g.step(r.waiter, r.lock, holder));
        if (r.waiter == start) break;
        holder = r.waiter;
        it = how.find(holder);
    }
    std::ranges::reverse(path);
    return path;
}

}  // namespace lockhound::graph::internal
