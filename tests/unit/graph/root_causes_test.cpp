#include <chrono>

#include <gtest/gtest.h>

#include "graph/build_graph.h"
#include "graph_scenarios.h"

namespace lockhound::testing {
namespace {

using locks::Confidence;
using locks::LockKind;
using locks::Mode;

TEST(GraphRootCauses, ChainEndingInIoBlockedHolder) {
    auto b = mutex_chain_io();
    graph::GraphResult g = graph::build_graph(b.analysis);
    EXPECT_TRUE(g.cycles.empty());
    ASSERT_EQ(g.root_causes.size(), 1u);
    const graph::RootCause& r = g.root_causes[0];
    EXPECT_EQ(r.task.pid, 92);
    EXPECT_EQ(r.task.comm, "lb_chain_t3");
    EXPECT_EQ(r.blocked_in, "io_schedule");
    EXPECT_EQ(r.blocked_count, 3u);
    EXPECT_FALSE(r.cycle);
    ASSERT_EQ(r.holds.size(), 2u);
    EXPECT_EQ(r.holds[0].lock, kM2);
    EXPECT_EQ(r.holds[1].lock, kM3);

    EXPECT_EQ(g.blocked_by_lock.at(kM1), 1u);
    EXPECT_EQ(g.blocked_by_lock.at(kM2), 2u);
    EXPECT_EQ(g.blocked_by_lock.at(kM3), 1u);
    EXPECT_EQ(g.blocked_by_task.at(93), 1u);
    EXPECT_EQ(g.blocked_by_task.at(92), 3u);

    ASSERT_EQ(g.chains.size(), 3u);  // 93, 94, 95 wait
    const graph::Chain& t1 = g.chains[1];
    EXPECT_EQ(t1.waiter.pid, 94);
    EXPECT_EQ(t1.roots, (std::vector<std::size_t>{0}));
    ASSERT_EQ(t1.steps.size(), 2u);
    EXPECT_EQ(t1.steps[0].waiter.pid, 94);
    EXPECT_EQ(t1.steps[0].lock, kM1);
    EXPECT_EQ(t1.steps[0].holder.pid, 93);
    EXPECT_EQ(t1.steps[1].waiter.pid, 93);
    EXPECT_EQ(t1.steps[1].lock, kM2);
    EXPECT_EQ(t1.steps[1].holder.pid, 92);
}

TEST(GraphRootCauses, ThreeReaderHoldersEachBlockFive) {
    auto b = rwsem_readers();
    graph::GraphResult g = graph::build_graph(b.analysis);
    EXPECT_TRUE(g.cycles.empty());
    ASSERT_EQ(g.root_causes.size(), 3u);
    for (int i = 0; i < 3; ++i) {
        const auto& r = g.root_causes[static_cast<std::size_t>(i)];
        EXPECT_EQ(r.task.pid, 92 + i);  // equal counts: by pid
        EXPECT_EQ(r.blocked_count, 5u);
        EXPECT_EQ(r.blocked_in, "schedule");
        ASSERT_EQ(r.holds.size(), 1u);
        EXPECT_EQ(r.holds[0].mode, Mode::kRead);
        EXPECT_EQ(r.holds[0].confidence, Confidence::kLikely);
    }
    EXPECT_EQ(g.blocked_by_lock.at(kRwsemR), 5u);
    ASSERT_EQ(g.chains.size(), 5u);
    for (const auto& c : g.chains) {
        EXPECT_EQ(c.roots, (std::vector<std::size_t>{0, 1, 2}));
        ASSERT_EQ(c.steps.size(), 1u);
        EXPECT_EQ(c.steps[0].holder.pid, 92);
    }
    EXPECT_EQ(g.chains[0].steps[0].wait_mode, Mode::kWrite);
}

TEST(GraphRootCauses, TwoThousandWaiters) {
    auto start = std::chrono::steady_clock::now();
    auto b = many_waiters(2000);
    graph::GraphResult g = graph::build_graph(b.analysis);
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_LT(elapsed, std::chrono::seconds(2));
    EXPECT_TRUE(g.cycles.empty());
    ASSERT_EQ(g.root_causes.size(), 1u);
    EXPECT_EQ(g.root_causes[0].task.pid, 92);
    EXPECT_EQ(g.root_causes[0].blocked_count, 2000u);
    EXPECT_EQ(g.blocked_by_lock.at(kBigRwsem), 2000u);
    ASSERT_EQ(g.chains.size(), 2000u);
    EXPECT_EQ(g.chains.front().waiter.pid, 93);
    EXPECT_EQ(g.chains.back().waiter.pid, 2092);
    EXPECT_EQ(g.chains[2].steps.at(0).wait_mode, Mode::kWrite);
}

TEST(GraphRootCauses, OrderedByBlockedCountThenPid) {
    AnalysisBuilder b;
    b.lock(0x100, LockKind::kMutex);
    b.lock(0x200, LockKind::kMutex);
    b.lock(0x300, LockKind::kMutex);
    b.hold(0x100, b.task(30, "small"));
    b.wait(0x100, b.task(31, "w"));
    b.hold(0x200, b.task(20, "big"));
    for (int i = 0; i < 3; ++i) b.wait(0x200, b.task(40 + i, "w"));
    b.hold(0x300, b.task(10, "small2"));
    b.wait(0x300, b.task(11, "w"));
    graph::GraphResult g = graph::build_graph(b.analysis);
    ASSERT_EQ(g.root_causes.size(), 3u);
    EXPECT_EQ(g.root_causes[0].task.pid, 20);
    EXPECT_EQ(g.root_causes[1].task.pid, 10);
    EXPECT_EQ(g.root_causes[2].task.pid, 30);
    EXPECT_EQ(g.root_of(30), &g.root_causes[2]);
    EXPECT_EQ(g.root_of(31), nullptr);
}

TEST(GraphRootCauses, LockWithoutHolderEndsChainsAsOrphan) {
    AnalysisBuilder b;
    b.lock(0x500, LockKind::kMutex, "lonely");
    b.wait(0x500, b.task(60, "a"));
    b.wait(0x500, b.task(61, "b"));
    graph::GraphResult g = graph::build_graph(b.analysis);
    EXPECT_TRUE(g.root_causes.empty());
    ASSERT_EQ(g.orphan_locks.size(), 1u);
    EXPECT_EQ(g.orphan_locks[0].lock, 0x500u);
    EXPECT_EQ(g.orphan_locks[0].blocked_count, 2u);
    ASSERT_EQ(g.chains.size(), 2u);
    EXPECT_EQ(g.chains[0].orphan_locks, (std::vector<std::uint64_t>{0x500}));
    EXPECT_TRUE(g.chains[0].steps.empty());
}

TEST(GraphRootCauses, BlockedOnAloneMakesAnEdgeAndUndecodedLocksDoNot) {
    AnalysisBuilder b;
    b.lock(0x600, LockKind::kSemaphore, "sem");
    auto holder = b.task(70, "holder"), waiter = b.task(71, "waiter");
    b.hold(0x600, holder, Mode::kExclusive, Confidence::kPossible);
    b.analysis.blocked_on.push_back(locks::BlockedOn{waiter, 0x600, {"waiter record on stack"}});
    // The holder "waits" on something that is not a decoded lock: it is still the root.
    b.analysis.blocked_on.push_back(locks::BlockedOn{holder, 0xdead0000, {}});
    b.activity(holder, "io_schedule", "");
    graph::GraphResult g = graph::build_graph(b.analysis);
    ASSERT_EQ(g.root_causes.size(), 1u);
    EXPECT_EQ(g.root_causes[0].task.pid, 70);
    EXPECT_EQ(g.root_causes[0].blocked_count, 1u);
    ASSERT_EQ(g.chains.size(), 1u);
    EXPECT_EQ(g.chains[0].waiter.pid, 71);
    EXPECT_EQ(g.chains[0].steps.at(0).confidence, Confidence::kPossible);
}

TEST(GraphRootCauses, CycleWithAnOutsideReaderHolder) {
    // table_rwsem is read-held by the cycle member 97 and by 120, which sleeps in io: 96's chain
    // reaches both the cycle root and 120.
    auto b = mixed_cycle();
    auto io = b.task(120, "io_reader");
    b.hold(kTableRwsem, io, Mode::kRead, Confidence::kPossible);
    b.activity(io, "io_schedule", "reads the disk");
    graph::GraphResult g = graph::build_graph(b.analysis);
    ASSERT_EQ(g.cycles.size(), 1u);
    ASSERT_EQ(g.root_causes.size(), 2u);
    EXPECT_EQ(g.root_causes[0].task.pid, 120);  // 96, 98 wait for it; 97, 99 behind 96
    EXPECT_EQ(g.root_causes[0].blocked_count, 4u);
    EXPECT_EQ(g.root_causes[1].task.pid, 96);
    EXPECT_EQ(g.root_causes[1].blocked_count, 3u);
    const graph::Chain& commit = g.chains.at(0);
    EXPECT_EQ(commit.waiter.pid, 96);
    EXPECT_EQ(commit.roots, (std::vector<std::size_t>{0, 1}));
}

}  // namespace
}  // namespace lockhound::testing
