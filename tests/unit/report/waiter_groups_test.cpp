#include "report/internal/waiter_groups.h"

#include <gtest/gtest.h>

#include "report/escape.h"

namespace lockhound::report::internal {
namespace {

locks::Waiter waiter(int pid, std::string comm, locks::Mode mode, int pos) {
    locks::Waiter w;
    w.task.pid = pid;
    w.task.comm = std::move(comm);
    w.mode = mode;
    w.queue_pos = pos;
    return w;
}

TEST(WaiterGroups, CommPattern) {
    EXPECT_EQ(comm_pattern("lb_mw_17"), "lb_mw_*");
    EXPECT_EQ(comm_pattern("cat"), "cat");
    EXPECT_EQ(comm_pattern("kworker/3:1"), "kworker/3:*");
    EXPECT_EQ(comm_pattern("1234"), "1234");
    EXPECT_EQ(comm_pattern(""), "");
}

TEST(WaiterGroups, RunsAndCommSummary) {
    using locks::Mode;
    std::vector<locks::Waiter> q{waiter(97, "lbmm_mmap", Mode::kWrite, 0),
                                 waiter(120, "cat", Mode::kRead, 1),
                                 waiter(121, "ps", Mode::kRead, 2),
                                 waiter(122, "cat", Mode::kRead, 3),
                                 waiter(130, "w1", Mode::kWrite, 4),
                                 waiter(131, "w2", Mode::kWrite, 5)};
    auto runs = waiter_runs(q);
    ASSERT_EQ(runs.size(), 3u);
    EXPECT_EQ(runs[0].members.size(), 1u);
    EXPECT_EQ(comm_summary(runs[1].comms, escape_terminal), "2 × cat, ps");
    EXPECT_EQ(comm_summary(runs[2].comms, escape_terminal), "2 × w*");
    auto by_mode = waiters_by_mode(q);
    ASSERT_EQ(by_mode.size(), 2u);
    EXPECT_EQ(by_mode[0].mode, Mode::kWrite);
    EXPECT_EQ(by_mode[0].members.size(), 3u);
    EXPECT_EQ(by_mode[1].members.size(), 3u);
}

TEST(WaiterGroups, CompactPids) {
    EXPECT_EQ(compact_pids({5, 1, 2, 3, 9}), "1-3, 5, 9");
    EXPECT_EQ(compact_pids({}), "");
    std::vector<int> many;
    for (int i = 0; i < 2000; ++i) many.push_back(93 + i);
    EXPECT_EQ(compact_pids(many), "93-2092");
    std::vector<int> even;
    for (int i = 0; i < 20; ++i) even.push_back(2 * i);
    EXPECT_EQ(compact_pids(even, 3), "0, 2, 4, … (17 more)");
}

}  // namespace
}  // namespace lockhound::report::internal
