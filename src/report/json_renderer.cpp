#include "report/json_renderer.h"

#include <set>

#include <nlohmann/json.hpp>

#include "report/escape.h"
#include "report/internal/phrases.h"

namespace lockhound::report {

namespace {

using Json = nlohmann::ordered_json;
using internal::hex;

std::string clean(std::string_view s) {
    return sanitize_utf8(s);
}

Json strings(const std::vector<std::string>& v) {
    Json out = Json::array();
    for (const auto& s : v) out.push_back(clean(s));
    return out;
}

void task_fields(Json& j, const locks::TaskRef& t) {
    j["pid"] = t.pid;
    j["tgid"] = t.tgid;
    j["comm"] = clean(t.comm);
    j["task"] = hex(t.task);
}

// The object embedding the lock: only the fields that apply to its kind.
Json object_json(const locks::LockObject& o) {
    Json j;
    j["kind"] = clean(o.kind);
    j["address"] = hex(o.address);
    j["offset"] = o.offset;
    if (!o.member.empty()) j["member"] = clean(o.member);
    if (!o.cache.empty()) j["cache"] = clean(o.cache);
    if (!o.path.empty()) j["path"] = clean(o.path);
    if (o.pid) j["pid"] = o.pid;
    if (!o.comm.empty()) j["comm"] = clean(o.comm);
    if (!o.fstype.empty()) j["fstype"] = clean(o.fstype);
    if (!o.device.empty()) j["device"] = clean(o.device);
    if (o.start || o.end) {
        j["start"] = hex(o.start);
        j["end"] = hex(o.end);
    }
    if (!o.unknown_reason.empty()) j["unknown_reason"] = clean(o.unknown_reason);
    return j;
}

Json lock_json(const Report& r, const locks::LockState& l) {
    Json j;
    j["address"] = hex(l.address);
    j["type"] = locks::to_string(l.kind);
    j["name"] = l.name ? Json(clean(*l.name)) : Json(nullptr);
    if (!l.name_evidence.empty()) j["name_evidence"] = clean(l.name_evidence);
    if (l.object) j["object"] = object_json(*l.object);
    if (!l.model.empty()) j["model"] = clean(l.model);
    j["owner_raw"] = hex(l.owner_raw);
    j["count_raw"] =
        l.count_raw ? Json(hex(static_cast<std::uint64_t>(*l.count_raw))) : Json(nullptr);
    j["state"] = strings(l.state_notes);
    j["reader_count"] = l.reader_count ? Json(*l.reader_count) : Json(nullptr);
    j["held_by_state"] = l.held_by_state ? Json(clean(*l.held_by_state)) : Json(nullptr);
    auto blocked = r.graph.blocked_by_lock.find(l.address);
    j["blocked_tasks"] = blocked == r.graph.blocked_by_lock.end() ? 0 : blocked->second;
    Json holders = Json::array();
    for (const locks::Holder& h : l.holders) {
        Json hj;
        task_fields(hj, h.task);
        hj["mode"] = locks::to_string(h.mode);
        hj["confidence"] = locks::to_string(h.confidence);
        hj["evidence"] = strings(h.evidence);
        holders.push_back(std::move(hj));
    }
    j["holders"] = std::move(holders);
    Json waiters = Json::array();
    for (const locks::Waiter& w : l.waiters) {
        Json wj;
        task_fields(wj, w.task);
        wj["mode"] = locks::to_string(w.mode);
        wj["queue_pos"] = w.queue_pos;
        wj["waiter_record"] = hex(w.waiter_record);
        wj["sleeping"] = w.task_blocked;
        waiters.push_back(std::move(wj));
    }
    j["waiters"] = std::move(waiters);
    j["anomalies"] = strings(l.anomalies);
    return j;
}

Json step_json(const graph::WaitEdge& e) {
    return Json{{"waiter", e.waiter.pid},
                {"wait_mode", locks::to_string(e.wait_mode)},
                {"lock", hex(e.lock)},
                {"holder", e.holder.pid},
                {"hold_mode", locks::to_string(e.hold_mode)},
                {"confidence", locks::to_string(e.confidence)}};
}

Json state_json(const graph::StateCause& s) {
    Json locks = Json::array();
    for (auto a : s.locks) locks.push_back(hex(a));
    return Json{{"kind", "state"},
                {"state", clean(s.kind)},
                {"object", clean(s.object)},
                {"object_address", hex(s.object_address)},
                {"level", clean(s.state)},
                {"cleared_by", clean(s.clears)},
                {"summary", clean(s.summary)},
                {"blocked_tasks", s.blocked_count},
                {"blocked_pids", s.blocked_pids},
                {"locks", std::move(locks)}};
}

Json root_json(const graph::RootCause& r) {
    Json j;
    j["kind"] = "task";
    j["pid"] = r.task.pid;
    j["tgid"] = r.task.tgid;
    j["comm"] = clean(r.task.comm);
    j["blocked_in"] = clean(r.blocked_in);
    j["summary"] = clean(r.summary);
    j["blocked_tasks"] = r.blocked_count;
    Json holds = Json::array();
    for (const auto& h : r.holds)
        holds.push_back(Json{{"lock", hex(h.lock)},
                             {"mode", locks::to_string(h.mode)},
                             {"confidence", locks::to_string(h.confidence)}});
    j["holds"] = std::move(holds);
    j["cycle"] = r.cycle ? Json(*r.cycle) : Json(nullptr);
    return j;
}

void write(std::ostream& out, const Json& j) {
    out << j.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
}

}  // namespace

void render_json(std::ostream& out, const Report& report) {
    const auto& g = report.graph;
    Json j;
    j["kernel"] = Json{{"release", clean(report.kernel.release)},
                       {"dump", clean(report.kernel.dump_path)},
                       {"debuginfo", clean(report.kernel.debuginfo)}};
    Json locks_j = Json::array();
    for (const auto& l : report.analysis.locks) locks_j.push_back(lock_json(report, l));
    j["locks"] = std::move(locks_j);

    Json cycles = Json::array();
    for (const graph::Cycle& c : g.cycles) {
        Json cj;
        cj["pids"] = c.pids;
        Json addrs = Json::array();
        for (auto a : c.locks) addrs.push_back(hex(a));
        cj["locks"] = std::move(addrs);
        Json chain = Json::array();
        for (const auto& e : c.chain) chain.push_back(step_json(e));
        cj["chain"] = std::move(chain);
        cycles.push_back(std::move(cj));
    }
    j["cycles"] = std::move(cycles);

    Json roots = Json::array();
    for (const auto& r : g.root_causes) roots.push_back(root_json(r));
    for (const auto& s : g.state_causes) roots.push_back(state_json(s));
    j["root_causes"] = std::move(roots);

    Json orphans = Json::array();
    for (const auto& o : g.orphan_locks)
        orphans.push_back(Json{{"lock", hex(o.lock)}, {"blocked_tasks", o.blocked_count}});
    j["orphan_locks"] = std::move(orphans);

    Json blocked_on = Json::array();
    for (const auto& b : report.analysis.blocked_on) {
        Json bj;
        task_fields(bj, b.task);
        bj["lock"] = hex(b.lock);
        bj["evidence"] = strings(b.evidence);
        blocked_on.push_back(std::move(bj));
    }
    j["blocked_on"] = std::move(blocked_on);

    Json unexplained = Json::array();
    for (const auto& t : report.analysis.unexplained) {
        Json tj;
        task_fields(tj, t);
        unexplained.push_back(std::move(tj));
    }
    j["unexplained"] = std::move(unexplained);

    Json models = Json::array();
    for (const auto& m : report.analysis.models) {
        Json mj;
        mj["kind"] = locks::to_string(m.kind);
        mj["model"] = m.model.empty() ? Json(nullptr) : Json(m.model);
        mj["analysed"] = !m.model.empty();
        mj["not_used"] = strings(m.not_used);
        models.push_back(std::move(mj));
    }
    j["lock_models"] = std::move(models);
    if (report.panic) {
        const auto& p = *report.panic;
        Json pj{{"message", clean(p.message)},
                {"cpu", p.cpu},
                {"pid", p.pid},
                {"comm", clean(p.comm)},
                {"sources", strings(p.sources)}};
        Json hung = Json::array();
        for (const auto& h : report.hung_tasks)
            hung.push_back(Json{{"pid", h.pid}, {"comm", clean(h.comm)}, {"seconds", h.seconds}});
        pj["hung_task_reports"] = std::move(hung);
        j["panic"] = std::move(pj);
    } else {
        j["panic"] = nullptr;
    }
    Json cpus = Json::array();
    for (const auto& c : report.cpus)
        cpus.push_back(Json{{"cpu", c.cpu},
                            {"pid", c.pid},
                            {"comm", clean(c.comm)},
                            {"mode", c.mode},
                            {"panicked", c.panicked},
                            {"hints", strings(c.hints)}});
    j["cpus"] = std::move(cpus);
    const auto& cm = report.completeness;
    Json comp{{"complete", cm.complete},
              {"missing", strings(cm.missing)},
              {"recovered_by", strings(cm.recovered_by)},
              {"advice", strings(cm.advice)},
              {"tasks_read", cm.tasks_read}};
    if (cm.tasks_expected) comp["tasks_expected"] = *cm.tasks_expected;
    j["completeness"] = std::move(comp);

    Json warnings = strings(report.analysis.warnings);
    for (const auto& w : report.warnings) warnings.push_back(clean(w));
    j["warnings"] = std::move(warnings);
    write(out, j);
}

void render_lock_json(std::ostream& out, const Report& report, const locks::LockState& lock) {
    std::set<std::size_t> reached;
    for (const graph::Chain& c : report.graph.chains)
        for (const locks::Waiter& w : lock.waiters)
            if (c.waiter.pid == w.task.pid) reached.insert(c.roots.begin(), c.roots.end());
    Json roots = Json::array();
    for (std::size_t i : reached) roots.push_back(root_json(report.graph.root_causes[i]));
    Json j;
    j["lock"] = lock_json(report, lock);
    j["root_causes"] = std::move(roots);
    write(out, j);
}

}  // namespace lockhound::report
