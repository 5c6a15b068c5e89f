#include <fmt/format.h>
#include <fmt/ranges.h>

#include "report/escape.h"
#include "report/internal/phrases.h"
#include "report/internal/text_sections.h"
#include "report/internal/waiter_groups.h"

namespace lockhound::report::internal {

namespace {

std::string task_with_tgid(const locks::TaskRef& t) {
    std::string s = task_text(t);
    if (t.tgid != 0 && t.tgid != t.pid) s += fmt::format(" (tgid {})", t.tgid);
    return s;
}

void write_state(std::ostream& out, const locks::LockState& l) {
    for (std::size_t i = 0; i < l.state_notes.size(); ++i)
        out << fmt::format(
            "  {:<7}{}\n", i == 0 ? "state:" : "", escape_terminal(l.state_notes[i]));
    std::vector<std::string> raw;
    if (l.count_raw)
        raw.push_back(fmt::format("count {:#x}", static_cast<std::uint64_t>(*l.count_raw)));
    if (l.owner_raw != 0) raw.push_back(fmt::format("owner {}", hex(l.owner_raw)));
    if (!l.model.empty()) raw.push_back("model " + escape_terminal(l.model));
    if (!raw.empty()) out << fmt::format("  raw:   {}\n", fmt::join(raw, ", "));
}

std::string position(const WaiterRun& r) {
    int first = r.members.front()->queue_pos;
    int last = r.members.back()->queue_pos;
    return first == last ? fmt::format("#{}", first) : fmt::format("#{}-{}", first, last);
}

void write_waiter(std::ostream& out, const locks::Waiter& w) {
    out << fmt::format("    {:<8} {} ({}){}\n",
                       fmt::format("#{}", w.queue_pos),
                       task_with_tgid(w.task),
                       locks::to_string(w.mode),
                       w.task_blocked ? "" : " [queued but not sleeping]");
}

void write_run(std::ostream& out, const WaiterRun& r) {
    if (r.members.size() <= 2) {
        for (const auto* w : r.members) write_waiter(out, *w);
        return;
    }
    std::vector<int> pids;
    for (const auto* w : r.members) pids.push_back(w->task.pid);
    out << fmt::format("    {:<8} {} waiting for {}: pids {}\n",
                       position(r),
                       comm_summary(r.comms, escape_terminal),
                       locks::to_string(r.mode),
                       compact_pids(pids));
}

void write_waiters(std::ostream& out, const locks::LockState& l, const TextOptions& options) {
    if (l.waiters.empty()) {
        out << "  no waiters\n";
        return;
    }
    out << fmt::format("  waiters ({}, queue order):\n", l.waiters.size());
    auto runs = waiter_runs(l.waiters);
    if (runs.size() <= options.max_waiter_lines) {
        for (const auto& r : runs) write_run(out, r);
        return;
    }
    constexpr std::size_t kHead = 3;  // the front of the queue, one by one
    std::span<const locks::Waiter> all(l.waiters);
    for (const auto& w : all.first(kHead)) write_waiter(out, w);
    out << "    then, modes interleaved in the queue:\n";
    for (const auto& r : waiters_by_mode(all.subspan(kHead))) {
        std::vector<int> pids;
        for (const auto* w : r.members) pids.push_back(w->task.pid);
        out << fmt::format("    {:<8} {} waiting for {}: pids {}\n",
                           "",
                           comm_summary(r.comms, escape_terminal),
                           locks::to_string(r.mode),
                           compact_pids(pids));
    }
}

void write_backtrace(std::ostream& out,
                     const Report& report,
                     const locks::Holder& h,
                     const TextOptions& options) {
    const locks::TaskActivity* a = find_activity(report.analysis, h.task.pid);
    if (!a) return;
    std::string what = escape_terminal(a->blocked_in);
    if (!a->summary.empty() && a->summary != a->blocked_in)
        what += (what.empty() ? "" : ": ") + escape_terminal(a->summary);
    out << fmt::format("    {}{}{}\n", task_text(h.task), what.empty() ? "" : " — ", what);
    std::size_t n = std::min(a->frames.size(), options.max_frames);
    for (std::size_t i = 0; i < n; ++i) {
        const locks::Frame& f = a->frames[i];
        out << fmt::format(
            "      #{} {}\n", i, f.symbol.empty() ? hex(f.pc) : escape_terminal(f.symbol));
    }
    if (a->frames.size() > n)
        out << fmt::format("      … ({} more frames)\n", a->frames.size() - n);
}

}  // namespace

void write_lock(std::ostream& out,
                const Report& report,
                const locks::LockState& l,
                const TextOptions& options,
                std::set<int>& backtraces_shown) {
    out << fmt::format("{} {}{}\n",
                       locks::to_string(l.kind),
                       hex(l.address),
                       l.name ? "  " + escape_terminal(*l.name) : "");
    if (l.name && !l.name_evidence.empty())
        out << fmt::format("  named from: {}\n", escape_terminal(l.name_evidence));
    write_state(out, l);
    if (l.reader_count) out << fmt::format("  readers by count: {}\n", *l.reader_count);
    if (auto it = report.graph.blocked_by_lock.find(l.address);
        it != report.graph.blocked_by_lock.end())
        out << fmt::format("  tasks blocked behind it: {}\n", it->second);

    if (l.holders.empty()) out << "  holder: none found\n";
    for (const locks::Holder& h : l.holders) {
        out << fmt::format(
            "  holder: {} ({})\n", task_with_tgid(h.task), hold_text(h.mode, h.confidence));
        for (const auto& e : h.evidence) out << fmt::format("    - {}\n", escape_terminal(e));
    }
    write_waiters(out, l, options);

    bool any_backtrace = false;
    for (const locks::Holder& h : l.holders) {
        const auto* a = find_activity(report.analysis, h.task.pid);
        if (!a) continue;
        if (!any_backtrace) out << "  holder backtraces:\n";
        any_backtrace = true;
        if (backtraces_shown.insert(h.task.pid).second)
            write_backtrace(out, report, h, options);
        else
            out << fmt::format("    {}: see above\n", task_text(h.task));
    }
    if (!l.anomalies.empty()) {
        out << "  anomalies:\n";
        for (const auto& a : l.anomalies) out << fmt::format("    ! {}\n", escape_terminal(a));
    }
}

}  // namespace lockhound::report::internal
