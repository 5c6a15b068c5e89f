#include <gtest/gtest.h>

#include "graph/build_graph.h"
#include "graph_scenarios.h"

namespace lockhound::testing {
namespace {

using locks::Confidence;
using locks::LockKind;
using locks::Mode;

TEST(GraphCycles, TwoMutexCycle) {
    auto b = abba_mutex();
    graph::GraphResult g = graph::build_graph(b.analysis);
    ASSERT_EQ(g.cycles.size(), 1u);
    const graph::Cycle& c = g.cycles[0];
    EXPECT_EQ(c.pids, (std::vector<int>{93, 94}));
    EXPECT_EQ(c.locks, (std::vector<std::uint64_t>{kMutexA, kMutexB}));
    ASSERT_EQ(c.chain.size(), 2u);
    EXPECT_EQ(c.chain[0].waiter.pid, 93);
    EXPECT_EQ(c.chain[0].lock, kMutexB);
    EXPECT_EQ(c.chain[0].holder.pid, 94);
    EXPECT_EQ(c.chain[1].waiter.pid, 94);
    EXPECT_EQ(c.chain[1].lock, kMutexA);
    EXPECT_EQ(c.chain[1].holder.pid, 93);

    ASSERT_EQ(g.root_causes.size(), 1u);
    EXPECT_EQ(g.root_causes[0].task.pid, 93);
    EXPECT_EQ(g.root_causes[0].task.comm, "lb_abba_1");
    EXPECT_EQ(g.root_causes[0].cycle, std::optional<std::size_t>(0));
    EXPECT_EQ(g.root_causes[0].blocked_count, 2u);  // 94 and the bystander
    EXPECT_EQ(g.blocked_by_lock.at(kMutexA), 3u);   // 94, 95, and 93 through B
    EXPECT_EQ(g.cycle_of(94), &g.cycles[0]);
    EXPECT_EQ(g.cycle_of(95), nullptr);
}

TEST(GraphCycles, MutexRwsemCycleAcrossLockTypes) {
    auto b = mixed_cycle();
    graph::GraphResult g = graph::build_graph(b.analysis);
    ASSERT_EQ(g.cycles.size(), 1u);
    const graph::Cycle& c = g.cycles[0];
    EXPECT_EQ(c.pids, (std::vector<int>{96, 97}));
    EXPECT_EQ(c.locks, (std::vector<std::uint64_t>{kTableRwsem, kCfgMutex}));
    ASSERT_EQ(c.chain.size(), 2u);
    EXPECT_EQ(c.chain[0].waiter.pid, 96);
    EXPECT_EQ(c.chain[0].wait_mode, Mode::kWrite);
    EXPECT_EQ(c.chain[0].lock, kTableRwsem);
    EXPECT_EQ(c.chain[0].holder.pid, 97);
    EXPECT_EQ(c.chain[0].hold_mode, Mode::kRead);
    EXPECT_EQ(c.chain[0].confidence, Confidence::kLikely);
    EXPECT_EQ(c.chain[1].waiter.pid, 97);
    EXPECT_EQ(c.chain[1].lock, kCfgMutex);
    EXPECT_EQ(c.chain[1].holder.pid, 96);
    EXPECT_EQ(c.chain[1].hold_mode, Mode::kExclusive);

    ASSERT_EQ(g.root_causes.size(), 1u);
    const graph::RootCause& r = g.root_causes[0];
    EXPECT_EQ(r.task.pid, 96);
    EXPECT_EQ(r.blocked_count, 3u);  // 97, 98, 99 (as the sample dump's truth says)
    EXPECT_EQ(r.blocked_in, "deadlock");
    EXPECT_NE(r.summary.find("96, 97"), std::string::npos);
    ASSERT_EQ(r.holds.size(), 1u);
    EXPECT_EQ(r.holds[0].lock, kCfgMutex);

    // Bystanders' chains lead into the cycle.
    ASSERT_EQ(g.chains.size(), 4u);
    const graph::Chain& stats = g.chains[2];
    EXPECT_EQ(stats.waiter.pid, 98);
    EXPECT_EQ(stats.roots, (std::vector<std::size_t>{0}));
    ASSERT_EQ(stats.steps.size(), 2u);  // 98 -> rwsem -> 97 -> mutex -> 96
    EXPECT_EQ(stats.steps[0].lock, kTableRwsem);
    EXPECT_EQ(stats.steps[0].holder.pid, 97);
    EXPECT_EQ(stats.steps[1].lock, kCfgMutex);
    EXPECT_EQ(stats.steps[1].holder.pid, 96);
    // The cycle root's own chain is the cycle.
    EXPECT_EQ(g.chains[0].waiter.pid, 96);
    EXPECT_EQ(g.chains[0].steps.size(), 2u);
    EXPECT_EQ(g.chains[0].steps.back().holder.pid, 96);
}

TEST(GraphCycles, SelfDeadlock) {
    AnalysisBuilder b;
    constexpr std::uint64_t kM = 0xffff888004a21c30;
    auto t = b.task(50, "selfish"), other = b.task(51, "victim");
    b.lock(kM, LockKind::kMutex, "dev->lock");
    b.hold(kM, t);
    b.wait(kM, t);
    b.wait(kM, other);
    graph::GraphResult g = graph::build_graph(b.analysis);
    ASSERT_EQ(g.cycles.size(), 1u);
    EXPECT_EQ(g.cycles[0].pids, (std::vector<int>{50}));
    EXPECT_EQ(g.cycles[0].locks, (std::vector<std::uint64_t>{kM}));
    ASSERT_EQ(g.cycles[0].chain.size(), 1u);
    EXPECT_EQ(g.cycles[0].chain[0].waiter.pid, 50);
    EXPECT_EQ(g.cycles[0].chain[0].holder.pid, 50);
    ASSERT_EQ(g.root_causes.size(), 1u);
    EXPECT_EQ(g.root_causes[0].task.pid, 50);
    EXPECT_EQ(g.root_causes[0].blocked_count, 1u);
    EXPECT_EQ(g.root_causes[0].cycle, std::optional<std::size_t>(0));
}

TEST(GraphCycles, ThreeTaskCycleStartsAtLowestPid) {
    AnalysisBuilder b;
    auto t7 = b.task(7, "c"), t3 = b.task(3, "a"), t5 = b.task(5, "b");
    b.lock(0x30, LockKind::kMutex);
    b.lock(0x50, LockKind::kSemaphore);
    b.lock(0x70, LockKind::kRwSemaphore);
    b.hold(0x30, t3);
    b.hold(0x50, t5, Mode::kExclusive, Confidence::kPossible);
    b.hold(0x70, t7, Mode::kWrite);
    b.wait(0x50, t3);
    b.wait(0x70, t5, Mode::kRead);
    b.wait(0x30, t7);
    graph::GraphResult g = graph::build_graph(b.analysis);
    ASSERT_EQ(g.cycles.size(), 1u);
    EXPECT_EQ(g.cycles[0].pids, (std::vector<int>{3, 5, 7}));
    ASSERT_EQ(g.cycles[0].chain.size(), 3u);
    EXPECT_EQ(g.cycles[0].chain[0].waiter.pid, 3);
    EXPECT_EQ(g.cycles[0].chain[0].confidence, Confidence::kPossible);
    EXPECT_EQ(g.cycles[0].chain[1].waiter.pid, 5);
    EXPECT_EQ(g.cycles[0].chain[2].waiter.pid, 7);
    EXPECT_EQ(g.cycles[0].chain[2].holder.pid, 3);
    EXPECT_EQ(g.root_causes.at(0).blocked_count, 2u);
}

TEST(GraphCycles, NoContention) {
    graph::GraphResult empty = graph::build_graph(locks::LockAnalysis{});
    EXPECT_TRUE(empty.cycles.empty());
    EXPECT_TRUE(empty.root_causes.empty());
    EXPECT_TRUE(empty.chains.empty());

    AnalysisBuilder b;  // a held lock nobody waits for
    b.lock(0x1000, LockKind::kMutex, "quiet");
    b.hold(0x1000, b.task(10, "holder"));
    graph::GraphResult g = graph::build_graph(b.analysis);
    EXPECT_TRUE(g.cycles.empty());
    EXPECT_TRUE(g.root_causes.empty());
    EXPECT_TRUE(g.chains.empty());
    EXPECT_TRUE(g.orphan_locks.empty());
    EXPECT_EQ(g.blocked_by_task.at(10), 0u);
}

}  // namespace
}  // namespace lockhound::testing
