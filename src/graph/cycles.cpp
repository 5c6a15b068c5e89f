#include "graph/internal/cycles.h"

#include <algorithm>
#include <optional>

#include <boost/graph/strong_components.hpp>

#include "graph/internal/task_walk.h"

namespace lockhound::graph::internal {

std::vector<Cycle> find_cycles(const WaitForGraph& g, std::vector<int>& cycle_index) {
    const Graph& graph = g.graph();
    std::vector<int> component(g.vertex_count());
    int n =
        boost::strong_components(graph,
                                 boost::make_iterator_property_map(
                                     component.begin(), boost::get(boost::vertex_index, graph)));
    std::vector<std::vector<Vertex>> members(static_cast<std::size_t>(n));
    for (Vertex v = 0; v < g.vertex_count(); ++v)
        members[static_cast<std::size_t>(component[v])].push_back(v);

    std::vector<Cycle> cycles;
    std::vector<Vertex> starts;
    for (const auto& m : members) {
        if (m.size() < 2) continue;
        Cycle c;
        std::optional<Vertex> lowest;
        for (Vertex v : m) {
            if (g.is_lock(v)) {
                c.locks.push_back(g.lock(v).address);
                continue;
            }
            c.pids.push_back(g.task(v).pid);
            if (!lowest || g.task(v).pid < g.task(*lowest).pid) lowest = v;
        }
        if (!lowest) continue;  // locks only: impossible, no lock -> lock edges
        std::ranges::sort(c.pids);
        std::ranges::sort(c.locks);
        int comp = component[*lowest];
        TaskWalk walk = walk_from(g, *lowest, [&](Vertex v) { return component[v] == comp; });
        c.chain = walk.path_to(g, *lowest);
        cycles.push_back(std::move(c));
    }
    std::ranges::sort(cycles, {}, [](const Cycle& c) { return c.pids.front(); });

    cycle_index.assign(g.vertex_count(), -1);
    for (std::size_t i = 0; i < cycles.size(); ++i) {
        for (int pid : cycles[i].pids)
            if (auto v = g.task_vertex(pid)) cycle_index[*v] = static_cast<int>(i);
        for (auto a : cycles[i].locks)
            if (auto v = g.lock_vertex(a)) cycle_index[*v] = static_cast<int>(i);
    }
    return cycles;
}

}  // namespace lockhound::graph::internal
