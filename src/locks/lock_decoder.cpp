#include "locks/lock_decoder.h"

#include <unordered_set>

#include <fmt/format.h>

#include "kernel/list_walk.h"

namespace lockhound::locks {

namespace {

std::string flag_text(std::uint64_t value, const std::map<std::uint64_t, std::string>& names) {
    std::string s;
    for (const auto& [bit, name] : names) {
        if (!(value & bit)) continue;
        if (!s.empty()) s += "|";
        s += name;
    }
    return s;
}

// In-order walk of an rbtree (PREEMPT_RT rt_mutex waiters), bounded and loop-safe.
WaitList walk_rbtree(DecodeContext& ctx, const ResolvedModel& m, std::uint64_t root_node) {
    WaitList out;
    std::vector<std::uint64_t> stack;
    std::unordered_set<std::uint64_t> seen;
    std::uint64_t node = root_node;
    while ((node || !stack.empty()) && out.entries.size() < ctx.max_waiters) {
        while (node) {
            if (!seen.insert(node).second || stack.size() > 256) {
                out.error = Error::fault(
                    ErrorKind::kLimit, node, "waiter tree loops or is implausibly deep");
                return out;
            }
            stack.push_back(node);
            auto left = ctx.mem.read_u64(node + m.rb_left_off);
            if (!left) {
                out.error = left.error();
                return out;
            }
            node = *left & ~7ull;
        }
        node = stack.back();
        stack.pop_back();
        out.entries.push_back(node - m.link_off);
        auto right = ctx.mem.read_u64(node + m.rb_right_off);
        if (!right) {
            out.error = right.error();
            return out;
        }
        node = *right & ~7ull;
    }
    return out;
}

// A ring of waiter links without a head node, from the first waiter's link back to it.
void walk_headless_ring(DecodeContext& ctx,
                        const ResolvedModel& m,
                        std::uint64_t first,
                        WaitList& out) {
    std::unordered_set<std::uint64_t> seen;
    std::uint64_t node = first;
    do {
        if (!seen.insert(node).second) {
            out.error = Error::fault(
                ErrorKind::kLimit, node, "waiter ring loops without returning to its first entry");
            return;
        }
        if (out.entries.size() >= ctx.max_waiters) {
            out.error = Error::make(ErrorKind::kLimit, "too many waiters; stopped");
            return;
        }
        auto next = ctx.mem.read_u64(node);
        if (!next) {
            out.error = next.error();
            return;
        }
        out.entries.push_back(node - m.link_off);
        if (*next == 0) {
            out.error = Error::fault(ErrorKind::kBadData,
                                     node,
                                     "waiter ring is cut: NULL next before it returns to its "
                                     "first entry");
            return;
        }
        node = *next;
    } while (node != first);
}

// The per-CPU read_count of a percpu_rw_semaphore: readers inside = the sum over CPUs (one CPU's
// counter may be negative: a reader can leave on another CPU than it entered on).
void decode_percpu_readers(DecodeContext& ctx, std::uint64_t percpu_ptr, LockState& s) {
    if (ctx.cpu_offsets.empty()) {
        s.state_notes.push_back("readers inside unknown (no per-CPU offsets in the dump)");
        return;
    }
    std::int64_t sum = 0;
    std::string raw;
    for (std::size_t cpu = 0; cpu < ctx.cpu_offsets.size(); ++cpu) {
        auto v = ctx.mem.read_u32(percpu_ptr + ctx.cpu_offsets[cpu]);
        if (!v) {
            s.anomalies.push_back(fmt::format("read_count of CPU {} at {:#x} is unreadable",
                                              cpu,
                                              percpu_ptr + ctx.cpu_offsets[cpu]));
            return;
        }
        sum += static_cast<std::int32_t>(*v);
        if (cpu < 16)
            raw += fmt::format("{}{}", raw.empty() ? "" : ",", static_cast<std::int32_t>(*v));
    }
    constexpr std::int64_t kAbsurd = 1 << 22;
    if (sum < 0 || sum > kAbsurd) {
        s.anomalies.push_back(fmt::format(
            "per-CPU read_count sums to {} (per CPU: {}): not a reader count", sum, raw));
        return;
    }
    s.reader_count = static_cast<std::uint64_t>(sum);
    s.state_notes.push_back(fmt::format("{} reader(s) inside (per-CPU read_count: {})", sum, raw));
}

}  // namespace

TaskRef task_ref(const kernel::Task& t) {
    return TaskRef{t.address, t.pid, t.tgid, t.comm, t.state};
}

WaitList read_wait_list(DecodeContext& ctx, const ResolvedModel& m, std::uint64_t address) {
    WaitList out;
    std::uint64_t head = address + m.list_off;
    switch (m.model->waiters.layout) {
        case WaitListLayout::kListHead: {
            kernel::ListWalk w = kernel::walk_list(ctx.mem, head, {.max_nodes = ctx.max_waiters});
            for (std::uint64_t n : w.nodes) out.entries.push_back(n - m.link_off);
            out.error = w.error;
            break;
        }
        case WaitListLayout::kSlist: {
            // RHEL 7: the head is one pointer to the first waiter's list_head; the waiters form a
            // ring that does not include the head.
            auto first = ctx.mem.read_u64(head);
            if (!first) {
                out.error = first.error();
                break;
            }
            if (*first == 0 || *first == head) break;
            walk_headless_ring(ctx, m, *first, out);
            break;
        }
        case WaitListLayout::kRingFromFirst: {
            // 7.x: a pointer to the first waiter record; NULL when there is none.
            auto first = ctx.mem.read_u64(head);
            if (!first) {
                out.error = first.error();
                break;
            }
            if (*first == 0) break;
            walk_headless_ring(ctx, m, *first + m.link_off, out);
            break;
        }
        case WaitListLayout::kRbtree: {
            auto root = ctx.mem.read_u64(head);
            if (!root) {
                out.error = root.error();
                break;
            }
            out = walk_rbtree(ctx, m, *root & ~7ull);
            break;
        }
    }
    return out;
}

LockState decode_lock(DecodeContext& ctx, const ResolvedModel& m, std::uint64_t address) {
    const LockModel& model = *m.model;
    LockState s;
    s.address = address;
    s.kind = model.kind;
    s.model = model.id;

    // Count first: for rwsems it says whether the owner word names a writer.
    bool writer_locked = false;
    std::int64_t bias_active = 0;                   // rwsem-bias: active lockers in the count
    std::uint64_t drain_readers = 0;                // rwbase: readers a writer waits for
    const kernel::Task* draining_writer = nullptr;  // ... and that writer (the rtmutex owner)
    if (m.count_off) {
        std::int64_t count = 0;
        bool ok = true;
        if (model.count.width == 4) {
            auto v = ctx.mem.read_u32(address + *m.count_off);
            ok = v.has_value();
            count = v ? static_cast<std::int32_t>(*v) : 0;
        } else {
            auto v = ctx.mem.read_u64(address + *m.count_off);
            ok = v.has_value();
            count = v ? static_cast<std::int64_t>(*v) : 0;
        }
        if (!ok) {
            s.anomalies.push_back(
                fmt::format("count at {:#x} is unreadable", address + *m.count_off));
        } else {
            s.count_raw = count;
            auto u = static_cast<std::uint64_t>(count);
            switch (model.count.semantics) {
                case CountSemantics::kRwsemV53: {
                    writer_locked = (u & model.count.writer_locked) != 0;
                    std::uint64_t readers =
                        (u & model.count.reader_mask) >> model.count.reader_shift;
                    s.reader_count = readers;
                    if (writer_locked) s.state_notes.push_back("write-locked");
                    if (readers)
                        s.state_notes.push_back(fmt::format("{} reader(s) hold it (count >> {})",
                                                            readers,
                                                            model.count.reader_shift));
                    if (auto f = flag_text(u, model.count.flags); !f.empty())
                        s.state_notes.push_back("count flags: " + f);
                    break;
                }
                case CountSemantics::kRwsemBias: {
                    std::int64_t active =
                        count & static_cast<std::int64_t>(model.count.active_mask);
                    bias_active = active;
                    // The rest is WAITING_BIAS once (waiters queued, or a writer alone: the
                    // owner word tells), twice (a writer and waiters) or not at all (readers).
                    auto rest = static_cast<std::int64_t>(u - (u & model.count.active_mask));
                    const std::int64_t wb = model.count.waiting_bias;
                    const char* what = rest == 0    ? ""
                                       : rest == wb ? ", waiters queued or a writer holds it"
                                       : (rest % 2 == 0 && rest / 2 == wb)
                                           ? ", write-locked, waiters queued"
                                           : ", waiters queued";
                    s.state_notes.push_back(fmt::format("{} active locker(s){}", active, what));
                    if (rest == 0 && active > 0)
                        s.reader_count = static_cast<std::uint64_t>(active);
                    break;
                }
                case CountSemantics::kMutexCount:
                    s.state_notes.push_back(count == 1   ? "unlocked"
                                            : count == 0 ? "locked"
                                                         : "locked, waiters possible");
                    break;
                case CountSemantics::kSemaphore:
                    s.state_notes.push_back(fmt::format("{} permit(s) free", count));
                    break;
                case CountSemantics::kRwbaseReaders: {
                    const auto c = static_cast<std::uint32_t>(count);
                    const std::uint64_t readers =
                        c & ~(model.count.reader_bias | model.count.writer_bias);
                    if (c & model.count.reader_bias) {
                        if (readers) s.reader_count = readers;
                    } else if (c & model.count.writer_bias) {
                        s.state_notes.push_back("write-held (WRITER_BIAS)");
                    } else if (readers) {
                        // The rtmutex owner is a writer still waiting for these readers.
                        s.reader_count = readers;
                        drain_readers = readers;
                        s.state_notes.push_back(fmt::format(
                            "a writer has taken the rtmutex and waits for {} reader(s) to leave "
                            "(count {:#x}: neither READER_BIAS nor WRITER_BIAS)",
                            readers,
                            c));
                    } else {
                        s.state_notes.push_back("a writer is taking it (no readers left)");
                    }
                    break;
                }
                case CountSemantics::kPercpuReaders:
                    decode_percpu_readers(ctx, u, s);
                    break;
                case CountSemantics::kNone:
                    break;
            }
        }
    }
    std::optional<std::uint32_t> block;
    if (m.block_off) {
        if (auto v = ctx.mem.read_u32(address + *m.block_off)) block = *v;
        if (!block)
            s.anomalies.push_back(
                fmt::format("block word at {:#x} is unreadable", address + *m.block_off));
        else if (*block > 1)
            s.anomalies.push_back(fmt::format(
                "block word at {:#x} is {:#x}, neither 0 nor 1", address + *m.block_off, *block));
        else if (*block)
            s.state_notes.push_back("block=1: new readers wait (write-held or being taken)");
    }

    if (m.owner_off) {
        auto w = ctx.mem.read_u64(address + *m.owner_off);
        if (!w) {
            s.anomalies.push_back(
                fmt::format("owner word at {:#x} is unreadable", address + *m.owner_off));
        } else {
            s.owner_raw = *w;
            std::uint64_t flags = *w & model.owner.flags_mask;
            std::uint64_t ptr = *w & ~model.owner.flags_mask;
            if (auto f = flag_text(flags, model.owner.flags); !f.empty())
                s.state_notes.push_back("owner flags: " + f);
            const kernel::Task* t = ptr ? ctx.task_at(ptr) : nullptr;
            bool reader_owned =
                model.owner.reader_owned_flag && (flags & model.owner.reader_owned_flag);
            auto add_holder = [&](Mode mode, std::string ev) {
                if (!t) {
                    s.anomalies.push_back(fmt::format(
                        "owner word {:#x} names {:#x}, which is not a task of the dump", *w, ptr));
                    return;
                }
                s.holders.push_back(
                    Holder{task_ref(*t), mode, Confidence::kCertain, {std::move(ev)}});
            };
            switch (model.owner.semantics) {
                case OwnerSemantics::kTaggedTask:
                    if (ptr && drain_readers && t)
                        draining_writer = t;  // a waiter, listed first below
                    else if (ptr)
                        add_holder(
                            model.kind == LockKind::kRwSemaphore ? Mode::kWrite : Mode::kExclusive,
                            fmt::format("owner word {:#x} names this task", *w));
                    break;
                case OwnerSemantics::kPointer:
                    if (ptr && model.kind == LockKind::kPercpuRwSemaphore)
                        add_holder(Mode::kWrite,
                                   fmt::format("writer task pointer {:#x}: it has blocked new "
                                               "readers and waits for the last ones to leave",
                                               *w));
                    else if (ptr)
                        add_holder(Mode::kExclusive, fmt::format("owner pointer {:#x}", *w));
                    break;
                case OwnerSemantics::kRwsemOwner:
                    if (ptr && !reader_owned &&
                        (writer_locked || model.count.semantics != CountSemantics::kRwsemV53))
                        add_holder(
                            Mode::kWrite,
                            fmt::format("owner word {:#x} names this task as the writer{}",
                                        *w,
                                        writer_locked ? " (count has RWSEM_WRITER_LOCKED)" : ""));
                    else if (ptr && reader_owned && t)
                        s.state_notes.push_back(
                            fmt::format("owner hint: last reader was pid {} ({:#x}; may be stale)",
                                        t->pid,
                                        ptr));
                    // Readers own it: the count's active lockers are those readers.
                    if (reader_owned && !s.reader_count && bias_active > 0 &&
                        model.count.semantics == CountSemantics::kRwsemBias)
                        s.reader_count = static_cast<std::uint64_t>(bias_active);
                    break;
                case OwnerSemantics::kHintPointer:
                    if (ptr && t)
                        s.state_notes.push_back(fmt::format("last holder hint: pid {}", t->pid));
                    break;
                case OwnerSemantics::kNone:
                    break;
            }
        }
    }

    WaitList wl = read_wait_list(ctx, m, address);
    if (wl.error) s.anomalies.push_back(fmt::format("wait list: {}", wl.error->describe()));
    int pos = 0;
    for (std::uint64_t entry : wl.entries) {
        auto task_ptr = ctx.mem.read_u64(entry + m.task_off);
        if (!task_ptr) {
            s.anomalies.push_back(fmt::format("waiter record at {:#x} is unreadable", entry));
            continue;
        }
        if (*task_ptr == 0) {
            s.anomalies.push_back(
                fmt::format("waiter record at {:#x} has no task (woken, not yet running)", entry));
            continue;
        }
        const kernel::Task* t = ctx.task_at(*task_ptr);
        if (!t) {
            s.anomalies.push_back(
                fmt::format("waiter record at {:#x} names {:#x}, which is not a task of the dump",
                            entry,
                            *task_ptr));
            continue;
        }
        Mode mode = model.waiters.default_mode;
        if (m.mode_off) {
            std::int64_t v = 0;
            if (m.mode_size == 8)
                v = static_cast<std::int64_t>(
                    ctx.mem.read_u64(entry + *m.mode_off).value_or(~0ull));
            else
                v = static_cast<std::int32_t>(ctx.mem.read_u32(entry + *m.mode_off).value_or(~0u));
            auto it = m.mode_values.find(v);
            if (model.waiters.mode_flag)
                mode = (static_cast<std::uint64_t>(v) & model.waiters.mode_flag)
                           ? model.waiters.flag_set_mode
                           : model.waiters.flag_clear_mode;
            else if (it != m.mode_values.end())
                mode = it->second;
            else
                s.anomalies.push_back(
                    fmt::format("waiter pid {} has an unknown wait type {}", t->pid, v));
        } else if (!model.waiters.mode_frames.empty() && ctx.in_frames) {
            for (const auto& [fm, names] : model.waiters.mode_frames)
                if (ctx.in_frames(*t, names)) {
                    mode = fm;
                    break;
                }
        }
        Waiter w{task_ref(*t), mode, pos++, entry, t->state == 'D'};
        if (!w.task_blocked)
            s.anomalies.push_back(
                fmt::format("waiter pid {} is in state {}, not blocked", t->pid, t->state));
        s.waiters.push_back(std::move(w));
    }
    if (draining_writer) {
        // It owns the rtmutex but not the lock: it waits, first of all, for the readers.
        s.waiters.insert(
            s.waiters.begin(),
            Waiter{task_ref(*draining_writer), Mode::kWrite, 0, 0, draining_writer->state == 'D'});
        for (std::size_t i = 0; i < s.waiters.size(); ++i)
            s.waiters[i].queue_pos = static_cast<int>(i);
        s.state_notes.push_back(fmt::format(
            "pid {} owns the rtmutex (owner word {:#x}) as the writer and waits for the {} "
            "reader(s): it is listed as the first waiter, the readers hold the lock",
            draining_writer->pid,
            s.owner_raw,
            drain_readers));
    }
    // The lock's own "there are waiters" bit must agree with its list (a writer draining readers
    // is not in that list).
    const bool queued = s.waiters.size() > (draining_writer ? 1U : 0U);
    auto waiters_bit = [](const std::map<std::uint64_t, std::string>& names) -> std::uint64_t {
        for (const auto& [bit, name] : names)
            if (name == "WAITERS" || name == "HAS_WAITERS") return bit;
        return 0;
    };
    std::optional<bool> flag_says;
    if (std::uint64_t b = waiters_bit(model.count.flags); b && s.count_raw)
        flag_says = (static_cast<std::uint64_t>(*s.count_raw) & b) != 0;
    else if (std::uint64_t ob = waiters_bit(model.owner.flags); ob && m.owner_off)
        flag_says = (s.owner_raw & ob) != 0;
    if (flag_says && !wl.error) {
        if (*flag_says && !queued)
            s.anomalies.push_back("the WAITERS flag is set but the wait list is empty");
        else if (!*flag_says && queued)
            s.anomalies.push_back("tasks are queued but the WAITERS flag is clear");
    }
    if (model.kind == LockKind::kPercpuRwSemaphore && block && *block == 1 && s.holders.empty() &&
        s.anomalies.empty()) {
        s.held_by_state =
            "write-held by no task: blocked (block=1) with no writer task, as a filesystem freeze "
            "leaves it (or a percpu_down_write() caller that returned holding it)";
        if (s.reader_count && *s.reader_count > 0)
            s.held_by_state->append(fmt::format("; {} reader(s) still inside", *s.reader_count));
    }
    if (!s.waiters.empty() && s.holders.empty() && (!s.reader_count || *s.reader_count == 0) &&
        model.kind != LockKind::kSemaphore && model.kind != LockKind::kPercpuRwSemaphore) {
        if (s.owner_raw == 0 || (s.owner_raw & ~model.owner.flags_mask) == 0)
            s.anomalies.push_back(
                "waiters but no owner recorded (released and not yet handed over, or a lost "
                "wakeup)");
    }
    return s;
}

}  // namespace lockhound::locks
