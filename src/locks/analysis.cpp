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
#include "kernel/stack_search.h"
#include "locks/code_evidence.h"
#include "locks/holder_inference.h"
#include "locks/lock_decoder.h"
#include "locks/lock_naming.h"
#include "locks/resolved_model.h"
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
          frames(kernel) {}

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
    // A probe confirmed by a task found in its wait list becomes a finding.
    void confirm(const LockState& s) {
        if (locks.contains(s.address)) return;
        for (const auto& w : s.waiters) entry_lock[w.waiter_record] = s.address;
        locks.emplace(s.address, s);
    }

    void record(const kernel::Task& t, std::uint64_t lock, std::string evidence) {
        if (blocked_index.contains(t.address)) return;
        blocked_index[t.address] = blocked_on.size();
        blocked_on.push_back(BlockedOn{task_ref(t), lock, {std::move(evidence)}});
    }

    // Step 1 for one task.
    void find_wait(const kernel::Task& t) {
        const kernel::StackSnapshot* s = stacks.get(t);
        if (!s) return;
        std::size_t first = (s->live_sp - s->base) / 8;
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
            std::uint64_t entry = s->base + (i * 8);
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
                        m.model->waiters.layout != WaitListLayout::kRbtree)
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
            for (const auto& m : models) {
                if (m.link_off != c.model->link_off || m.task_off != c.model->task_off ||
                    m.model->waiters.layout != WaitListLayout::kListHead)
                    continue;
                for (std::size_t i = first; i < s->words.size(); ++i) {
                    std::uint64_t x = s->words[i];
                    if (!kernel_pointer(x) || !nodes.contains(x + m.list_off)) continue;
                    if (std::ranges::none_of(
                            found, [&](auto& f) { return f.first == x && f.second == &m; }))
                        found.emplace_back(x, &m);
                }
            }
            std::string how =
                "its address is on the task's stack and its wait-list head is in the ring of the "
                "task's waiter record";
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
                if (auto it = locks.find(addr);
                    it != locks.end() && it->second.kind != m->model->kind)
                    continue;
                LockState& ls = probe(*m, addr);
                bool listed = std::ranges::any_of(
                    ls.waiters, [&](const Waiter& w) { return w.task.task == t.address; });
                if (!listed) continue;
                confirm(ls);
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
    auto next = k.memory().read_u64(head);
    auto prev = k.memory().read_u64(head + 8);
    if (!next || !prev) return false;
    if (*next == head || *prev == head) return *next == head && *prev == head;
    if (!kernel_pointer(*next) || !kernel_pointer(*prev)) return false;
    auto back = k.memory().read_u64(*next + 8);
    auto fwd = k.memory().read_u64(*prev);
    return back && fwd && *back == head && *fwd == head;
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
    std::vector<std::string> notes;
    inv.models = resolve_models(*set, k.types(), &notes);
    if (inv.models.empty()) k.warn("no lock model matches this kernel's types");

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
        if (auto n = name_lock(k, addr, m ? m->lock_size : 0, *set)) {
            ls.name = n->name;
            ls.name_evidence = n->evidence;
        }
    }

    // Step 4: what each holder, and each blocked task waiting on nothing, is doing.
    std::set<std::uint64_t> described;
    auto describe = [&](const kernel::Task& t) {
        if (!described.insert(t.address).second) return;
        out.activities.push_back(describe_activity(k, inv.frames, t));
    };
    for (auto& [addr, ls] : inv.locks)
        for (const auto& h : ls.holders)
            if (const auto* t = k.task_by_address(h.task.task)) describe(*t);
    for (const auto& t : tasks) {
        if (t.state != 'D' || inv.blocked_index.contains(t.address)) continue;
        out.unexplained.push_back(task_ref(t));
        describe(t);
    }

    for (auto& [addr, ls] : inv.locks) out.locks.push_back(std::move(ls));
    out.blocked_on = std::move(inv.blocked_on);
    out.warnings = k.warnings();
    return out;
}

std::optional<LockState> decode_lock_at(kernel::Kernel& k,
                                        std::uint64_t address,
                                        std::optional<LockKind> kind) {
    const LockModelSet* set = models_or_warn(k);
    if (!set) return std::nullopt;
    auto models = resolve_models(*set, k.types());
    DecodeContext ctx{k.memory(), [&k](std::uint64_t a) { return k.task_by_address(a); }};
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
        }
    }
    return best;
}

}  // namespace lockhound::locks
