// `lockhound analyze` and `lockhound who-holds` on every dump with a truth.json (../shared/dumps
// and sample_dumps): cycles, root cause and blocked count from the JSON output, the text verdict,
// the DOT graph, and one lock's holders.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "support/shared_dumps.h"
#include "support/truth.h"

namespace lockhound {
namespace {

using testing::run_lockhound;

struct Case {
    testing::SharedDump dump;
    std::string vmcore;
    std::string vmlinux;
};

std::vector<Case> cases() {
    std::vector<Case> out;
    for (const auto& d : testing::all_truth_dumps()) {
        auto v = testing::vmlinux_for(d.release);
        if (v && !d.vmcores.empty()) out.push_back({d, d.vmcores.front(), *v});
    }
    return out;
}

bool answered(int status) {
    return status == 0 || status == 3;  // 3: an answer, with unreadable parts of the dump
}

TEST(AnalyzeCommand, JsonMatchesTruthOnEveryDump) {
    auto cs = cases();
    if (cs.empty()) GTEST_SKIP() << "no dumps with truth.json and a matching vmlinux";
    for (const auto& c : cs) {
        SCOPED_TRACE(c.dump.name());
        auto truth = testing::parse_truth(c.dump.truth);
        auto r = run_lockhound({"analyze", "--format", "json", c.vmcore, c.vmlinux});
        ASSERT_TRUE(answered(r.status)) << r.err;
        nlohmann::json j;
        ASSERT_NO_THROW(j = nlohmann::json::parse(r.out)) << r.out.substr(0, 500);

        std::set<std::vector<int>> want(truth.cycles.begin(), truth.cycles.end()), got;
        for (const auto& cy : j["cycles"]) got.insert(cy["pids"].get<std::vector<int>>());
        EXPECT_EQ(j["locks"].size(), truth.locks.size());
        if (std::string gap = testing::known_holder_gap(c.dump.name()); !gap.empty()) {
            // Holders missing: no invented cycle, and the verdict is not a certain deadlock.
            EXPECT_TRUE(std::includes(want.begin(), want.end(), got.begin(), got.end()));
            std::cout << "[ KNOWN GAP ] " << gap << "\n";
            continue;
        }
        EXPECT_EQ(got, want) << "cycles";

        ASSERT_FALSE(j["root_causes"].empty());
        const auto& root = j["root_causes"][0];
        if (!truth.root_state_summary.empty()) {
            // A root cause that is a state: no task, the same summary as the guest's truth.
            EXPECT_EQ(root["kind"], "state") << root.dump();
            EXPECT_EQ(root["summary"], truth.root_state_summary);
            std::vector<int> want_pids = c.dump.truth["root_cause"]["direct_waiters"];
            EXPECT_GE(root["blocked_pids"].size(), want_pids.size());
        } else if (truth.cycles.empty()) {
            EXPECT_TRUE(truth.acceptable_roots.contains(root["pid"].get<int>())) << root.dump();
        } else {
            EXPECT_EQ(root["pid"], truth.root_pid);
        }
        const auto& tr = c.dump.truth["root_cause"];
        if (tr.contains("transitively_blocked_tasks")) {
            EXPECT_EQ(root["blocked_tasks"], tr["transitively_blocked_tasks"]);
        }
        if (tr.contains("blocked_in")) {
            EXPECT_EQ(root["blocked_in"], tr["blocked_in"]);
        }
        EXPECT_EQ(j["locks"].size(), truth.locks.size());
    }
}

TEST(AnalyzeCommand, TextVerdictAndDot) {
    auto cs = cases();
    if (cs.empty()) GTEST_SKIP() << "no dumps with truth.json and a matching vmlinux";
    for (const auto& c : cs) {
        SCOPED_TRACE(c.dump.name());
        auto truth = testing::parse_truth(c.dump.truth);
        auto text = run_lockhound({"analyze", c.vmcore, c.vmlinux});
        ASSERT_TRUE(answered(text.status)) << text.err;
        auto verdict = text.out.find("VERDICT: ");
        ASSERT_NE(verdict, std::string::npos) << text.out;
        EXPECT_LT(verdict, text.out.find("Locks ("));
        if (!testing::known_holder_gap(c.dump.name()).empty()) continue;  // see JsonMatchesTruth
        if (!truth.cycles.empty()) {
            EXPECT_EQ(text.out.compare(verdict, 17, "VERDICT: deadlock"), 0);
        }
        if (truth.root_state_summary.empty())
            EXPECT_NE(text.out.find(fmt::format("pid {} ", truth.root_pid)), std::string::npos);
        else
            EXPECT_NE(text.out.find(truth.root_state_summary), std::string::npos) << text.out;

        auto dot = run_lockhound({"analyze", "--format", "dot", c.vmcore, c.vmlinux});
        ASSERT_TRUE(answered(dot.status)) << dot.err;
        EXPECT_TRUE(dot.out.starts_with("digraph lockhound {"));
        std::string graph = dot.out.substr(0, dot.out.find("subgraph cluster_legend"));
        EXPECT_EQ(graph.find("color=red") != std::string::npos, !truth.cycles.empty());
    }
}

TEST(WhoHoldsCommand, HoldersOfEachTruthLock) {
    auto cs = cases();
    if (cs.empty()) GTEST_SKIP() << "no dumps with truth.json and a matching vmlinux";
    const auto& c = cs.front();
    auto truth = testing::parse_truth(c.dump.truth);
    for (const auto& tl : truth.locks) {
        SCOPED_TRACE(c.dump.name() + " " + tl.name);
        auto r = run_lockhound({"who-holds",
                                fmt::format("{:#x}", tl.address),
                                c.vmcore,
                                c.vmlinux,
                                "--format",
                                "json"});
        ASSERT_TRUE(answered(r.status)) << r.err;
        auto j = nlohmann::json::parse(r.out);
        EXPECT_EQ(j["lock"]["type"], tl.type);
        std::set<int> want, got;
        for (const auto& h : tl.holders) want.insert(h.pid);
        for (const auto& h : j["lock"]["holders"]) got.insert(h["pid"].get<int>());
        EXPECT_EQ(got, want);
        EXPECT_EQ(j["lock"]["waiters"].size(), tl.waiters.size());
    }
    auto bad = run_lockhound({"who-holds", "no_such_symbol_xyz", c.vmcore, c.vmlinux});
    EXPECT_EQ(bad.status, 1);
}

}  // namespace
}  // namespace lockhound
