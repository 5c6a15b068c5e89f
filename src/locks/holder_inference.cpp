#include "locks/holder_inference.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "kernel/kernel.h"
#include "locks/lock_decoder.h"

namespace lockhound::locks {

namespace {

const std::set<std::string> kSchedulerFunctions = {"__schedule",
                                                   "schedule",
                                                   "schedule_preempt_disabled",
                                                   "schedule_timeout",
                                                   "io_schedule",
                                                   "io_schedule_timeout",
                                                   "preempt_schedule",
                                                   "preempt_schedule_common",
                                                   "__cond_resched",
                                                   "schedule_hrtimeout_range_clock",
                                                   "rwsem_down_read_slowpath",
                                                   "rwsem_down_write_slowpath",
                                                   "__mutex_lock",
                                                   "__mutex_lock_slowpath",
                                                   "__down",
                                                   "__down_common",
                                                   "___down_common",
                                                   "__down_killable",
                                                   "__down_interruptible",
                                                   "__down_timeout",
                                                   "rt_mutex_slowlock_block",
                                                   "rt_mutex_schedule",
                                                   "__rt_mutex_slowlock",
                                                   "rt_mutex_slowlock",
                                                   "__rwbase_read_lock"};

struct Candidate {
    const kernel::Task* task = nullptr;
    Confidence best = Confidence::kPossible;
    std::vector<std::string> evidence;
    bool any = false;
    void add(Confidence c, std::string e) {
        if (!any || static_cast<int>(c) < static_cast<int>(best)) best = c;
        any = true;
        evidence.push_back(std::move(e));
    }
};

std::string replace_frame(std::string text, const std::string& frame) {
    if (auto p = text.find("{frame}"); p != std::string::npos) text.replace(p, 7, frame);
    return text;
}

}  // namespace

void HolderInference::infer(LockState& lock, const ResolvedModel& model) {
    const LockModel& lm = *model.model;
    bool has_writer =
        std::ranges::any_of(lock.holders, [](const Holder& h) { return h.mode != Mode::kRead; });
    std::optional<std::uint64_t> expected;  // how many holders the lock's count implies
    Mode mode = Mode::kExclusive;
    if (lm.kind == LockKind::kRwSemaphore) {
        if (has_writer) return;
        if (lock.reader_count && *lock.reader_count > 0)
            expected = lock.reader_count;
        else if (lock.waiters.empty())
            return;
        mode = Mode::kRead;
    } else if (lm.kind == LockKind::kSemaphore) {
        if (!lock.count_raw || *lock.count_raw > 0)
            return;  // permits free: nobody needs to hold it
    } else {
        return;  // mutexes record their owner
    }
    std::vector<std::string> acquire;
    for (const auto& [m, fns] : lm.acquire)
        if (m == mode || lm.kind == LockKind::kSemaphore)
            acquire.insert(acquire.end(), fns.begin(), fns.end());

    std::set<std::uint64_t> waiters;
    for (const auto& w : lock.waiters) waiters.insert(w.task.task);
    // Functions from which the waiters called into the lock: the first frame that is neither
    // scheduler, slow path nor an acquire function.
    std::set<std::string> call_sites;
    std::size_t sampled = 0;
    for (const auto& w : lock.waiters) {
        if (sampled++ >= 16) break;
        const kernel::Task* t = k.task_by_address(w.task.task);
        if (!t) continue;
        for (const auto& f : frames.of(*t).frames) {
            std::string b = base_function(f.function);
            if (kSchedulerFunctions.contains(b) || std::ranges::find(acquire, b) != acquire.end() ||
                std::ranges::find(lm.slowpath, b) != lm.slowpath.end())
                continue;
            if (!f.function.empty()) call_sites.insert(f.function);
            break;
        }
    }

    std::uint64_t owner_ptr = lock.owner_raw & ~lm.owner.flags_mask;
    bool owner_hint = lm.owner.reader_owned_flag && (lock.owner_raw & lm.owner.reader_owned_flag);
    std::vector<Candidate> cands;
    for (const auto& t : k.tasks()) {
        if (waiters.contains(t.address) || t.is_idle) continue;
        if (t.state != 'D' && (t.state != 'R' || !t.on_cpu)) continue;
        Candidate c;
        c.task = &t;
        // (a) holder rules for locks embedded in a known container.
        for (const auto& rule : set.holder_rules) {
            if (rule.kind != lm.kind || rule.mode != mode) continue;
            for (const auto& member : rule.members) {
                auto off = k.offset_of(rule.container, member);
                if (!off || lock.address < *off) continue;
                std::uint64_t container = lock.address - *off;
                std::uint64_t link = 0;
                if (rule.task_link == "mm")
                    link = t.mm;
                else if (auto lo = k.offset_of("task_struct", rule.task_link))
                    link = k.memory().read_u64(t.address + *lo).value_or(0);
                if (link != container) continue;
                if (const FrameInfo* f = frames.find(t, rule.frame_names()))
                    c.add(rule.confidence,
                          fmt::format(
                              "{} [rule {}]", replace_frame(rule.evidence, f->symbol), rule.id));
            }
        }
        // (b) code that loads the lock's address and calls an acquire function.
        for (const auto& f : frames.of(t).frames) {
            if (!f.function_start) continue;
            if (auto ref =
                    code.references(f.function_start, f.function_size, lock.address, acquire)) {
                c.add(Confidence::kLikely,
                      fmt::format("its frame {} is in code that takes this lock: {}",
                                  f.symbol,
                                  ref->description));
                break;
            }
        }
        // (c) the lock's address on its live stack.
        if (const kernel::StackSnapshot* s = stacks.get(t)) {
            for (std::size_t i = (s->live_sp - s->base) / 8; i < s->words.size(); ++i) {
                if (s->words[i] != lock.address) continue;
                c.add(Confidence::kLikely,
                      fmt::format(
                          "live stack slot {:#x} holds the lock's address, and it is not a waiter",
                          s->base + (i * 8)));
                break;
            }
        }
        // (d) asleep, waiting on no lock, inside a function from which the waiters took the lock.
        if (!waiting.contains(t.address) && t.state == 'D') {
            for (const auto& f : frames.of(t).frames) {
                if (!call_sites.contains(f.function)) continue;
                c.add(Confidence::kPossible,
                      fmt::format("sleeps waiting on no lock, inside {} where the waiters called "
                                  "into the lock",
                                  f.symbol));
                break;
            }
        }
        // (e) the owner word's last-reader hint.
        if (owner_hint && owner_ptr == t.address)
            c.add(
                Confidence::kPossible,
                fmt::format("the owner word {:#x} (RWSEM_READER_OWNED) names it as the last reader",
                            lock.owner_raw));
        if (c.any) cands.push_back(std::move(c));
    }
    if (owner_hint && owner_ptr && waiters.contains(owner_ptr)) {
        const kernel::Task* t = k.task_by_address(owner_ptr);
        lock.state_notes.push_back(
            fmt::format("owner hint names pid {}, which is a waiter: stale", t ? t->pid : -1));
    }

    std::ranges::sort(cands, [](const Candidate& a, const Candidate& b) {
        if (a.best != b.best) return static_cast<int>(a.best) < static_cast<int>(b.best);
        if (a.evidence.size() != b.evidence.size()) return a.evidence.size() > b.evidence.size();
        return a.task->pid < b.task->pid;
    });
    std::size_t take = cands.size();
    if (expected) {
        if (cands.size() == *expected) {
            for (auto& c : cands) {
                if (c.best == Confidence::kPossible) {
                    c.best = Confidence::kLikely;
                    c.evidence.push_back(fmt::format(
                        "the count says {} reader(s) and exactly {} candidate(s) were found",
                        *expected,
                        cands.size()));
                }
            }
        }
        take = std::min<std::size_t>(take, *expected);
    } else {
        // Without a count (semaphores), name the strongest: likely ones, else the possible ones.
        auto likely = static_cast<std::size_t>(
            std::count_if(cands.begin(), cands.end(), [](const Candidate& c) {
                return c.best != Confidence::kPossible;
            }));
        if (likely > 0) take = likely;
    }
    for (std::size_t i = 0; i < take; ++i)
        lock.holders.push_back(
            Holder{task_ref(*cands[i].task), mode, cands[i].best, cands[i].evidence});
    if (expected) {
        lock.state_notes.push_back(
            take == *expected
                ? fmt::format("count says {} reader(s); {} named", *expected, take)
                : fmt::format(
                      "count says {} reader(s) but only {} could be named", *expected, take));
    } else if (lm.kind == LockKind::kSemaphore) {
        lock.state_notes.push_back(take ? fmt::format("no owner field: {} holder(s) inferred", take)
                                        : "no owner field, and no holder could be inferred");
    }
    for (std::size_t i = take; i < cands.size(); ++i)
        lock.state_notes.push_back(fmt::format(
            "also possible: pid {} ({})", cands[i].task->pid, cands[i].evidence.front()));
}

TaskActivity describe_activity(kernel::Kernel& k, TaskFrames& frames, const kernel::Task& t) {
    (void)k;
    TaskActivity a;
    a.task = task_ref(t);
    const auto& info = frames.of(t);
    for (std::size_t i = 0; i < info.frames.size() && i < 16; ++i)
        a.frames.push_back(Frame{info.frames[i].pc, info.frames[i].symbol});
    auto has = [&](std::initializer_list<const char*> names) -> const FrameInfo* {
        for (const auto& f : info.frames) {
            std::string b = base_function(f.function);
            for (const char* n : names)
                if (b == n) return &f;
        }
        return nullptr;
    };
    if (t.on_cpu && t.state == 'R')
        a.blocked_in = "on CPU";
    else if (has({"io_schedule", "io_schedule_timeout"}))
        a.blocked_in = "io_schedule";
    else if (has({"schedule", "schedule_timeout", "schedule_preempt_disabled"}))
        a.blocked_in = "schedule";
    else if (t.state == 'R')
        a.blocked_in = "runnable";
    else if (!info.frames.empty())
        a.blocked_in = info.frames.front().function;
    else
        a.blocked_in = "unknown";

    const FrameInfo* caller = nullptr;
    std::vector<std::string> chain;
    for (const auto& f : info.frames) {
        if (kSchedulerFunctions.contains(base_function(f.function))) continue;
        if (!caller) caller = &f;
        if (chain.size() < 4) chain.push_back(f.symbol);
    }
    std::string context;
    if (has({"asm_exc_page_fault", "exc_page_fault", "do_user_addr_fault", "handle_mm_fault"}))
        context = " (page fault)";
    else if (has({"entry_SYSCALL_64_after_hwframe", "do_syscall_64"}))
        context = " (system call)";
    else if (has({"kthread"}))
        context = " (kernel thread)";
    std::string path;
    for (std::size_t i = 0; i < chain.size(); ++i) path += (i ? " <- " : "") + chain[i];
    a.summary = fmt::format(
        "state {} in {}{}{}", t.state, a.blocked_in, path.empty() ? "" : ", from " + path, context);
    if (!info.error.empty()) a.summary += fmt::format(" [backtrace incomplete: {}]", info.error);
    return a;
}

}  // namespace lockhound::locks
