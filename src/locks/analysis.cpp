// The investigation, step by step:
//  1. which lock each blocked task waits on: a waiter record on its own live stack
//     ({list, task == this task}), whose ring contains the wait-list head of a lock whose address
//     is also on the live stack (the slowpath's argument), or failing that the ring's one node
//     that is not a waiter (the head); the lock is then decoded and its wait list must name the
//     task;
//  2. each such lock decoded by its model: owner, count, waiters in queue order;
//  3. holders the lock does not record (rwsem readers, semaphores) inferred from evidence;
//  4. names by meaning, and what every holder is doing.
#include "locks/analysis.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "kernel/list_walk.h"
#include "kernel/percpu.h"
#include "kernel/stack_search.h"
#include "locks/code_evidence.h"
#include "locks/holder_inference.h"
#include "locks/lock_decoder.h"
#include "locks/lock_naming.h"
#include "locks/resolved_model.h"
#include "locks/superblock_naming.h"
#include "locks/task_frames.h"

namespace lockhound::locks {

namespace {

constexpr std::uint64_t kKernelSpace = 0xffff800000000000ull;

bool kernel_pointer(std::uint64_t v) {
    return v >= kKernelSpace && (v & 7) == 0;
}

const LockModelSet* models_or_warn(kernel::Kernel& k) {
    static std::once_flag once;
    static Result<LockModelSet> loaded = fail(ErrorKind::kNotFound, "not loaded");
    std::call_once(once, [] { loaded = load_lock_models(lockmodels_dir()); });
    if (!loaded) {
        k.warn("lock models: " + loaded.error().describe());
        return nullptr;
    }
    return &*loaded;
}

struct Investigation {
    kernel::Kernel& k;
    const LockModelSet& set;
    std::vector<ResolvedModel> models;
    DecodeContext ctx;
    kernel::StackCache stacks;
    TaskFrames frames;
    std::map<std::uint64_t, LockState> locks;  // confirmed, by address
    std::map<std::pair<std::uint64_t, std::string>, LockState> probes;
    std::unordered_map<std::uint64_t, std::uint64_t> entry_lock;  // waiter record -> lock
    std::vector<BlockedOn> blocked_on;
    std::unordered_map<std::uint64_t, std::size_t> blocked_index;  // task -> blocked_on index

    Investigation(kernel::Kernel& kernel, const LockModelSet& s)
        : k(kernel),
          set(s),
          ctx{kernel.memory(), [&kernel](std::uint64_t a) { return kernel.task_by_address(a); }},
          stacks(kernel, kernel::StackScope::kLive),
          frames(kernel) {
        ctx.in_frames = [this](const kernel::Task& t, const std::vector<std::string>& names) {
            return frames.find(t, names) != nullptr;
        };
        ctx.cpu_offsets = kernel::percpu_offsets(kernel);
    }

    const ResolvedModel* slowpath_model(const kernel::Task& t) {
        for (const auto& m : models)
            if (frames.find(t, m.model->slowpath)) return &m;
        return nullptr;
    }

    // Decodes (once per address and model) without committing: a probe may be the wrong model.
    LockState& probe(const ResolvedModel& m, std::uint64_t addr) {
        auto key = std::pair{addr, m.model->id};
        if (auto it = probes.find(key); it != probes.end()) return it->second;
        return probes.emplace(key, decode_lock(ctx, m, addr)).first->second;
    }
    // The lock at addr decoded by m when its wait list names the task; nullptr when it does not,
    // or when the address is already a finding of another kind.
    LockState* probe_listing(const kernel::Task& t, std::uint64_t addr, const ResolvedModel& m) {
        if (auto it = locks.find(addr); it != locks.end() && it->second.kind != m.model->kind)
            return nullptr;
        LockState& ls = probe(m, addr);
        bool listed = std::any_of(ls.waiters.begin(), ls.waiters.end(), [&](const Waiter& w) {
            return w.task.task == t.address;
        });
        return listed ? &ls : nullptr;
    }
    // A probe confirmed by a task found in its wait list becomes a finding.
    void confirm(const LockState& s) {
        if (locks.count(s.address)) return;
        for (const auto& w : s.waiters) entry_lock[w.waiter_record] = s.address;
        locks.emplace(s.address, s);
    }

