// LockAnalysis values shaped like the sample dumps, shared by the graph tests.
#pragma once

#include "support/analysis_builder.h"

namespace lockhound::testing {

inline constexpr std::uint64_t kMutexA = 0xffffffffc03a44a0;
inline constexpr std::uint64_t kMutexB = 0xffffffffc03a44c0;

// abba-mutex: 93 holds A and waits for B, 94 holds B and waits for A, 95 waits for A.
inline AnalysisBuilder abba_mutex() {
    using locks::LockKind;
    AnalysisBuilder b;
    auto t1 = b.task(93, "lb_abba_1"), t2 = b.task(94, "lb_abba_2"),
         by = b.task(95, "lb_bystander");
    b.lock(kMutexA, LockKind::kMutex, "lb_mutex_A");
    b.lock(kMutexB, LockKind::kMutex, "lb_mutex_B");
    b.hold(kMutexA, t1);
    b.hold(kMutexB, t2);
    b.wait(kMutexA, t2);
    b.wait(kMutexA, by);
    b.wait(kMutexB, t1);
    return b;
}

inline constexpr std::uint64_t kCfgMutex = 0xffffffffc057a700;
inline constexpr std::uint64_t kTableRwsem = 0xffffffffc057a6c0;

// mixed-cycle: cfg_commit (96) holds cfg_mutex, waits for table_rwsem (write); table_scan (97)
// holds table_rwsem for read, waits for cfg_mutex; stats_reader (98) reads behind the writer;
// cfg_poll (99) waits for the mutex.
inline AnalysisBuilder mixed_cycle() {
    using locks::Confidence;
    using locks::LockKind;
    using locks::Mode;
    AnalysisBuilder b;
    auto commit = b.task(96, "cfg_commit"), scan = b.task(97, "table_scan");
    auto stats = b.task(98, "stats_reader"), poll = b.task(99, "cfg_poll");
    b.lock(kTableRwsem, LockKind::kRwSemaphore, "table_rwsem [lhsample]");
    b.lock(kCfgMutex, LockKind::kMutex, "cfg_mutex [lhsample]");
    b.hold(kCfgMutex, commit, Mode::kExclusive, Confidence::kCertain, {"owner word"});
    b.wait(kCfgMutex, scan);
    b.wait(kCfgMutex, poll);
    b.hold(kTableRwsem, scan, Mode::kRead, Confidence::kLikely, {"rwsem on the stack"});
    b.wait(kTableRwsem, commit, Mode::kWrite);
    b.wait(kTableRwsem, stats, Mode::kRead);
    return b;
}

inline constexpr std::uint64_t kM1 = 0xffffffffc027b4a0;
inline constexpr std::uint64_t kM2 = 0xffffffffc027b4c0;
inline constexpr std::uint64_t kM3 = 0xffffffffc027b4e0;

// mutex-chain-io: t1 (94) -> M1 held by t2 (93) -> M2 held by t3 (92); t4 (95) -> M3 held by t3;
// t3 sleeps in io_schedule.
inline AnalysisBuilder mutex_chain_io() {
    using locks::LockKind;
    AnalysisBuilder b;
    auto t3 = b.task(92, "lb_chain_t3"), t2 = b.task(93, "lb_chain_t2");
    auto t1 = b.task(94, "lb_chain_t1"), t4 = b.task(95, "lb_chain_t4");
    b.lock(kM1, LockKind::kMutex, "lb_mutex_M1");
    b.lock(kM2, LockKind::kMutex, "lb_mutex_M2");
    b.lock(kM3, LockKind::kMutex, "lb_mutex_M3");
    b.hold(kM1, t2);
    b.wait(kM1, t1);
    b.hold(kM2, t3);
    b.wait(kM2, t2);
    b.hold(kM3, t3);
    b.wait(kM3, t4);
    b.activity(
        t3,
        "io_schedule",
        "sleeps in io_schedule (TASK_UNINTERRUPTIBLE)",
        {"io_schedule+0x42/0x70", "lb_chain_t3_fn+0x50/0x70 [lockbomb]", "kthread+0xda/0x100"});
    return b;
}

inline constexpr std::uint64_t kRwsemR = 0xffffffffc03dd440;

// rwsem-readers: three readers hold R (likely), a writer and four readers wait.
inline AnalysisBuilder rwsem_readers() {
    using locks::Confidence;
    using locks::LockKind;
    using locks::Mode;
    AnalysisBuilder b;
    b.lock(kRwsemR, LockKind::kRwSemaphore, "lb_rwsem_R");
    for (int i = 0; i < 3; ++i) {
        auto h = b.task(92 + i, "lb_rd_hold" + std::to_string(i + 1));
        b.hold(kRwsemR, h, Mode::kRead, Confidence::kLikely);
        b.activity(h, "schedule", "sleeps in TASK_UNINTERRUPTIBLE");
    }
    b.wait(kRwsemR, b.task(95, "lb_wr_wait"), Mode::kWrite);
    for (int i = 0; i < 4; ++i)
        b.wait(kRwsemR, b.task(96 + i, "lb_rd_wait" + std::to_string(i + 1)), Mode::kRead);
    return b;
}

inline constexpr std::uint64_t kBigRwsem = 0xffffffffc0328440;

// many-waiters: lb_mw_holder (92) holds the rwsem for write; 2000 waiters, every third a writer.
inline AnalysisBuilder many_waiters(int n = 2000) {
    using locks::LockKind;
    using locks::Mode;
    AnalysisBuilder b;
    b.lock(kBigRwsem, LockKind::kRwSemaphore, "lb_rwsem_big");
    auto holder = b.task(92, "lb_mw_holder");
    b.hold(kBigRwsem, holder, Mode::kWrite);
    b.activity(holder, "schedule", "sleeps in TASK_UNINTERRUPTIBLE");
    for (int i = 0; i < n; ++i)
        b.wait(kBigRwsem,
               b.task(93 + i, "lb_mw_" + std::to_string(i)),
               i % 3 == 2 ? Mode::kWrite : Mode::kRead);
    return b;
}

}  // namespace lockhound::testing
