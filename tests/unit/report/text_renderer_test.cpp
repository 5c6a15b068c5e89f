#include "report/text_renderer.h"

#include <algorithm>
#include <sstream>

#include <gtest/gtest.h>

#include "report_fixtures.h"

namespace lockhound::testing {
namespace {

std::string render(const report::Report& r) {
    std::ostringstream out;
    report::render_text(out, r);
    return out.str();
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

TEST(TextRenderer, VerdictNamesTheRootFirst) {
    std::string text = render(make_report(mmap_pileup()));
    const std::string verdict =
        "pid 96 lbmm_fault holds mmap_lock of lbmm[93] (read, likely) and is stuck in "
        "io_schedule (page fault) — blocks 13 tasks";
    auto at = text.find(verdict);
    ASSERT_NE(at, std::string::npos) << text;
    EXPECT_LT(text.find("VERDICT: 13 tasks blocked behind 1 root cause"), at);
    EXPECT_LT(at, text.find("Locks (1):"));
    // Who waits, in the verdict's tree.
    EXPECT_TRUE(
        contains(text, "mmap_lock of lbmm[93] ← pid 97 lbmm_mmap (write); 11 × cat, ps (read)"))
        << text;
}

TEST(TextRenderer, LockSectionCollapsesWaitersAndShowsBacktrace) {
    std::string text = render(make_report(mmap_pileup()));
    EXPECT_TRUE(contains(text, "rw_semaphore 0xffff8c1d42355b70  mmap_lock of lbmm[93]")) << text;
    EXPECT_TRUE(
        contains(text, "  state: read-locked\n         waiters bit\n  raw:   count 0x102, owner "));
    EXPECT_TRUE(contains(text, "holder: pid 96 lbmm_fault (tgid 93) (read, likely)"));
    EXPECT_TRUE(contains(text, "    - in a page fault"));
    EXPECT_TRUE(contains(text, "waiters (13, queue order):"));
    EXPECT_TRUE(contains(text, "#0       pid 97 lbmm_mmap (tgid 93) (write)"));
    EXPECT_TRUE(contains(text, "#1-12    11 × cat, ps waiting for read: pids 120, 122, 124"));
    EXPECT_TRUE(contains(text, "      #0 io_schedule+0x42/0x70"));
    EXPECT_TRUE(contains(text, "… (1 more frames)"));
}

TEST(TextRenderer, DeadlockVerdictSpellsOutTheChain) {
    std::string text = render(make_report(mixed_cycle()));
    EXPECT_TRUE(text.find("VERDICT: deadlock: 1 cycle") < text.find("Locks ("));
    EXPECT_TRUE(contains(text, "cycle 1: pids 96, 97 over 2 locks (mutex + rw_semaphore)")) << text;
    EXPECT_TRUE(contains(text,
                         "pid 96 cfg_commit waits for table_rwsem [lhsample] (write), held by "
                         "pid 97 table_scan (read, likely)"));
    EXPECT_TRUE(contains(text,
                         "pid 97 table_scan waits for cfg_mutex [lhsample] (exclusive), held by "
                         "pid 96 cfg_commit (exclusive, certain)"));
    EXPECT_TRUE(
        contains(text, "root cause named: pid 96 cfg_commit (lowest pid on the cycle); 3 tasks"));
}

TEST(TextRenderer, ChainThroughSeveralLocks) {
    std::string text = render(make_report(mutex_chain_io()));
    EXPECT_TRUE(contains(text,
                         "pid 92 lb_chain_t3 holds lb_mutex_M2 (exclusive, certain) and "
                         "lb_mutex_M3 (exclusive, certain) and is stuck in io_schedule"))
        << text;
    EXPECT_TRUE(contains(text,
                         "    lb_mutex_M2 ← pid 93 lb_chain_t2 (exclusive)\n"
                         "      lb_mutex_M1 ← pid 94 lb_chain_t1 (exclusive)\n"
                         "    lb_mutex_M3 ← pid 95 lb_chain_t4 (exclusive)\n"));
}

TEST(TextRenderer, ReadersWithTheSameStoryPrintOnce) {
    std::string text = render(make_report(rwsem_readers()));
    EXPECT_TRUE(
        contains(text,
                 "  pid 92 lb_rd_hold1, pid 93 lb_rd_hold2, pid 94 lb_rd_hold3 hold "
                 "lb_rwsem_R (read, likely) and are stuck in schedule — each blocks 5 "
                 "tasks\n    lb_rwsem_R ← pid 95 lb_wr_wait (write); 4 × lb_rd_wait* (read)\n"))
        << text;
}

TEST(TextRenderer, LongSummaryOnItsOwnLineAndRootsNotListedAsUnexplained) {
    auto b = mutex_chain_io();
    b.analysis.activities[0].summary =
        "state D in io_schedule, from lb_hang+0x52/0x5b <- lb_thread.cold+0x59/0x11d";
    b.analysis.unexplained.push_back(b.task(92, "lb_chain_t3"));
    b.analysis.unexplained.push_back(b.task(300, "kworker/0:1"));
    std::string text = render(make_report(std::move(b)));
    EXPECT_TRUE(contains(text,
                         "and is stuck in io_schedule — blocks 3 tasks\n    (state D in "
                         "io_schedule, from lb_hang+0x52/0x5b <- lb_thread.cold+0x59/0x11d)\n"))
        << text;
    EXPECT_TRUE(
        contains(text, "  1 task in D state waits on nothing lockhound could decode: pids 300"));
    EXPECT_TRUE(contains(
        text, "Other tasks in D state, waiting on no decoded lock (1):\n  pid 300 kworker/0:1\n"));
}

TEST(TextRenderer, ManyInterleavedWaitersStayShort) {
    std::string text = render(make_report(many_waiters(2000)));
    EXPECT_LT(std::ranges::count(text, '\n'), 60) << text;
    EXPECT_TRUE(contains(text, "then, modes interleaved in the queue:"));
    EXPECT_TRUE(contains(text, "lb_mw_* waiting for read"));
    EXPECT_TRUE(contains(text, "blocks 2000 tasks"));
}

// A kind that no lock model matches was not analysed: the verdict must say so, never "no lock
// contention found"; with contention found elsewhere, the verdict notes the missing kind.
TEST(TextRenderer, KindWithoutAModelIsNotCalledUncontended) {
    AnalysisBuilder none;
    none.analysis.models = {
        {locks::LockKind::kMutex, "", {"mutex/owner-tagged-v4.10: no mutex.owner"}},
        {locks::LockKind::kSemaphore, "semaphore/count-waitlist", {}}};
    std::string text = render(make_report(std::move(none)));
    EXPECT_FALSE(contains(text, "no lock contention found")) << text;
    EXPECT_TRUE(contains(text, "VERDICT: analysis could not be done for mutex")) << text;

    AnalysisBuilder some;
    some.lock(0x3000, locks::LockKind::kSemaphore);
    some.hold(0x3000, some.task(7, "h"));
    some.wait(0x3000, some.task(8, "w"));
    some.analysis.models = {{locks::LockKind::kMutex, "", {}},
                            {locks::LockKind::kSemaphore, "semaphore/count-waitlist", {}}};
    text = render(make_report(std::move(some)));
    EXPECT_TRUE(contains(text, "(not analysed: mutex: no lock model matches")) << text;
}

TEST(TextRenderer, NoContentionAndEscaping) {
    AnalysisBuilder quiet;
    EXPECT_TRUE(
        contains(render(make_report(std::move(quiet))), "VERDICT: no lock contention found"));

    AnalysisBuilder b;
    b.lock(0x3000, locks::LockKind::kMutex);
    b.hold(0x3000, b.task(7, "evil\x1b[2J\n"));
    b.wait(0x3000, b.task(8, "w"));
    std::string text = render(make_report(std::move(b)));
    EXPECT_EQ(text.find('\x1b'), std::string::npos);
    EXPECT_TRUE(contains(text, "pid 7 evil\\x1b[2J\\x0a holds mutex 0x3000 (exclusive, certain)"))
        << text;
}

TEST(TextRenderer, OrphanLockAndWarnings) {
    AnalysisBuilder b;
    b.lock(0x500, locks::LockKind::kMutex, "lonely");
    b.wait(0x500, b.task(60, "a"));
    b.analysis.locks[0].anomalies.push_back("waiters but no owner");
    report::Report r = make_report(std::move(b));
    r.warnings.push_back("page 0x1234000 is not in the dump");
    std::string text = render(r);
    EXPECT_TRUE(
        contains(text, "lonely has waiters but no holder lockhound could find — blocks 1 task"))
        << text;
    EXPECT_TRUE(contains(text, "! waiters but no owner"));
    EXPECT_TRUE(contains(text, "Warnings (1):\n  page 0x1234000 is not in the dump"));
}

TEST(TextRenderer, SingleLockForWhoHolds) {
    report::Report r = make_report(mutex_chain_io());
    std::ostringstream out;
    report::render_lock_text(out, r, r.analysis.locks[0]);  // M1, held by t2 who waits for M2
    std::string text = out.str();
    EXPECT_TRUE(contains(text, "holder: pid 93 lb_chain_t2 (exclusive, certain)")) << text;
    EXPECT_TRUE(contains(text, "pid 93 lb_chain_t2 is itself waiting:"));
    EXPECT_TRUE(contains(text, "root cause: pid 92 lb_chain_t3, stuck in io_schedule — blocks 3"));
}

}  // namespace
}  // namespace lockhound::testing
