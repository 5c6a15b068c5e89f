#include "report/text_renderer.h"

#include <set>

#include <fmt/format.h>

#include "report/escape.h"
#include "report/internal/phrases.h"
#include "report/internal/text_sections.h"

namespace lockhound::report {

namespace {

void write_header(std::ostream& out, const Report& r) {
    const KernelSummary& k = r.kernel;
    out << fmt::format("lockhound: {}\n",
                       k.dump_path.empty() ? "(no dump path)" : escape_terminal(k.dump_path));
    std::string facts;
    if (!k.release.empty()) facts += "kernel " + escape_terminal(k.release);
    if (!k.debuginfo.empty())
        facts += (facts.empty() ? "" : "; ") + ("debuginfo " + escape_terminal(k.debuginfo));
    if (!facts.empty()) out << facts << "\n";
    out << "\n";
}

void write_warnings(std::ostream& out, const Report& r, const TextOptions& options) {
    std::vector<const std::string*> all;
    for (const auto& w : r.analysis.warnings) all.push_back(&w);
    for (const auto& w : r.warnings) all.push_back(&w);
    if (all.empty()) return;
    out << fmt::format("\nWarnings ({}):\n", all.size());
    for (std::size_t i = 0; i < all.size() && i < options.max_warnings; ++i)
        out << fmt::format("  {}\n", escape_terminal(*all[i]));
    if (all.size() > options.max_warnings)
        out << fmt::format("  … and {} more\n", all.size() - options.max_warnings);
}

// Sleepers that wait on no decoded lock and are not already named as a root cause.
void write_unexplained(std::ostream& out, const Report& r) {
    std::vector<const locks::TaskRef*> tasks;
    for (const auto& t : r.analysis.unexplained)
        if (!r.graph.root_of(t.pid)) tasks.push_back(&t);
    if (tasks.empty()) return;
    out << fmt::format("\nOther tasks in D state, waiting on no decoded lock ({}):\n",
                       tasks.size());
    for (const auto* tp : tasks) {
        const locks::TaskRef& t = *tp;
        const auto* a = internal::find_activity(r.analysis, t.pid);
        std::string what;
        if (a) what = escape_terminal(a->summary.empty() ? a->blocked_in : a->summary);
        out << fmt::format("  {}{}{}\n", internal::task_text(t), what.empty() ? "" : " — ", what);
    }
}

}  // namespace

void render_text(std::ostream& out, const Report& report, const TextOptions& options) {
    write_header(out, report);
    internal::write_verdict(out, report, options);
    if (!report.analysis.locks.empty())
        out << fmt::format("\nLocks ({}):\n", report.analysis.locks.size());
    std::set<int> backtraces_shown;
    for (const auto& l : report.analysis.locks) {
        out << "\n";
        internal::write_lock(out, report, l, options, backtraces_shown);
    }
    write_unexplained(out, report);
    write_warnings(out, report, options);
}

void render_lock_text(std::ostream& out,
                      const Report& report,
                      const locks::LockState& lock,
                      const TextOptions& options) {
    std::set<int> backtraces_shown;
    internal::write_lock(out, report, lock, options, backtraces_shown);
    // Where the holders' own waits lead.
    for (const locks::Holder& h : lock.holders) {
        for (const graph::Chain& c : report.graph.chains) {
            if (c.waiter.pid != h.task.pid || c.steps.empty()) continue;
            out << fmt::format("  {} is itself waiting:\n", internal::task_text(h.task));
            for (const graph::WaitEdge& e : c.steps)
                out << "    " << internal::step_text(report.analysis, e) << "\n";
        }
    }
    std::set<std::size_t> roots;
    for (const graph::Chain& c : report.graph.chains)
        for (const locks::Waiter& w : lock.waiters)
            if (c.waiter.pid == w.task.pid) roots.insert(c.roots.begin(), c.roots.end());
    for (std::size_t i : roots) {
        const graph::RootCause& r = report.graph.root_causes[i];
        out << fmt::format(
            "  root cause: {}{} — blocks {} task(s)\n",
            internal::task_text(r.task),
            r.blocked_in.empty() ? "" : ", stuck in " + escape_terminal(r.blocked_in),
            r.blocked_count);
    }
}

}  // namespace lockhound::report
