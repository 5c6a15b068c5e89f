// Dumps of other kernels (PREEMPT_RT, 6.12, 7.x, 5.10) made by the dump generators and kept out of
// git under $LOCKHOUND_EXTRA_DUMPS (default ~/.cache/lh-dumps/<release>/<scenario>/): `analyze
// --format json` in DWARF mode (when that release's vmlinux is cached) and from the dump alone,
// against the guest kernel's truth.json. Every dump: the verdict is never "no lock contention"
// when the truth has contended locks. The cells measured exact (kExact) must match exactly:
// locks, holders, waiters in queue order, cycles and root cause; their `bt` must contain every
// /proc/PID/stack frame, module frames included. Absent dumps skip.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "support/shared_dumps.h"
#include "support/truth.h"

namespace lockhound {
namespace {

using testing::run_lockhound;

// Release and scenario directory of each cell measured exact (locks, holders, waiters in order,
// cycles, root cause), by mode; `names`: the truth's lock labels are in lockhound's names; `bt`:
// every /proc/PID/stack frame, module frames included, is in `bt`. What a cell lacks is what is
// left to do there (6.12, 7.2: module symbols of the 6.4+ module layout are not resolved yet).
struct Cell {
    const char* release;
    const char* scenario;
    bool dwarf, btf, names, bt;
};
constexpr Cell kExact[] = {
    {"6.1.0-56-rt-amd64", "df-abba-mutex", true, true, true, true},
    {"6.12.117+deb12-amd64", "df-abba-mutex", true, true, false, false},
    {"7.2.13+deb14-amd64", "df-abba-mutex", true, false, false, false},
};

const Cell* exact_cell(const testing::SharedDump& d) {
    for (const auto& c : kExact)
        if (d.release == c.release && d.scenario == c.scenario) return &c;
    return nullptr;
}

struct Run {
    std::string name;
    std::string dump;
    std::string source;  // the vmlinux, or --no-vmlinux
    bool btf = false;
};

std::vector<Run> runs(const testing::SharedDump& d) {
    std::vector<Run> out;
    const std::string& f = d.vmcores.front();
    if (auto v = testing::release_vmlinux(d.release))
        out.push_back({d.name() + ":dwarf", f, *v, false});
    out.push_back({d.name() + ":btf", f, "--no-vmlinux", true});
    return out;
}

nlohmann::json analyze_json(const Run& r) {
    auto res = run_lockhound({"analyze", "-q", "--format", "json", r.dump, r.source}, 120);
    EXPECT_TRUE(res.status == 0 || res.status == 3) << r.name << ": " << res.status << res.err;
    auto j = nlohmann::json::parse(res.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.name << ": " << res.out.substr(0, 400) << res.err;
    return j;
}

void expect_exact(const Run& r,
                  const nlohmann::json& j,
                  const nlohmann::json& truth_json,
                  bool names) {
    SCOPED_TRACE(r.name);
    auto truth = testing::parse_truth(truth_json);
    std::map<std::uint64_t, nlohmann::json> by_addr;
    for (const auto& l : j["locks"])
        by_addr[std::stoull(l["address"].get<std::string>(), nullptr, 16)] = l;
    EXPECT_EQ(by_addr.size(), truth.locks.size()) << "contended locks";
    for (const auto& tl : truth.locks) {
        SCOPED_TRACE(tl.name);
        auto it = by_addr.find(tl.address);
        ASSERT_NE(it, by_addr.end()) << "lock " << std::hex << tl.address << " not found";
        const auto& l = it->second;
        EXPECT_EQ(l["type"].get<std::string>(), tl.type);
        if (names) {
            ASSERT_TRUE(l["name"].is_string()) << l.dump();
            EXPECT_NE(l["name"].get<std::string>().find(tl.name), std::string::npos) << l["name"];
        }
        std::set<std::pair<int, std::string>> want_h, got_h;
        for (const auto& h : tl.holders) want_h.insert({h.pid, h.mode});
        for (const auto& h : l["holders"])
            got_h.insert({h["pid"].get<int>(), h["mode"].get<std::string>()});
        EXPECT_EQ(got_h, want_h) << "holders";
        std::vector<std::pair<int, std::string>> want_w, got_w;
        for (const auto& w : tl.waiters) want_w.push_back({w.pid, w.mode});
        for (const auto& w : l["waiters"])
            got_w.push_back({w["pid"].get<int>(), w["mode"].get<std::string>()});
        EXPECT_EQ(got_w, want_w) << "waiters in queue order";
    }
    std::set<std::vector<int>> want_c(truth.cycles.begin(), truth.cycles.end()), got_c;
    for (const auto& c : j["cycles"]) {
        auto pids = c["pids"].get<std::vector<int>>();
        std::sort(pids.begin(), pids.end());
        got_c.insert(pids);
    }
    EXPECT_EQ(got_c, want_c) << "cycles";
    if (truth.root_pid && truth.cycles.empty()) {
        ASSERT_FALSE(j["root_causes"].empty());
        EXPECT_TRUE(truth.acceptable_roots.count(j["root_causes"][0]["pid"].get<int>()))
            << j["root_causes"][0].dump();
    }
}

TEST(KernelMatrix, NeverClaimsNoContentionWhenTheTruthHasLocks) {
    auto dumps = testing::extra_dumps();
    if (dumps.empty()) GTEST_SKIP() << "no dumps under $LOCKHOUND_EXTRA_DUMPS (~/.cache/lh-dumps)";
    for (const auto& d : dumps) {
        if (d.truth.value("locks", nlohmann::json::array()).empty()) continue;
        for (const auto& r : runs(d)) {
            auto res = run_lockhound({"analyze", "-q", r.dump, r.source}, 120);
            SCOPED_TRACE(r.name);
            if (res.status == 2) continue;  // the dump could not be opened: said on stderr
            EXPECT_EQ(res.out.find("VERDICT: no lock contention found"), std::string::npos)
                << res.out;
        }
    }
}

TEST(KernelMatrix, ExactCellsMatchTheTruth) {
    bool any = false;
    for (const auto& d : testing::extra_dumps()) {
        const Cell* cell = exact_cell(d);
        if (!cell) continue;
        for (const auto& r : runs(d)) {
            if (r.btf ? !cell->btf : !cell->dwarf) continue;
            any = true;
            expect_exact(r, analyze_json(r), d.truth, cell->names);
        }
    }
    if (!any) GTEST_SKIP() << "none of the exact cells' dumps is under ~/.cache/lh-dumps";
}

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

TEST(KernelMatrix, ExactCellsBacktracesHoldTheProcStack) {
    bool any = false;
    for (const auto& d : testing::extra_dumps()) {
        const Cell* cell = exact_cell(d);
        if (!cell || !cell->btf || !cell->bt) continue;
        any = true;
        SCOPED_TRACE(d.name());
        auto r = run_lockhound({"bt", "-q", "--state", "D", "--no-vmlinux", d.vmcores.front()});
        ASSERT_TRUE(r.status == 0 || r.status == 3) << r.status << r.err;
        std::map<int, std::vector<std::string>> frames;
        int pid = -1;
        for (const auto& l : lines_of(r.out)) {
            if (l.starts_with("PID: ")) {
                pid = std::stoi(l.substr(5));
                frames[pid];
            } else if (l.starts_with(" #") && pid >= 0) {
                if (auto close = l.find("] "); close != std::string::npos)
                    frames[pid].push_back(l.substr(close + 2));
            }
            EXPECT_EQ(l.find("backtrace stopped"), std::string::npos) << l;
        }
        for (const auto& b : d.truth["blocked_tasks"]) {
            int p = b["pid"].get<int>();
            SCOPED_TRACE(fmt::format("pid {}", p));
            ASSERT_TRUE(frames.count(p));
            const auto& got = frames[p];
            std::size_t pos = 0;
            for (const auto& s : b.value("stack", nlohmann::json::array())) {
                while (pos < got.size() && got[pos] != s.get<std::string>()) ++pos;
                ASSERT_LT(pos, got.size()) << "missing " << s;
                ++pos;
            }
        }
    }
    if (!any) GTEST_SKIP() << "none of the exact cells' dumps is under ~/.cache/lh-dumps";
}

}  // namespace
}  // namespace lockhound