    void record(const kernel::Task& t, std::uint64_t lock, std::string evidence) {
        if (blocked_index.count(t.address)) return;
        blocked_index[t.address] = blocked_on.size();
        blocked_on.push_back(BlockedOn{task_ref(t), lock, {std::move(evidence)}});
    }

    // Among candidate locks of several kinds, the slow path on the task's stack decides.
    void prefer_hinted(const kernel::Task& t,
                       std::vector<std::pair<std::uint64_t, const ResolvedModel*>>& found) {
        if (found.size() < 2) return;
        std::set<LockKind> kinds;
        for (auto& f : found) kinds.insert(f.second->model->kind);
        if (kinds.size() < 2) return;
        // The most specific: a kind whose slow-path functions are on the stack while another
        // kind's are not; acquire functions break the remaining ties.
        auto score = [&](const ResolvedModel& m) {
            int sc = 0;
            for (const auto& [mode, names] : m.model->acquire)
                if (frames.find(t, names)) sc += 1;
            for (const auto& [mode, names] : m.model->waiters.mode_frames)
                if (frames.find(t, names)) sc += 4;
            if (frames.find(t, m.model->slowpath)) sc += 2;
            return sc;
        };
        int best = -1;
        for (auto& f : found) best = std::max(best, score(*f.second));
        std::erase_if(found, [&](auto& f) { return score(*f.second) != best; });
    }

