#include "report/dot_renderer.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "report/escape.h"
#include "report/internal/phrases.h"
#include "report/internal/waiter_groups.h"

namespace lockhound::report {

namespace {

using internal::hex;

constexpr const char* kRed = "red";
constexpr const char* kRootFill = "#ffe3b3";

std::string task_id(int pid) {
    return fmt::format("\"t{}\"", pid);
}
std::string lock_id(std::uint64_t a) {
    return fmt::format("\"l{:x}\"", a);
}

// Which pids and which (from, to) edges lie on a deadlock cycle.
struct CycleMembership {
    std::set<int> pids;
    std::set<std::uint64_t> locks;
    std::set<std::pair<int, std::uint64_t>> waits;  // waiter pid -> lock
    std::set<std::pair<std::uint64_t, int>> holds;  // lock -> holder pid

    explicit CycleMembership(const graph::GraphResult& g) {
        for (const graph::Cycle& c : g.cycles) {
            std::set<int> p(c.pids.begin(), c.pids.end());
            std::set<std::uint64_t> l(c.locks.begin(), c.locks.end());
            pids.insert(p.begin(), p.end());
            locks.insert(l.begin(), l.end());
            // An edge between two members of one strongly connected component is on a cycle.
            for (int pid : p)
                for (auto lock : l) {
                    waits.emplace(pid, lock);
                    holds.emplace(lock, pid);
                }
        }
    }
};

class DotWriter {
  public:
    DotWriter(std::ostream& out, const Report& r) : out_(out), r_(r), cycle_(r.graph) {
        for (const auto& l : r.analysis.locks) {
            for (const auto& h : l.holders) holders_.insert(h.task.pid);
            for (const auto& w : l.waiters) ++wait_count_[w.task.pid];
        }
        for (const auto& root : r.graph.root_causes) roots_.emplace(root.task.pid, &root);
    }

    void write_all() {
        out_ << "digraph lockhound {\n";
        out_ << "  rankdir=LR;\n";
        out_ << fmt::format("  graph [fontname=\"Helvetica\", labelloc=t, label=\"{}\"];\n",
                            title());
        out_ << "  node [fontname=\"Helvetica\", fontsize=10];\n";
        out_ << "  edge [fontname=\"Helvetica\", fontsize=9];\n";
        for (const auto& l : r_.analysis.locks) write_lock(l);
        write_legend();
        out_ << "}\n";
    }

  private:
    std::string title() const {
        std::string t = "lockhound";
        if (!r_.kernel.release.empty()) t += " — " + escape_dot(r_.kernel.release);
        if (!r_.kernel.dump_path.empty()) t += "\\n" + escape_dot(r_.kernel.dump_path);
        return t;
    }

    void write_lock(const locks::LockState& l) {
        bool on_cycle = cycle_.locks.contains(l.address);
        std::string label = locks::to_string(l.kind);
        if (l.name) label += "\\n" + escape_dot(*l.name);
        label += "\\n" + hex(l.address);
        out_ << fmt::format("  {} [shape={}, label=\"{}\"{}];\n",
                            lock_id(l.address),
                            on_cycle ? "octagon" : "ellipse",
                            label,
                            on_cycle ? red_style() : "");
        for (const auto& h : l.holders) {
            declare_task(h.task);
            bool red = cycle_.holds.contains({l.address, h.task.pid});
            std::string style;
            if (h.confidence != locks::Confidence::kCertain)
                style = h.confidence == locks::Confidence::kLikely ? ", style=dashed"
                                                                   : ", style=dotted";
            out_ << fmt::format("  {} -> {} [label=\"{}\"{}{}];\n",
                                lock_id(l.address),
                                task_id(h.task.pid),
                                internal::hold_text(h.mode, h.confidence),
                                style,
                                red ? red_style() : "");
        }
        write_waiters(l);
    }

