#include <algorithm>
#include <map>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "report/escape.h"
#include "report/internal/phrases.h"
#include "report/internal/text_sections.h"
#include "report/internal/waiter_groups.h"

namespace lockhound::report::internal {

namespace {

std::string plural(std::size_t n, std::string_view word) {
    return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

std::string pid_list(const std::vector<int>& pids) {
    std::string s;
    for (int p : pids) s += fmt::format("{}{}", s.empty() ? "" : ", ", p);
    return s;
}

// "pid 97 lbmm_mmap (write); 11 × cat, ps (read)"
std::string waiters_inline(std::span<const locks::Waiter> waiters) {
    constexpr std::size_t kMaxRuns = 6;
    auto runs = waiter_runs(waiters);
    if (runs.size() > kMaxRuns) runs = waiters_by_mode(waiters);
    std::string out;
    for (const WaiterRun& r : runs) {
        if (!out.empty()) out += "; ";
        if (r.members.size() == 1)
            out += task_text(r.members.front()->task);
        else
            out += comm_summary(r.comms, escape_terminal);
        out += fmt::format(" ({})", locks::to_string(r.mode));
    }
    return out;
}

// A summary this short goes on the root's line; a longer one on a line of its own.
constexpr std::size_t kInlineSummary = 40;

// "is stuck in io_schedule (page fault)"; sets `detail` to a summary too long for the line.
std::string stuck_text(const std::string& blocked_in,
                       const std::string& summary,
                       bool plural_subject,
                       std::string& detail) {
    if (blocked_in.empty() && summary.empty()) return "what it is doing is unknown";
    std::string out = plural_subject ? "are " : "is ";
    out += blocked_in.empty() ? "blocked" : "stuck in " + escape_terminal(blocked_in);
    if (summary.empty() || summary == blocked_in) return out;
    if (summary.size() <= kInlineSummary)
        out += " (" + escape_terminal(summary) + ")";
    else
        detail = escape_terminal(summary);
    return out;
}

std::string holds_text(const Report& r, const std::vector<graph::HeldLock>& holds) {
    std::string out;
    for (std::size_t i = 0; i < holds.size(); ++i) {
        if (i > 0) out += i + 1 == holds.size() ? " and " : ", ";
        out += fmt::format("{} ({})",
                           lock_text(r.analysis, holds[i].lock),
                           hold_text(holds[i].mode, holds[i].confidence));
    }
    return out;
}

void write_cycles(std::ostream& out, const Report& r) {
    const auto& g = r.graph;
    out << fmt::format("VERDICT: deadlock: {}\n", plural(g.cycles.size(), "cycle"));
    for (std::size_t i = 0; i < g.cycles.size(); ++i) {
        const graph::Cycle& c = g.cycles[i];
        std::set<std::string> kinds;
        for (auto a : c.locks)
            if (const auto* l = find_lock(r.analysis, a)) kinds.insert(locks::to_string(l->kind));
        out << fmt::format("  cycle {}: pids {} over {} ({})\n",
                           i + 1,
                           pid_list(c.pids),
                           plural(c.locks.size(), "lock"),
                           fmt::join(kinds, " + "));
        for (const graph::WaitEdge& e : c.chain) out << "    " << step_text(r.analysis, e) << "\n";
        if (const graph::RootCause* root = g.root_of(c.pids.front())) {
            std::size_t others = root->blocked_count + 1 - c.pids.size();
            out << fmt::format(
                "    root cause named: {} (lowest pid on the cycle); {} blocked behind it, {} "
                "outside the cycle\n",
                task_text(root->task),
                plural(root->blocked_count, "task"),
                others);
        }
    }
}

// Roots that hold the same locks the same way, block the same number of tasks and are stuck in
// the same place (the readers of one rwsem) print as one entry.
bool same_story(const graph::RootCause& a, const graph::RootCause& b) {
    auto key = [](const graph::HeldLock& h) { return std::tuple(h.lock, h.mode, h.confidence); };
    return !a.cycle && !b.cycle && a.blocked_count == b.blocked_count &&
           a.blocked_in == b.blocked_in && a.holds.size() == b.holds.size() &&
           std::ranges::equal(a.holds, b.holds, {}, key, key);
}

void write_roots(std::ostream& out,
                 const Report& r,
                 std::span<const graph::RootCause* const> group,
                 const TextOptions& options) {
    const graph::RootCause& root = *group.front();
    std::string who;
    for (const auto* g : group) who += (who.empty() ? "" : ", ") + task_text(g->task);
    bool many = group.size() > 1;
    std::string detail;
    std::string stuck = stuck_text(root.blocked_in, many ? "" : root.summary, many, detail);
    out << fmt::format("  {} {} {} and {} — {}blocks {}\n",
                       who,
                       many ? "hold" : "holds",
                       holds_text(r, root.holds),
                       stuck,
                       many ? "each " : "",
                       plural(root.blocked_count, "task"));
    if (!detail.empty()) out << fmt::format("    ({})\n", detail);
    write_blocked_tree(out, r, root.task.pid, "    ", options);
}

}  // namespace

void write_blocked_tree(std::ostream& out,
                        const Report& r,
                        int holder_pid,
                        const std::string& indent,
                        const TextOptions& options) {
    std::map<int, std::vector<const locks::LockState*>> held;  // pid -> contended locks it holds
    for (const auto& l : r.analysis.locks) {
        if (l.waiters.empty()) continue;
        for (const auto& h : l.holders) held[h.task.pid].push_back(&l);
    }
    std::set<int> visited{holder_pid};
    std::size_t lines = 0;
    bool truncated = false;
    auto walk = [&](auto& self, int pid, const std::string& pad) -> void {
        auto it = held.find(pid);
        if (it == held.end()) return;
        for (const locks::LockState* l : it->second) {
            if (lines >= options.max_tree_lines) {
                truncated = true;
                return;
            }
            out << fmt::format("{}{} ← {}\n", pad, lock_text(*l), waiters_inline(l->waiters));
            ++lines;
            for (const locks::Waiter& w : l->waiters)
                if (visited.insert(w.task.pid).second) self(self, w.task.pid, pad + "  ");
        }
    };
    walk(walk, holder_pid, indent);
    if (truncated) out << indent << "…\n";
}

namespace {

// "panicked: hung_task: blocked tasks (khungtaskd, CPU 1; it reported lb_abba_1[148], ...)"
void write_panic(std::ostream& out, const Report& r) {
    if (!r.panic) return;
    const auto& p = *r.panic;
    std::vector<std::string> who;
    if (!p.comm.empty()) who.push_back(escape_terminal(p.comm));
    if (p.cpu >= 0) who.push_back(fmt::format("CPU {}", p.cpu));
    std::string detail = fmt::format("{}", fmt::join(who, ", "));
    if (!r.hung_tasks.empty()) {
        std::vector<std::string> names;
        for (const auto& h : r.hung_tasks)
            names.push_back(fmt::format("{}[{}]", escape_terminal(h.comm), h.pid));
        detail +=
            fmt::format("{}it reported {}", detail.empty() ? "" : "; ", fmt::join(names, ", "));
    }
    out << "panicked: " << escape_terminal(p.message);
    if (!detail.empty()) out << " (" << detail << ")";
    out << "\n";
}

// Hung tasks the log reports that no part of the analysis explains.
void write_unexplained_hung(std::ostream& out, const Report& r) {
    std::set<int> explained;
    for (const auto& l : r.analysis.locks) {
        for (const auto& w : l.waiters) explained.insert(w.task.pid);
        for (const auto& h : l.holders) explained.insert(h.task.pid);
    }
    for (const auto& b : r.analysis.blocked_on) explained.insert(b.task.pid);
    std::vector<std::string> names;
    for (const auto& h : r.hung_tasks)
        if (!explained.count(h.pid))
            names.push_back(fmt::format("{}[{}]", escape_terminal(h.comm), h.pid));
    if (!names.empty())
        out << fmt::format("  reported hung by the kernel but not explained by lockhound: {}\n",
                           fmt::join(names, ", "));
}

void write_incomplete(std::ostream& out, const Report& r) {
    const auto& c = r.completeness;
    out << "VERDICT: INCOMPLETE — the dump lacks parts the answer rests on:\n";
    for (const auto& m : c.missing) out << "  missing: " << escape_terminal(m) << "\n";
    out << fmt::format("  read: {} tasks{}",
                       c.tasks_read,
                       c.tasks_expected ? fmt::format(" of {}", *c.tasks_expected) : "");
    if (!c.recovered_by.empty())
        out << fmt::format(" (also found by: {})", fmt::join(c.recovered_by, ", "));
    out << "\n";
    for (const auto& a : c.advice) out << "  fix: " << escape_terminal(a) << "\n";
    out << "  what the tasks read still show (a cycle among them is still a cycle):\n";
}

}  // namespace

void write_verdict(std::ostream& out, const Report& r, const TextOptions& options) {
    write_panic(out, r);
    if (!r.completeness.complete) {
        write_incomplete(out, r);
        std::ostringstream inner;
        write_lock_verdict(inner, r, options);
        std::istringstream lines(inner.str());
        std::string line;
        while (std::getline(lines, line)) {
            if (line.starts_with("VERDICT: ")) line = "  " + line.substr(9);
            out << "  " << line << "\n";
        }
    } else {
        write_lock_verdict(out, r, options);
    }
    write_unexplained_hung(out, r);
}

void write_lock_verdict(std::ostream& out, const Report& r, const TextOptions& options) {
    const auto& g = r.graph;
    if (!g.cycles.empty()) write_cycles(out, r);

    std::vector<const graph::RootCause*> roots;
    for (const auto& root : g.root_causes)
        if (!root.cycle) roots.push_back(&root);
    if (!roots.empty()) {
        if (g.cycles.empty())
            out << fmt::format("VERDICT: {} blocked behind {}\n",
                               plural(g.chains.size(), "task"),
                               plural(roots.size(), "root cause"));
        else
            out << "Other blocking chains:\n";
        for (std::size_t i = 0; i < roots.size();) {
            std::size_t j = i + 1;
            while (j < roots.size() && same_story(*roots[i], *roots[j])) ++j;
            write_roots(out, r, std::span(roots).subspan(i, j - i), options);
            i = j;
        }
    }
    if (!g.state_causes.empty()) {
        if (g.cycles.empty() && roots.empty()) {
            std::size_t blocked = 0;
            for (const auto& s : g.state_causes) blocked += s.blocked_count;
            out << fmt::format("VERDICT: {} blocked behind {}\n",
                               plural(blocked, "task"),
                               plural(g.state_causes.size(), "state"));
        }
        for (const auto& s : g.state_causes) {
            out << "  " << escape_terminal(s.summary) << "\n";
            for (std::uint64_t a : s.locks)
                if (const auto* l = find_lock(r.analysis, a))
                    out << fmt::format("    {} ← {}\n", lock_text(*l), waiters_inline(l->waiters));
        }
    }
    if (!g.orphan_locks.empty()) {
        if (g.cycles.empty() && roots.empty() && g.state_causes.empty())
            out << fmt::format("VERDICT: {} waiting, holder not found\n",
                               plural(g.chains.size(), "task"));
        for (const auto& o : g.orphan_locks) {
            out << fmt::format("  {} has waiters but no holder lockhound could find — blocks {}\n",
                               lock_text(r.analysis, o.lock),
                               plural(o.blocked_count, "task"));
            if (const auto* l = find_lock(r.analysis, o.lock))
                out << fmt::format("    {} ← {}\n", lock_text(*l), waiters_inline(l->waiters));
        }
    }
    std::string undecodable;
    for (auto kind : r.analysis.undecodable_kinds())
        undecodable += fmt::format("{}{}", undecodable.empty() ? "" : ", ", locks::to_string(kind));
    if (g.cycles.empty() && roots.empty() && g.orphan_locks.empty() && g.state_causes.empty()) {
        if (!undecodable.empty())
            out << fmt::format(
                "VERDICT: analysis could not be done for {}: no lock model matches this kernel's "
                "types (see the warnings); no contention found on the other kinds\n",
                undecodable);
        else
            out << "VERDICT: no lock contention found: no task waits on a lock lockhound could "
                   "decode\n";
    } else if (!undecodable.empty()) {
        out << fmt::format(
            "  (not analysed: {}: no lock model matches this kernel's types; waits on them are "
            "missing)\n",
            undecodable);
    }
    std::vector<int> pids;  // sleepers that are not already named as a root cause
    for (const auto& t : r.analysis.unexplained)
        if (!g.root_of(t.pid)) pids.push_back(t.pid);
    if (!pids.empty())
        out << fmt::format("  {} in D state {} on nothing lockhound could decode: pids {}\n",
                           plural(pids.size(), "task"),
                           pids.size() == 1 ? "waits" : "wait",
                           compact_pids(pids));
}

}  // namespace lockhound::report::internal