    // Step 1 for a waiter record linked into an rbtree (PREEMPT_RT rt_mutex): {rb_node ...,
    // task == t} on the live stack; the tree's root (found by walking the parents) must be the
    // root pointer of a lock whose address, or that of an object on the path to its tree, is on
    // the live stack; then the decoded lock must list the task.
    bool find_rb_wait(const kernel::Task& t, const kernel::StackSnapshot& s, std::size_t first) {
        std::set<std::pair<std::uint64_t, std::uint64_t>> shapes;
        for (const auto& m : models)
            if (m.model->waiters.layout == WaitListLayout::kRbtree)
                shapes.insert({m.link_off, m.task_off});
        if (shapes.empty()) return false;
        auto& mem = k.memory();
        for (std::size_t i = first; i < s.words.size(); ++i) {
            std::uint64_t entry = s.base + i * 8;
            for (auto [link, task] : shapes) {
                auto tw = s.word_at(entry + task);
                if (!tw || *tw != t.address) continue;
                if (auto it = entry_lock.find(entry); it != entry_lock.end()) {
                    record(t,
                           it->second,
                           fmt::format("waiter record at {:#x} on its stack is in the lock's "
                                       "waiter tree",
                                       entry));
                    return true;
                }
                const ResolvedModel* any = nullptr;
                for (const auto& m : models)
                    if (m.model->waiters.layout == WaitListLayout::kRbtree && m.link_off == link &&
                        m.task_off == task)
                        any = &m;
                std::uint64_t node = entry + link;
                auto l = s.word_at(node + any->rb_left_off),
                     r = s.word_at(node + any->rb_right_off);
                auto pc = s.word_at(node + any->rb_parent_off);
                if (!l || !r || !pc) continue;
                auto child_ok = [](std::uint64_t v) { return v == 0 || kernel_pointer(v); };
                // __rb_parent_color: parent pointer | colour bit (1 = black; a lone root is 1).
                if (!child_ok(*l) || !child_ok(*r) || !child_ok(*pc & ~3ull)) continue;
                // Up to the root: the node whose parent is 0 (bounded: an rbtree of 2^32 nodes is
                // at most 64 deep).
                std::uint64_t root = node, parent = *pc & ~3ull;
                int depth = 0;
                while (parent && depth++ < 64) {
                    if (!kernel_pointer(parent)) break;
                    root = parent;
                    auto up = mem.read_u64(parent + any->rb_parent_off);
                    if (!up) break;
                    parent = *up & ~3ull;
                }
                if (parent) continue;
                std::vector<std::pair<std::uint64_t, const ResolvedModel*>> found;
                for (const auto& m : models) {
                    if (m.model->waiters.layout != WaitListLayout::kRbtree || m.link_off != link ||
                        m.task_off != task)
                        continue;
                    // The record's own pointer back to the lock, where the layout has one.
                    if (m.entry_lock_off) {
                        auto back = s.word_at(entry + *m.entry_lock_off);
                        if (back && kernel_pointer(*back) && *back >= m.lock_target_off) {
                            std::uint64_t lock = *back - m.lock_target_off;
                            auto rp = mem.read_u64(lock + m.list_off);
                            if (rp && *rp == root) found.emplace_back(lock, &m);
                        }
                    }
                    for (std::size_t j = first; j < s.words.size(); ++j) {
                        std::uint64_t x = s.words[j];
                        if (!kernel_pointer(x)) continue;
                        for (std::uint64_t a : m.anchor_offs) {
                            if (x < a) continue;
                            std::uint64_t lock = x - a;
                            auto rp = mem.read_u64(lock + m.list_off);
                            if (!rp || *rp != root) continue;
                            if (std::none_of(found.begin(), found.end(), [&](auto& f) {
                                    return f.first == lock && f.second == &m;
                                }))
                                found.emplace_back(lock, &m);
                        }
                    }
                }
                // A slot of this stack is no lock (a saved pointer to the waiter's own node
                // would otherwise pass for the tree's root pointer).
                std::erase_if(found, [&](auto& f) {
                    return f.first >= s.base && f.first < s.base + s.words.size() * 8;
                });
                prefer_hinted(t, found);
                // Of the locks that list the task, the one that decodes with fewest anomalies.
                LockState* best = nullptr;
                const ResolvedModel* best_m = nullptr;
                for (auto [addr, m] : found) {
                    LockState* ls = probe_listing(t, addr, *m);
                    if (!ls) continue;
                    if (!best || ls->anomalies.size() < best->anomalies.size())
                        best = ls, best_m = m;
                }
                if (best) {
                    const LockState& ls = *best;
                    const ResolvedModel* m = best_m;
                    std::uint64_t addr = ls.address;
                    confirm(ls);
                    record(t,
                           addr,
                           fmt::format("waiter record at {:#x} on its stack is a node of the "
                                       "waiter tree of {} {:#x} (the lock's tree root is that "
                                       "node's root {:#x}; the lock's address is on the task's "
                                       "stack or in the record)",
                                       entry,
                                       to_string(m->model->kind),
                                       addr,
                                       root));
                    return true;
                }
            }
        }
        return false;
    }