    void write_waiters(const locks::LockState& l) {
        std::vector<const locks::Waiter*> collapsible;
        for (const auto& w : l.waiters)
            if (is_leaf(w.task.pid)) collapsible.push_back(&w);
        std::set<const locks::Waiter*> collapsed;
        std::size_t group_index = 0;
        for (const auto& g : internal::group_by_comm(collapsible)) {
            if (g.members.size() < 2) continue;
            std::vector<int> pids;
            std::map<locks::Mode, std::size_t> modes;
            for (const auto* w : g.members) {
                collapsed.insert(w);
                pids.push_back(w->task.pid);
                ++modes[w->mode];
            }
            std::string id = fmt::format("\"g{:x}_{}\"", l.address, group_index++);
            out_ << fmt::format(
                "  {} [shape=box, style=\"dashed,rounded\", label=\"{} × {}\\npids {}\"];\n",
                id,
                g.members.size(),
                escape_dot(g.label),
                internal::compact_pids(pids, 3));
            out_ << fmt::format(
                "  {} -> {} [label=\"{}\"];\n", id, lock_id(l.address), modes_label(modes));
        }
        for (const auto& w : l.waiters) {
            if (collapsed.contains(&w)) continue;
            declare_task(w.task);
            bool red = cycle_.waits.contains({w.task.pid, l.address});
            out_ << fmt::format("  {} -> {} [label=\"{}\"{}];\n",
                                task_id(w.task.pid),
                                lock_id(l.address),
                                locks::to_string(w.mode),
                                red ? red_style() : "");
        }
    }

    // A waiter that only waits (holds nothing, waits on one lock, not on a cycle, not a root).
    bool is_leaf(int pid) const {
        auto n = wait_count_.find(pid);
        return !holders_.contains(pid) && n != wait_count_.end() && n->second == 1 &&
               !cycle_.pids.contains(pid) && !roots_.contains(pid);
    }

    void declare_task(const locks::TaskRef& t) {
        if (!declared_.insert(t.pid).second) return;
        std::string label = fmt::format("pid {}\\n{}", t.pid, escape_dot(t.comm));
        std::string style;
        if (auto it = roots_.find(t.pid); it != roots_.end()) {
            const graph::RootCause& root = *it->second;
            if (!root.blocked_in.empty()) label += "\\nstuck in " + escape_dot(root.blocked_in);
            label += fmt::format("\\nblocks {}", root.blocked_count);
            style = fmt::format(R"(, style="filled,bold", fillcolor="{}")", kRootFill);
        }
        if (cycle_.pids.contains(t.pid)) style += red_style();
        out_ << fmt::format("  {} [shape=box, label=\"{}\"{}];\n", task_id(t.pid), label, style);
    }

    static std::string modes_label(const std::map<locks::Mode, std::size_t>& modes) {
        if (modes.size() == 1) return locks::to_string(modes.begin()->first);
        std::string s;
        for (auto [m, n] : modes)
            s += fmt::format("{}{} ×{}", s.empty() ? "" : ", ", locks::to_string(m), n);
        return s;
    }

    static std::string red_style() {
        return fmt::format(", color={0}, fontcolor={0}, penwidth=2", kRed);
    }

    void write_legend() {
        out_ << "  subgraph cluster_legend {\n";
        out_ << "    label=\"legend\"; fontsize=10; style=dashed;\n";
        out_ << "    legend_task [shape=box, label=\"pid\\ntask\"];\n";
        out_ << "    legend_lock [shape=ellipse, label=\"lock type\\nname\\naddress\"];\n";
        out_ << fmt::format(
            "    legend_root [shape=box, style=\"filled,bold\", fillcolor=\"{}\", "
            "label=\"root cause\\nwhat it is stuck in\\nblocks N\"];\n",
            kRootFill);
        out_ << "    legend_group [shape=box, style=\"dashed,rounded\", "
                "label=\"N × comm\\nidentical waiters\"];\n";
        out_ << fmt::format(
            "    legend_cycle [shape=octagon, label=\"lock on a\\ndeadlock cycle\"{}];\n",
            red_style());
        out_
            << "    legend_note [shape=plaintext, label=\"held by: solid certain,\\ndashed likely, "
               "dotted possible\"];\n";
        out_ << "    legend_task -> legend_lock [label=\"waits for (mode)\"];\n";
        out_ << "    legend_lock -> legend_root [label=\"held by (mode, confidence)\"];\n";
        out_ << fmt::format("    legend_group -> legend_cycle [label=\"on a deadlock cycle\"{}];\n",
                            red_style());
        out_ << "  }\n";
    }

    std::ostream& out_;
    const Report& r_;
    CycleMembership cycle_;
    std::set<int> holders_;
    std::map<int, std::size_t> wait_count_;
    std::map<int, const graph::RootCause*> roots_;
    std::set<int> declared_;
};

}  // namespace

void render_dot(std::ostream& out, const Report& report) {
    DotWriter(out, report).write_all();
}

}  // namespace lockhound::report
