// StackCache's two scopes on the project's sample dumps (always present) and the shared dumps:
// the live-only snapshot is exactly the whole snapshot's words from the live stack pointer up,
// and a search over whole stacks finds each live slot the live snapshots hold.
#include <gtest/gtest.h>

#include "kernel/kernel.h"
#include "kernel/stack_search.h"
#include "support/shared_dumps.h"

namespace lockhound::kernel {
namespace {

TEST(StackCache, LiveScopeIsTheWholeStackFromTheLiveStackPointerUp) {
    auto dumps = testing::all_truth_dumps();
    ASSERT_FALSE(dumps.empty()) << "sample_dumps/ ships with the project";
    for (const auto& d : dumps) {
        SCOPED_TRACE(d.vmcores.front());
        auto k = Kernel::open({.dump_path = d.vmcores.front(), .no_vmlinux = true});
        ASSERT_TRUE(k) << k.error().describe();
        StackCache whole(**k);
        StackCache live(**k, StackScope::kLive);
        std::size_t blocked = 0, whole_words = 0, live_words = 0;
        for (const Task& t : (*k)->tasks()) {
            if (t.state != 'D') continue;
            ++blocked;
            const StackSnapshot* w = whole.get(t);
            const StackSnapshot* l = live.get(t);
            ASSERT_TRUE(w && l) << "pid " << t.pid;
            EXPECT_EQ(w->base, t.stack_base);
            EXPECT_EQ(w->live_sp, l->live_sp);
            EXPECT_EQ(l->base, l->live_sp);
            EXPECT_EQ(l->top(), w->top());
            EXPECT_GT(l->live_sp, w->base) << "a blocked task's saved SP is inside its stack";
            for (std::uint64_t a = l->base; a < l->top(); a += 8)
                ASSERT_EQ(l->word_at(a), w->word_at(a)) << "pid " << t.pid << " slot " << a;
            EXPECT_FALSE(l->word_at(l->base - 8)) << "nothing below the live SP is kept";
            whole_words += w->words.size();
            live_words += l->words.size();
        }
        EXPECT_GT(blocked, 0u);
        // Blocked tasks sleep a few frames deep: their live stacks are a small part of THREAD_SIZE.
        EXPECT_LT(live_words * 4, whole_words);
    }
}

TEST(StackCache, EveryLiveSearchHitIsInTheLiveSnapshot) {
    auto dumps = testing::all_truth_dumps();
    ASSERT_FALSE(dumps.empty());
    const auto& d = dumps.front();
    auto k = Kernel::open({.dump_path = d.vmcores.front(), .no_vmlinux = true});
    ASSERT_TRUE(k) << k.error().describe();
    ASSERT_FALSE(d.truth["locks"].empty());
    const std::uint64_t lock =
        std::stoull(d.truth["locks"][0]["addr"].get<std::string>(), nullptr, 16);
    StackCache whole(**k);
    StackCache live(**k, StackScope::kLive);
    auto hits = search_stacks(**k, whole, lock);
    std::size_t live_hits = 0;
    for (const auto& h : hits) {
        if (h.stale) continue;
        ++live_hits;
        const StackSnapshot* l = live.get(*h.task);
        ASSERT_TRUE(l);
        EXPECT_EQ(l->word_at(h.slot), lock);
    }
    EXPECT_GT(live_hits, 0u) << "the waiters keep the lock's address on their live stacks";
}

}  // namespace
}  // namespace lockhound::kernel