    // Step 1 for one task.
    void find_wait(const kernel::Task& t) {
        const kernel::StackSnapshot* s = stacks.get(t);
        if (!s) return;
        std::size_t first = (s->live_sp - s->base) / 8;
        if (find_rb_wait(t, *s, first)) return;
        // Waiter records on the live stack: {link: next, prev; ...; task == t}.
        struct Candidate {
            std::uint64_t entry;
            const ResolvedModel* model;
        };
        std::vector<Candidate> cands;
        std::set<std::pair<std::uint64_t, std::uint64_t>> shapes;
        for (const auto& m : models)
            if (m.model->waiters.layout != WaitListLayout::kRbtree)
                shapes.insert({m.link_off, m.task_off});
        for (std::size_t i = first; i < s->words.size(); ++i) {
            std::uint64_t entry = s->base + i * 8;
            for (auto [link, task] : shapes) {
                auto tw = s->word_at(entry + task);
                auto nx = s->word_at(entry + link);
                auto pv = s->word_at(entry + link + 8);
                if (!tw || *tw != t.address || !nx || !pv || !kernel_pointer(*nx) ||
                    !kernel_pointer(*pv))
                    continue;
                if (auto it = entry_lock.find(entry); it != entry_lock.end()) {
                    record(t,
                           it->second,
                           fmt::format(
                               "waiter record at {:#x} on its stack is in the lock's wait list",
                               entry));
                    return;
                }
                for (const auto& m : models)
                    if (m.link_off == link && m.task_off == task &&
                        m.model->waiters.layout != WaitListLayout::kRbtree &&
                        (!m.model->require_slowpath || frames.find(t, m.model->slowpath)))
                        cands.push_back({entry, &m});
            }
        }
        if (cands.empty()) return;
        const ResolvedModel* hint = slowpath_model(t);
        for (const auto& c : cands) {
            kernel::ListWalk ring = kernel::walk_list(k.memory(),
                                                      c.entry + c.model->link_off,
                                                      {.max_nodes = 1u << 20, .check_prev = false});
            std::unordered_set<std::uint64_t> nodes(ring.nodes.begin(), ring.nodes.end());
            // Lock addresses on the live stack whose wait-list head is in the ring.
            std::vector<std::pair<std::uint64_t, const ResolvedModel*>> found;
            std::uint64_t own = c.entry + c.model->link_off;
            for (const auto& m : models) {
                if (m.link_off != c.model->link_off || m.task_off != c.model->task_off ||
                    m.model->waiters.layout == WaitListLayout::kRbtree ||
                    (m.model->require_slowpath && !frames.find(t, m.model->slowpath)))
                    continue;
                auto layout = m.model->waiters.layout;
                for (std::size_t i = first; i < s->words.size(); ++i) {
                    std::uint64_t x = s->words[i];
                    if (!kernel_pointer(x)) continue;
                    if (layout == WaitListLayout::kListHead) {
                        if (!nodes.count(x + m.list_off)) continue;
                    } else {
                        // A ring without a head: the lock points at one of the ring's waiters
                        // (at its link for slist, at the record for ring-from-first).
                        auto p = k.memory().read_u64(x + m.list_off);
                        if (!p || !kernel_pointer(*p)) continue;
                        std::uint64_t n =
                            layout == WaitListLayout::kRingFromFirst ? *p + m.link_off : *p;
                        if (n != own && !nodes.count(n)) continue;
                    }
                    if (std::none_of(found.begin(), found.end(), [&](auto& f) {
                            return f.first == x && f.second == &m;
                        }))
                        found.emplace_back(x, &m);
                }
            }
            // A "lock" on the task's own stack is most often the stack slots around the waiter
            // record that point back at it (7.x: one waiter's ring links itself, so any word
            // below the record looks like a first-waiter pointer): try the locks off the stack
            // first.
            const std::uint64_t stack_end = s->base + s->words.size() * 8;
            std::stable_partition(found.begin(), found.end(), [&](const auto& f) {
                return f.first < s->base || f.first >= stack_end;
            });
            std::string how =
                c.model->model->waiters.layout == WaitListLayout::kListHead
                    ? "its address is on the task's stack and its wait-list head is in the ring "
                      "of the task's waiter record"
                    : "its address is on the task's stack and its first-waiter pointer leads into "
                      "the ring of the task's waiter record";
            if (found.size() > 1 && hint) {
                std::erase_if(found,
                              [&](auto& f) { return f.second->model->kind != hint->model->kind; });
            }
            if (found.empty() && hint) {
                // The ring's one node that is not a waiter record is the lock's wait-list head.
                std::vector<std::uint64_t> heads;
                for (std::uint64_t n : ring.nodes) {
                    auto task = k.memory().read_u64(n - hint->link_off + hint->task_off);
                    if (!task || !k.task_by_address(*task)) heads.push_back(n);
                }
                if (heads.size() == 1 && heads[0] >= hint->list_off) {
                    found.emplace_back(heads[0] - hint->list_off, hint);
                    how = fmt::format(
                        "the only non-waiter node of its waiter record's ring ({:#x}) is taken as "
                        "the lock's wait_list (slow path {})",
                        heads[0],
                        hint->model->id);
                }
            }
            for (auto [addr, m] : found) {
                LockState* ls = probe_listing(t, addr, *m);
                if (!ls) continue;
                confirm(*ls);
                record(t,
                       addr,
                       fmt::format("waiter record at {:#x} on its stack is linked in the wait list "
                                   "of {} {:#x}; {}",
                                   c.entry,
                                   to_string(m->model->kind),
                                   addr,
                                   how));
                return;
            }
        }
    }
};

// An empty list head points at itself both ways; a non-empty one at nodes that point back.
bool wait_list_well_formed(kernel::Kernel& k, const ResolvedModel& m, std::uint64_t address) {
    if (m.model->waiters.layout != WaitListLayout::kListHead) return true;
    std::uint64_t head = address + m.list_off;
    auto next = k.memory().read_u64(head), prev = k.memory().read_u64(head + 8);
    if (!next || !prev) return false;
    if (*next == head || *prev == head) return *next == head && *prev == head;
    if (!kernel_pointer(*next) || !kernel_pointer(*prev)) return false;
    auto back = k.memory().read_u64(*next + 8), fwd = k.memory().read_u64(*prev);
    return back && fwd && *back == head && *fwd == head;
}

// sb_writers of a superblock; a frozen one held by no task is a state, not a holder.
bool name_percpu_instance(kernel::Kernel& k, LockState& ls, std::uint64_t lock_size) {
    auto sb = name_sb_writers(k, ls.address, lock_size);
    if (!sb) return false;
    ls.name = sb->name;
    ls.name_evidence = sb->evidence;
    ls.object = LockObject{.kind = "super_block",
                           .address = sb->superblock,
                           .offset = ls.address - sb->superblock,
                           .member = "s_writers",
                           .path = sb->mount_point,
                           .fstype = sb->fstype,
                           .device = sb->device};
    if (!ls.held_by_state || !sb->frozen_complete) return true;
    std::string where = fmt::format("{} on {}", sb->fstype, sb->device);
    if (!sb->mount_point.empty()) where += fmt::format(", mounted on {}", sb->mount_point);
    ls.instance = LockState::Instance{"frozen_filesystem",
                                      where,
                                      sb->frozen_name,
                                      sb->mount_point.empty()
                                          ? "fsfreeze --unfreeze MOUNTPOINT (FITHAW)"
                                          : fmt::format("fsfreeze --unfreeze {}", sb->mount_point),
                                      sb->superblock};
    return true;
}

}  // namespace

LockAnalysis analyze_locks(kernel::Kernel& k, const AnalysisOptions& options) {
    LockAnalysis out;
    const LockModelSet* set = models_or_warn(k);
    if (!set) {
        out.warnings = k.warnings();
        return out;
    }
    Investigation inv(k, *set);
    inv.models = resolve_models(*set, k.types());
    out.models = model_choices(*set, k.types());
    for (const auto& c : out.models) {
        if (!c.model.empty()) continue;
        std::string why;
        for (const auto& n : c.not_used) why += (why.empty() ? "" : "; ") + n;
        k.warn(
            fmt::format("no {} model matches this kernel's types ({}): waits on this kind of "
                        "lock were not looked for",
                        to_string(c.kind),
                        why));
    }

    const auto& tasks = k.tasks();
    // Step 1: waits. Blocked (D) tasks first; the lock's full decode then covers every waiter.
    for (const auto& t : tasks)
        if (t.state == 'D') inv.find_wait(t);
    // Waiters found in wait lists that were not found from their own stack (anomalies included).
    for (auto& [addr, ls] : inv.locks)
        for (const auto& w : ls.waiters)
            if (const auto* t = k.task_by_address(w.task.task))
                inv.record(*t, addr, "listed in the lock's wait list");

    // Step 3: holders the locks do not record.
    CodeScanner code(k);
    HolderInference infer{k, *set, inv.models, inv.stacks, inv.frames, code, inv.blocked_index};
    for (auto& [addr, ls] : inv.locks) {
        const ResolvedModel* m = find_model(inv.models, ls.kind);
        if (options.infer_holders && m) infer.infer(ls, *m);
        if (ls.kind == LockKind::kPercpuRwSemaphore && m &&
            name_percpu_instance(k, ls, m->lock_size))
            continue;
        if (auto n = name_lock(k, addr, m ? m->lock_size : 0, *set)) {
            ls.name = n->name;
            ls.name_evidence = n->evidence;
            ls.object = n->object;
        }
    }

    // Step 4: what each holder, and each blocked task waiting on nothing, is doing.
    std::set<std::uint64_t> described;
    auto describe = [&](const kernel::Task& t) {
        if (!described.insert(t.address).second) return;
        out.activities.push_back(describe_activity(k, inv.frames, *set, t));
    };
    for (auto& [addr, ls] : inv.locks)
        for (const auto& h : ls.holders)
            if (const auto* t = k.task_by_address(h.task.task)) describe(*t);
    for (const auto& t : tasks) {
        if (t.state != 'D' || inv.blocked_index.count(t.address)) continue;
        out.unexplained.push_back(task_ref(t));
        describe(t);
    }

    for (auto& [addr, ls] : inv.locks) out.locks.push_back(std::move(ls));
    out.blocked_on = std::move(inv.blocked_on);
    out.warnings = k.warnings();
    return out;
}

std::vector<ModelChoice> lock_model_choices(kernel::Kernel& k) {
    const LockModelSet* set = models_or_warn(k);
    if (!set) return {};
    return model_choices(*set, k.types());
}

std::optional<LockState> decode_lock_at(kernel::Kernel& k,
                                        std::uint64_t address,
                                        std::optional<LockKind> kind) {
    const LockModelSet* set = models_or_warn(k);
    if (!set) return std::nullopt;
    auto models = resolve_models(*set, k.types());
    DecodeContext ctx{k.memory(), [&k](std::uint64_t a) { return k.task_by_address(a); }};
    ctx.cpu_offsets = kernel::percpu_offsets(k);
    std::optional<LockState> best;
    int best_score = -1;
    for (const auto& m : models) {
        if (kind && m.model->kind != *kind) continue;
        LockState s = decode_lock(ctx, m, address);
        // Plausibility: a readable, well-formed wait list and an owner that is a task or empty.
        // Without --type, anything with anomalies is not taken for a lock of this kind.
        if (!kind && !s.anomalies.empty()) continue;
        if (!kind && !wait_list_well_formed(k, m, address)) continue;
        int score = 0;
        if (s.anomalies.empty()) score += 2;
        if (!s.waiters.empty()) score += 2;
        if (!s.holders.empty()) score += 1;
        if (score > best_score) best = std::move(s), best_score = score;
    }
    if (best) {
        const ResolvedModel* m = find_model(models, best->kind);
        TaskFrames frames(k);
        kernel::StackCache stacks(k, kernel::StackScope::kLive);
        CodeScanner code(k);
        std::unordered_map<std::uint64_t, std::size_t> none;
        HolderInference infer{k, *set, models, stacks, frames, code, none};
        if (m) infer.infer(*best, *m);
        if (auto n = name_lock(k, address, m ? m->lock_size : 0, *set)) {
            best->name = n->name;
            best->name_evidence = n->evidence;
            best->object = n->object;
        }
    }
    return best;
}

}  // namespace lockhound::locks
