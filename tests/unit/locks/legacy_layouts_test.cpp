// Lock models for layouts the shared dumps do not exercise (RHEL 7, Linux 4.19, PREEMPT_RT 5.10
// and 6.x, Linux 7.2), tested on compiler-made DWARF of those kernels' struct definitions
// (tests/data/*.c, built with -g -O0): the expected model is selected for each kind, and locks laid
// out in fake memory at the offsets that DWARF gives (waiter records on fake stacks, linked as the
// kernel links them) decode to the right holders, waiters, modes and notes. Damaged wait lists
// become anomalies.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "debuginfo/dwarf_types.h"
#include "kernel/task.h"
#include "locks/lock_decoder.h"
#include "locks/lock_model.h"
#include "locks/resolved_model.h"
#include "support/fake_memory.h"

namespace lockhound::locks {
namespace {

using testing::FakeMemory;

constexpr std::uint64_t kLockPage = 0xffff888000100000;
constexpr std::uint64_t kTaskBase = 0xffff888000200000;
constexpr std::uint64_t kStackBase = 0xffffc90000400000;
constexpr std::uint64_t kStackSize = 0x4000;
constexpr std::uint64_t kUnmapped = 0xffff888000900040;
constexpr std::uint64_t kNotATask = 0xffff888000777000;

// x86_64 rwsem-xadd biases (kernel constants, not layout).
constexpr std::int64_t kActiveBias = 1;
constexpr std::int64_t kWaitingBias = -0xffffffffll - 1;
constexpr std::int64_t kActiveWriteBias = kWaitingBias + kActiveBias;
// PREEMPT_RT rwbase_rt.readers
constexpr std::uint32_t kReaderBias = 1u << 31;
constexpr std::uint32_t kWriterBias = 1u << 30;

bool has_text(const std::vector<std::string>& lines, std::string_view needle) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
        return l.find(needle) != std::string::npos;
    });
}

std::string describe(const LockState& s) {
    std::string out = "model " + s.model + "\n";
    for (const auto& n : s.state_notes) out += "  note: " + n + "\n";
    for (const auto& a : s.anomalies) out += "  anomaly: " + a + "\n";
    for (const auto& h : s.holders)
        out += "  holder pid " + std::to_string(h.task.pid) + " " + to_string(h.mode) + "\n";
    for (const auto& w : s.waiters)
        out += "  waiter pid " + std::to_string(w.task.pid) + " " + to_string(w.mode) + "\n";
    return out;
}

struct Want {
    std::uint64_t task;
    Mode mode;
    std::uint64_t record;
};

void expect_waiters(const LockState& s, const std::vector<Want>& want) {
    ASSERT_EQ(s.waiters.size(), want.size()) << describe(s);
    for (std::size_t i = 0; i < want.size(); ++i) {
        SCOPED_TRACE("waiter " + std::to_string(i));
        EXPECT_EQ(s.waiters[i].task.task, want[i].task);
        EXPECT_EQ(s.waiters[i].mode, want[i].mode);
        EXPECT_EQ(s.waiters[i].waiter_record, want[i].record);
        EXPECT_EQ(s.waiters[i].queue_pos, static_cast<int>(i));
        EXPECT_TRUE(s.waiters[i].task_blocked);
    }
}

// Memory, tasks and stacks of a fake kernel; the list helpers link nodes the way the kernel's
// list.h does, at the list_head offsets the DWARF gives.
class FakeKernel {
  public:
    FakeKernel() { mem.map(kLockPage, 0x1000); }

    std::uint64_t add_task(int pid, const std::string& comm, char state = 'D') {
        kernel::Task t;
        t.address = kTaskBase + tasks_.size() * 0x2000;
        t.pid = t.tgid = pid;
        t.comm = comm;
        t.state = state;
        tasks_[t.address] = t;
        return t.address;
    }
    // A zeroed record of `size` bytes in the frame area of a new fake kernel stack.
    std::uint64_t stack_record(std::uint64_t size) {
        std::uint64_t base = kStackBase + stacks_++ * kStackSize;
        mem.map(base, kStackSize);
        return (base + kStackSize - 0x300 - size) & ~std::uint64_t{15};
    }
    LockState decode(const ResolvedModel& m, std::uint64_t lock) {
        DecodeContext ctx{mem, [this](std::uint64_t a) -> const kernel::Task* {
                              auto it = tasks_.find(a);
                              return it == tasks_.end() ? nullptr : &it->second;
                          }};
        return decode_lock(ctx, m, lock);
    }

    void set_list_offsets(std::uint64_t next, std::uint64_t prev) { next_ = next, prev_ = prev; }
    std::uint64_t next_of(std::uint64_t node) { return mem.read_u64(node + next_).value_or(0); }
    void set_next(std::uint64_t node, std::uint64_t v) { mem.put_u64(node + next_, v); }
    void set_prev(std::uint64_t node, std::uint64_t v) { mem.put_u64(node + prev_, v); }
    // INIT_LIST_HEAD
    void init_list_head(std::uint64_t head) {
        set_next(head, head);
        set_prev(head, head);
    }
    // list_add_tail(node, head)
    void list_add_tail(std::uint64_t node, std::uint64_t head) {
        std::uint64_t last = mem.read_u64(head + prev_).value_or(0);
        set_next(node, head);
        set_prev(node, last);
        set_next(last, node);
        set_prev(head, node);
    }
    // RHEL 7 rwsem: INIT_SLIST_HEAD and slist_add_tail (the head is one pointer to the first
    // waiter's list_head; the waiters form a ring without the head).
    void init_slist_head(std::uint64_t head) { mem.put_u64(head, head); }
    void slist_add_tail(std::uint64_t node, std::uint64_t head) {
        std::uint64_t first = mem.read_u64(head).value_or(0);
        if (first == head) {
            init_list_head(node);
            mem.put_u64(head, node);
        } else {
            list_add_tail(node, first);
        }
    }

    FakeMemory mem;

  private:
    std::map<std::uint64_t, kernel::Task> tasks_;
    int stacks_ = 0;
    std::uint64_t next_ = 0, prev_ = 8;
};

// One kernel generation: its DWARF, the lock models resolved against it, a fake kernel.
class LayoutTest : public ::testing::Test {
  protected:
    void open(const char* path) {
        auto set = load_lock_models(LH_LOCKMODELS_DIR);
        ASSERT_TRUE(set) << set.error().describe();
        set_ = std::make_unique<LockModelSet>(std::move(*set));
        auto types = debuginfo::DwarfTypes::open(path);
        ASSERT_TRUE(types) << types.error().describe();
        types_ = std::move(*types);
        resolved_ = resolve_models(*set_, *types_, &notes_);
        ASSERT_TRUE(types_->member("list_head", "next") && types_->member("list_head", "prev"));
        k_.set_list_offsets(off("list_head", "next"), off("list_head", "prev"));
    }

    std::uint64_t off(std::string_view st, std::string_view path) {
        auto m = types_->member(st, path);
        if (!m) {
            ADD_FAILURE() << "no " << st << "." << path << " in the DWARF";
            return 0;
        }
        return m->offset;
    }
    std::uint64_t size(std::string_view st) {
        auto s = types_->struct_size(st);
        if (!s) ADD_FAILURE() << "no struct " << st << " in the DWARF";
        return s.value_or(64);
    }
    std::int64_t enumerator(std::string_view name) {
        auto v = types_->enumerator(name);
        if (!v) ADD_FAILURE() << "no enumerator " << name << " in the DWARF";
        return v.value_or(-1);
    }
    const LockModel* model_by_id(std::string_view id) {
        for (const auto& m : set_->models)
            if (m.id == id) return &m;
        ADD_FAILURE() << "no model " << id;
        return nullptr;
    }
    std::string selected(LockKind kind) {
        const ResolvedModel* m = find_model(resolved_, kind);
        return m ? m->model->id : "(none)";
    }
    std::string notes() {
        std::string s;
        for (const auto& n : notes_) s += n + "\n";
        return s;
    }
    // The model must not detect on these types; `why` must name the difference.
    void expect_not_detected(std::string_view id, std::string_view why_part) {
        const LockModel* m = model_by_id(id);
        ASSERT_NE(m, nullptr);
        std::string why;
        EXPECT_FALSE(model_detects(*m, *types_, &why)) << id;
        EXPECT_NE(why.find(why_part), std::string::npos) << id << ": " << why;
    }

    std::unique_ptr<LockModelSet> set_;  // resolved_ points into it
    std::unique_ptr<debuginfo::DwarfTypes> types_;
    std::vector<ResolvedModel> resolved_;
    std::vector<std::string> notes_;
    FakeKernel k_;
};

// ---------------------------------------------------------------------------------------------
// RHEL 7 (3.10.0-*): rwsem with an slist wait list; mutex with count + plain owner.

class Rhel7Layout : public LayoutTest {
  protected:
    void SetUp() override { ASSERT_NO_FATAL_FAILURE(open(LH_LAYOUT_RHEL7_3_10)); }

    // An rwsem_waiter on its own fake stack for task, waiting for read or write.
    std::uint64_t rwsem_waiter(std::uint64_t task, bool write) {
        std::uint64_t rec = k_.stack_record(size("rwsem_waiter"));
        k_.mem.put_u64(rec + off("rwsem_waiter", "task"), task);
        k_.mem.put_u32(rec + off("rwsem_waiter", "type"),
                       static_cast<std::uint32_t>(enumerator(write ? "RWSEM_WAITING_FOR_WRITE"
                                                                   : "RWSEM_WAITING_FOR_READ")));
        return rec;
    }
    std::uint64_t link(std::uint64_t rec) { return rec + off("rwsem_waiter", "list"); }
    std::uint64_t head(std::uint64_t sem) { return sem + off("rw_semaphore", "wait_list"); }
    void set_rwsem(std::uint64_t sem, std::int64_t count, std::uint64_t owner) {
        k_.mem.put_u64(sem + off("rw_semaphore", "count"), static_cast<std::uint64_t>(count));
        k_.mem.put_u64(sem + off("rw_semaphore", "owner"), owner);
    }
    const ResolvedModel& rwsem() { return *find_model(resolved_, LockKind::kRwSemaphore); }
};

TEST_F(Rhel7Layout, SelectsSlistRwsemAndCountOwnerMutex) {
    EXPECT_EQ(selected(LockKind::kRwSemaphore), "rwsem/slist-bias-rhel7") << notes();
    EXPECT_EQ(selected(LockKind::kMutex), "mutex/count-owner-pre4.10") << notes();
    EXPECT_EQ(selected(LockKind::kSemaphore), "semaphore/count-waitlist") << notes();
    // The other layouts are told apart by type shape.
    expect_not_detected("rwsem/count-bias-v4.x", "slist_head");
    expect_not_detected("rwsem/owner-flags-v5.3", "rw_semaphore.owner is a pointer");
    expect_not_detected("mutex/owner-tagged-v4.10", "mutex.owner is a pointer");
    expect_not_detected("rt/mutex-rtmutex", "mutex.rtmutex");
    expect_not_detected("rt/rwsem-rwbase", "rw_semaphore.rwbase");

    // Bound at the DWARF's offsets. count is the atomic_long_t of the kABI union, not the
    // hidden `long count`.
    auto count = types_->member("rw_semaphore", "count");
    ASSERT_TRUE(count);
    EXPECT_EQ(count->kind, debuginfo::TypeKind::kStruct);
    EXPECT_EQ(count->size, 8u);
    ASSERT_NE(find_model(resolved_, LockKind::kRwSemaphore), nullptr);
    const ResolvedModel& r = rwsem();
    EXPECT_EQ(r.lock_size, size("rw_semaphore"));
    EXPECT_EQ(r.count_off, off("rw_semaphore", "count"));
    EXPECT_EQ(r.owner_off, off("rw_semaphore", "owner"));
    EXPECT_EQ(r.list_off, off("rw_semaphore", "wait_list"));
    EXPECT_EQ(r.link_off, off("rwsem_waiter", "list"));
    EXPECT_EQ(r.task_off, off("rwsem_waiter", "task"));
    EXPECT_EQ(r.mode_off, off("rwsem_waiter", "type"));
    EXPECT_EQ(r.mode_size, 4u);
    EXPECT_EQ(r.mode_values.at(enumerator("RWSEM_WAITING_FOR_WRITE")), Mode::kWrite);
    EXPECT_EQ(r.mode_values.at(enumerator("RWSEM_WAITING_FOR_READ")), Mode::kRead);
    const ResolvedModel* mutex = find_model(resolved_, LockKind::kMutex);
    ASSERT_NE(mutex, nullptr);
    EXPECT_EQ(mutex->count_off, off("mutex", "count"));
    EXPECT_EQ(mutex->owner_off, off("mutex", "owner"));
    EXPECT_EQ(mutex->list_off, off("mutex", "wait_list"));
    EXPECT_EQ(mutex->task_off, off("mutex_waiter", "task"));
}

TEST_F(Rhel7Layout, RwsemWriterHeldWithWaitersInSlistRing) {
    ASSERT_NE(find_model(resolved_, LockKind::kRwSemaphore), nullptr) << notes();
    const std::uint64_t sem = kLockPage + 0x100;
    std::uint64_t holder = k_.add_task(100, "writer0", 'D');
    std::uint64_t r1 = k_.add_task(101, "reader1");
    std::uint64_t w2 = k_.add_task(102, "writer2");
    std::uint64_t r3 = k_.add_task(103, "reader3");
    std::uint64_t rec1 = rwsem_waiter(r1, false), rec2 = rwsem_waiter(w2, true),
                  rec3 = rwsem_waiter(r3, false);
    set_rwsem(sem, kActiveWriteBias + kWaitingBias, holder);
    k_.init_slist_head(head(sem));
    for (std::uint64_t rec : {rec1, rec2, rec3}) k_.slist_add_tail(link(rec), head(sem));
    // The ring excludes the head: the last waiter links back to the first.
    ASSERT_EQ(k_.mem.read_u64(head(sem)).value(), link(rec1));
    ASSERT_EQ(k_.next_of(link(rec3)), link(rec1));

    LockState s = k_.decode(rwsem(), sem);
    EXPECT_EQ(s.model, "rwsem/slist-bias-rhel7");
    EXPECT_EQ(s.kind, LockKind::kRwSemaphore);
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
    EXPECT_EQ(s.count_raw, kActiveWriteBias + kWaitingBias);
    EXPECT_EQ(s.owner_raw, holder);
    ASSERT_EQ(s.holders.size(), 1u) << describe(s);
    EXPECT_EQ(s.holders[0].task.task, holder);
    EXPECT_EQ(s.holders[0].task.pid, 100);
    EXPECT_EQ(s.holders[0].mode, Mode::kWrite);
    EXPECT_EQ(s.holders[0].confidence, Confidence::kCertain);
    EXPECT_FALSE(s.reader_count);
    EXPECT_TRUE(has_text(s.state_notes, "waiters queued")) << describe(s);
    expect_waiters(s, {{r1, Mode::kRead, rec1}, {w2, Mode::kWrite, rec2}, {r3, Mode::kRead, rec3}});

    // read_wait_list gives the same records.
    DecodeContext ctx{k_.mem, [](std::uint64_t) { return nullptr; }};
    WaitList wl = read_wait_list(ctx, rwsem(), sem);
    EXPECT_FALSE(wl.error);
    EXPECT_EQ(wl.entries, (std::vector<std::uint64_t>{rec1, rec2, rec3}));
}

TEST_F(Rhel7Layout, RwsemSlistEmptyAndSingular) {
    ASSERT_NE(find_model(resolved_, LockKind::kRwSemaphore), nullptr) << notes();
    const std::uint64_t sem = kLockPage + 0x200;
    // Empty: the head points at itself (INIT_SLIST_HEAD)...
    set_rwsem(sem, kActiveBias, 1);
    k_.init_slist_head(head(sem));
    LockState s = k_.decode(rwsem(), sem);
    EXPECT_TRUE(s.waiters.empty()) << describe(s);
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
    EXPECT_EQ(s.reader_count, 1u);
    // ...or is NULL (zeroed memory).
    k_.mem.put_u64(head(sem), 0);
    s = k_.decode(rwsem(), sem);
    EXPECT_TRUE(s.waiters.empty()) << describe(s);
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);

    // One waiter: its list_head points at itself.
    std::uint64_t holder = k_.add_task(200, "writer");
    std::uint64_t w = k_.add_task(201, "waiter");
    std::uint64_t rec = rwsem_waiter(w, true);
    set_rwsem(sem, kActiveWriteBias + kWaitingBias, holder);
    k_.init_slist_head(head(sem));
    k_.slist_add_tail(link(rec), head(sem));
    ASSERT_EQ(k_.next_of(link(rec)), link(rec));
    s = k_.decode(rwsem(), sem);
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
    expect_waiters(s, {{w, Mode::kWrite, rec}});
}

TEST_F(Rhel7Layout, RwsemReaderOwnedWithWriterQueued) {
    ASSERT_NE(find_model(resolved_, LockKind::kRwSemaphore), nullptr) << notes();
    const std::uint64_t sem = kLockPage + 0x300;
    std::uint64_t w = k_.add_task(300, "writer");
    std::uint64_t r = k_.add_task(301, "late_reader");
    std::uint64_t rec_w = rwsem_waiter(w, true), rec_r = rwsem_waiter(r, false);
    // Two readers hold it (owner = RWSEM_READER_OWNED); a writer and a later reader queue.
    set_rwsem(sem, kWaitingBias + 2 * kActiveBias, 1);
    k_.init_slist_head(head(sem));
    k_.slist_add_tail(link(rec_w), head(sem));
    k_.slist_add_tail(link(rec_r), head(sem));

    LockState s = k_.decode(rwsem(), sem);
    EXPECT_TRUE(s.holders.empty()) << describe(s);
    EXPECT_EQ(s.reader_count, 2u) << describe(s);
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
    expect_waiters(s, {{w, Mode::kWrite, rec_w}, {r, Mode::kRead, rec_r}});
}

TEST_F(Rhel7Layout, RwsemDamagedRingIsAnAnomaly) {
    ASSERT_NE(find_model(resolved_, LockKind::kRwSemaphore), nullptr) << notes();
    const std::uint64_t sem = kLockPage + 0x400;
    std::uint64_t holder = k_.add_task(400, "writer");
    std::vector<std::uint64_t> tasks, recs;
    for (int i = 0; i < 3; ++i) {
        tasks.push_back(k_.add_task(401 + i, "w" + std::to_string(i)));
        recs.push_back(rwsem_waiter(tasks.back(), true));
    }
    auto build = [&] {
        set_rwsem(sem, kActiveWriteBias + kWaitingBias, holder);
        k_.init_slist_head(head(sem));
        for (std::size_t i = 0; i < recs.size(); ++i) {
            k_.mem.put_u64(recs[i] + off("rwsem_waiter", "task"), tasks[i]);
            k_.slist_add_tail(link(recs[i]), head(sem));
        }
    };

    // The ring loops back to its second entry instead of its first.
    build();
    k_.set_next(link(recs[2]), link(recs[1]));
    LockState s = k_.decode(rwsem(), sem);
    EXPECT_TRUE(has_text(s.anomalies, "loops")) << describe(s);
    expect_waiters(s,
                   {{tasks[0], Mode::kWrite, recs[0]},
                    {tasks[1], Mode::kWrite, recs[1]},
                    {tasks[2], Mode::kWrite, recs[2]}});

    // A next pointer into memory the dump does not have.
    build();
    k_.set_next(link(recs[1]), kUnmapped);
    s = k_.decode(rwsem(), sem);
    EXPECT_TRUE(has_text(s.anomalies, "wait list")) << describe(s);
    ASSERT_EQ(s.waiters.size(), 2u) << describe(s);
    EXPECT_EQ(s.waiters[0].task.task, tasks[0]);
    EXPECT_EQ(s.waiters[1].task.task, tasks[1]);

    // The ring is cut (NULL next before it returns to its first entry).
    build();
    k_.set_next(link(recs[1]), 0);
    s = k_.decode(rwsem(), sem);
    EXPECT_TRUE(has_text(s.anomalies, "cut")) << describe(s);
    EXPECT_EQ(s.waiters.size(), 2u) << describe(s);

    // A waiter record whose task is not a task.
    build();
    k_.mem.put_u64(recs[1] + off("rwsem_waiter", "task"), kNotATask);
    s = k_.decode(rwsem(), sem);
    EXPECT_TRUE(has_text(s.anomalies, "not a task")) << describe(s);
    ASSERT_EQ(s.waiters.size(), 2u) << describe(s);
    EXPECT_EQ(s.waiters[0].task.task, tasks[0]);
    EXPECT_EQ(s.waiters[1].task.task, tasks[2]);
}

TEST_F(Rhel7Layout, MutexCountAndOwner) {
    const ResolvedModel* m = find_model(resolved_, LockKind::kMutex);
    ASSERT_NE(m, nullptr) << notes();
    const std::uint64_t lock = kLockPage + 0x500;
    std::uint64_t owner = k_.add_task(500, "owner");
    std::uint64_t a = k_.add_task(501, "a"), b = k_.add_task(502, "b");
    std::uint64_t rec_a = k_.stack_record(size("mutex_waiter"));
    std::uint64_t rec_b = k_.stack_record(size("mutex_waiter"));
    k_.mem.put_u64(rec_a + off("mutex_waiter", "task"), a);
    k_.mem.put_u64(rec_b + off("mutex_waiter", "task"), b);
    const std::uint64_t head = lock + off("mutex", "wait_list");
    k_.init_list_head(head);
    k_.list_add_tail(rec_a + off("mutex_waiter", "list"), head);
    k_.list_add_tail(rec_b + off("mutex_waiter", "list"), head);
    k_.mem.put_u32(lock + off("mutex", "count"), static_cast<std::uint32_t>(-1));
    k_.mem.put_u64(lock + off("mutex", "owner"), owner);

    LockState s = k_.decode(*m, lock);
    EXPECT_EQ(s.model, "mutex/count-owner-pre4.10");
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
    EXPECT_EQ(s.count_raw, -1);
    EXPECT_TRUE(has_text(s.state_notes, "locked, waiters possible")) << describe(s);
    ASSERT_EQ(s.holders.size(), 1u) << describe(s);
    EXPECT_EQ(s.holders[0].task.task, owner);
    EXPECT_EQ(s.holders[0].mode, Mode::kExclusive);
    expect_waiters(s, {{a, Mode::kExclusive, rec_a}, {b, Mode::kExclusive, rec_b}});

    // Unlocked: count 1, owner cleared, no waiters.
    k_.init_list_head(head);
    k_.mem.put_u32(lock + off("mutex", "count"), 1);
    k_.mem.put_u64(lock + off("mutex", "owner"), 0);
    s = k_.decode(*m, lock);
    EXPECT_TRUE(has_text(s.state_notes, "unlocked")) << describe(s);
    EXPECT_TRUE(s.holders.empty());
    EXPECT_TRUE(s.waiters.empty());
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
}

// ---------------------------------------------------------------------------------------------
// Linux 4.19: rwsem with count biases, list_head wait list, owner pointer; mutex owner tagged.

class Linux419Layout : public LayoutTest {
  protected:
    void SetUp() override { ASSERT_NO_FATAL_FAILURE(open(LH_LAYOUT_LINUX_4_19)); }

    std::uint64_t rwsem_waiter(std::uint64_t task, bool write) {
        std::uint64_t rec = k_.stack_record(size("rwsem_waiter"));
        k_.mem.put_u64(rec + off("rwsem_waiter", "task"), task);
        k_.mem.put_u32(rec + off("rwsem_waiter", "type"),
                       static_cast<std::uint32_t>(enumerator(write ? "RWSEM_WAITING_FOR_WRITE"
                                                                   : "RWSEM_WAITING_FOR_READ")));
        return rec;
    }
    std::uint64_t link(std::uint64_t rec) { return rec + off("rwsem_waiter", "list"); }
    std::uint64_t head(std::uint64_t sem) { return sem + off("rw_semaphore", "wait_list"); }
    void set_rwsem(std::uint64_t sem, std::int64_t count, std::uint64_t owner) {
        k_.mem.put_u64(sem + off("rw_semaphore", "count"), static_cast<std::uint64_t>(count));
        k_.mem.put_u64(sem + off("rw_semaphore", "owner"), owner);
    }
    const ResolvedModel& rwsem() { return *find_model(resolved_, LockKind::kRwSemaphore); }
};

TEST_F(Linux419Layout, SelectsCountBiasRwsemAndTaggedOwnerMutex) {
    EXPECT_EQ(selected(LockKind::kRwSemaphore), "rwsem/count-bias-v4.x") << notes();
    EXPECT_EQ(selected(LockKind::kMutex), "mutex/owner-tagged-v4.10") << notes();
    EXPECT_EQ(selected(LockKind::kSemaphore), "semaphore/count-waitlist") << notes();
    expect_not_detected("rwsem/slist-bias-rhel7", "list_head, not slist_head");
    expect_not_detected("rwsem/owner-flags-v5.3", "rw_semaphore.owner is a pointer");
    expect_not_detected("mutex/count-owner-pre4.10", "no mutex.count");
    expect_not_detected("rt/mutex-rtmutex", "mutex.rtmutex");

    ASSERT_NE(find_model(resolved_, LockKind::kRwSemaphore), nullptr);
    const ResolvedModel& r = rwsem();
    EXPECT_EQ(r.count_off, off("rw_semaphore", "count"));
    EXPECT_EQ(r.owner_off, off("rw_semaphore", "owner"));
    EXPECT_EQ(r.list_off, off("rw_semaphore", "wait_list"));
    EXPECT_EQ(r.link_off, off("rwsem_waiter", "list"));
    EXPECT_EQ(r.task_off, off("rwsem_waiter", "task"));
    EXPECT_EQ(r.mode_off, off("rwsem_waiter", "type"));
    EXPECT_EQ(r.mode_values.size(), 2u);
    const ResolvedModel* mutex = find_model(resolved_, LockKind::kMutex);
    ASSERT_NE(mutex, nullptr);
    EXPECT_EQ(mutex->owner_off, off("mutex", "owner"));
    EXPECT_FALSE(mutex->count_off);
    EXPECT_EQ(mutex->list_off, off("mutex", "wait_list"));
    EXPECT_EQ(mutex->task_off, off("mutex_waiter", "task"));
}

TEST_F(Linux419Layout, RwsemWriterHeldWithWaitersInListOrder) {
    ASSERT_NE(find_model(resolved_, LockKind::kRwSemaphore), nullptr) << notes();
    const std::uint64_t sem = kLockPage + 0x100;
    std::uint64_t holder = k_.add_task(100, "writer0");
    std::uint64_t w1 = k_.add_task(101, "writer1");
    std::uint64_t r2 = k_.add_task(102, "reader2");
    std::uint64_t r3 = k_.add_task(103, "reader3");
    std::uint64_t rec1 = rwsem_waiter(w1, true), rec2 = rwsem_waiter(r2, false),
                  rec3 = rwsem_waiter(r3, false);
    set_rwsem(sem, kActiveWriteBias + kWaitingBias, holder);
    k_.init_list_head(head(sem));
    for (std::uint64_t rec : {rec1, rec2, rec3}) k_.list_add_tail(link(rec), head(sem));

    LockState s = k_.decode(rwsem(), sem);
    EXPECT_EQ(s.model, "rwsem/count-bias-v4.x");
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
    ASSERT_EQ(s.holders.size(), 1u) << describe(s);
    EXPECT_EQ(s.holders[0].task.task, holder);
    EXPECT_EQ(s.holders[0].mode, Mode::kWrite);
    EXPECT_FALSE(s.reader_count);
    EXPECT_TRUE(has_text(s.state_notes, "waiters queued")) << describe(s);
    expect_waiters(s, {{w1, Mode::kWrite, rec1}, {r2, Mode::kRead, rec2}, {r3, Mode::kRead, rec3}});
}

TEST_F(Linux419Layout, RwsemReaderOwnedWithWriterQueued) {
    ASSERT_NE(find_model(resolved_, LockKind::kRwSemaphore), nullptr) << notes();
    const std::uint64_t sem = kLockPage + 0x200;
    std::uint64_t w = k_.add_task(200, "writer");
    std::uint64_t rec = rwsem_waiter(w, true);
    // Three readers hold it (owner = RWSEM_READER_OWNED); a writer waits.
    set_rwsem(sem, kWaitingBias + 3 * kActiveBias, 1);
    k_.init_list_head(head(sem));
    k_.list_add_tail(link(rec), head(sem));

    LockState s = k_.decode(rwsem(), sem);
    EXPECT_TRUE(s.holders.empty()) << describe(s);
    EXPECT_EQ(s.reader_count, 3u) << describe(s);
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
    expect_waiters(s, {{w, Mode::kWrite, rec}});

    // Readers only, nobody queued: count = readers, no waiting bias.
    set_rwsem(sem, 2 * kActiveBias, 1);
    k_.init_list_head(head(sem));
    s = k_.decode(rwsem(), sem);
    EXPECT_EQ(s.reader_count, 2u) << describe(s);
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
}

TEST_F(Linux419Layout, RwsemDamagedListIsAnAnomaly) {
    ASSERT_NE(find_model(resolved_, LockKind::kRwSemaphore), nullptr) << notes();
    const std::uint64_t sem = kLockPage + 0x300;
    std::uint64_t holder = k_.add_task(300, "writer");
    std::vector<std::uint64_t> tasks, recs;
    for (int i = 0; i < 3; ++i) {
        tasks.push_back(k_.add_task(301 + i, "r" + std::to_string(i)));
        recs.push_back(rwsem_waiter(tasks.back(), false));
    }
    auto build = [&] {
        set_rwsem(sem, kActiveWriteBias + kWaitingBias, holder);
        k_.init_list_head(head(sem));
        for (std::size_t i = 0; i < recs.size(); ++i) {
            k_.mem.put_u64(recs[i] + off("rwsem_waiter", "task"), tasks[i]);
            k_.list_add_tail(link(recs[i]), head(sem));
        }
    };

    // The list loops without returning to its head.
    build();
    k_.set_next(link(recs[2]), link(recs[0]));
    LockState s = k_.decode(rwsem(), sem);
    EXPECT_TRUE(has_text(s.anomalies, "loops")) << describe(s);
    EXPECT_EQ(s.waiters.size(), 3u) << describe(s);
    EXPECT_EQ(s.holders.size(), 1u);

    // A node in memory the dump does not have.
    build();
    k_.set_next(link(recs[0]), kUnmapped);
    s = k_.decode(rwsem(), sem);
    EXPECT_TRUE(has_text(s.anomalies, "wait list")) << describe(s);
    ASSERT_EQ(s.waiters.size(), 1u) << describe(s);
    EXPECT_EQ(s.waiters[0].task.task, tasks[0]);

    // A waiter whose task is not a task of the dump.
    build();
    k_.mem.put_u64(recs[0] + off("rwsem_waiter", "task"), kNotATask);
    s = k_.decode(rwsem(), sem);
    EXPECT_TRUE(has_text(s.anomalies, "not a task")) << describe(s);
    ASSERT_EQ(s.waiters.size(), 2u) << describe(s);
    EXPECT_EQ(s.waiters[0].task.task, tasks[1]);
    EXPECT_EQ(s.waiters[1].task.task, tasks[2]);

    // A waiter that is not asleep.
    build();
    std::uint64_t running = k_.add_task(310, "running", 'R');
    k_.mem.put_u64(recs[1] + off("rwsem_waiter", "task"), running);
    s = k_.decode(rwsem(), sem);
    EXPECT_TRUE(has_text(s.anomalies, "not blocked")) << describe(s);
    ASSERT_EQ(s.waiters.size(), 3u);
    EXPECT_FALSE(s.waiters[1].task_blocked);
}

TEST_F(Linux419Layout, MutexTaggedOwnerWithWaiters) {
    const ResolvedModel* m = find_model(resolved_, LockKind::kMutex);
    ASSERT_NE(m, nullptr) << notes();
    const std::uint64_t lock = kLockPage + 0x400;
    std::uint64_t owner = k_.add_task(400, "owner");
    std::uint64_t a = k_.add_task(401, "a"), b = k_.add_task(402, "b");
    std::uint64_t rec_a = k_.stack_record(size("mutex_waiter"));
    std::uint64_t rec_b = k_.stack_record(size("mutex_waiter"));
    k_.mem.put_u64(rec_a + off("mutex_waiter", "task"), a);
    k_.mem.put_u64(rec_b + off("mutex_waiter", "task"), b);
    const std::uint64_t head = lock + off("mutex", "wait_list");
    k_.init_list_head(head);
    k_.list_add_tail(rec_a + off("mutex_waiter", "list"), head);
    k_.list_add_tail(rec_b + off("mutex_waiter", "list"), head);
    // MUTEX_FLAG_WAITERS | MUTEX_FLAG_HANDOFF
    k_.mem.put_u64(lock + off("mutex", "owner"), owner | 0x3);

    LockState s = k_.decode(*m, lock);
    EXPECT_EQ(s.model, "mutex/owner-tagged-v4.10");
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
    EXPECT_EQ(s.owner_raw, owner | 0x3);
    EXPECT_TRUE(has_text(s.state_notes, "WAITERS|HANDOFF")) << describe(s);
    ASSERT_EQ(s.holders.size(), 1u) << describe(s);
    EXPECT_EQ(s.holders[0].task.task, owner);
    EXPECT_EQ(s.holders[0].mode, Mode::kExclusive);
    expect_waiters(s, {{a, Mode::kExclusive, rec_a}, {b, Mode::kExclusive, rec_b}});

    // Waiters but the owner word names nobody (only the WAITERS flag): an anomaly.
    k_.mem.put_u64(lock + off("mutex", "owner"), 0x1);
    s = k_.decode(*m, lock);
    EXPECT_TRUE(s.holders.empty());
    EXPECT_TRUE(has_text(s.anomalies, "waiters but no owner")) << describe(s);
    EXPECT_EQ(s.waiters.size(), 2u);

    // An owner word naming something that is not a task.
    k_.mem.put_u64(lock + off("mutex", "owner"), kNotATask | 0x1);
    s = k_.decode(*m, lock);
    EXPECT_TRUE(s.holders.empty());
    EXPECT_TRUE(has_text(s.anomalies, "not a task")) << describe(s);
}

// ---------------------------------------------------------------------------------------------
// PREEMPT_RT 6.x: mutex = rt_mutex_base, rw_semaphore = rwbase_rt; waiters in an rbtree.

// The waiters rbtree of an RT lock; its paths differ between the RT generations.
class RtTreeLayout : public LayoutTest {
  protected:
    std::string entry_ = "tree.entry";    // rt_mutex_waiter's rb_node
    std::string prio_ = "tree.prio";      // rt_mutex_waiter's priority
    std::string base_ = "rt_mutex_base";  // the struct holding `waiters`

    std::uint64_t rt_waiter(std::uint64_t task, int prio) {
        std::uint64_t rec = k_.stack_record(size("rt_mutex_waiter"));
        k_.mem.put_u64(rec + off("rt_mutex_waiter", "task"), task);
        k_.mem.put_u32(rec + off("rt_mutex_waiter", prio_), static_cast<std::uint32_t>(prio));
        return rec;
    }
    std::uint64_t node(std::uint64_t rec) { return rec + off("rt_mutex_waiter", entry_); }
    void set_node(std::uint64_t n, std::uint64_t parent, std::uint64_t left, std::uint64_t right) {
        k_.mem.put_u64(n + off("rb_node", "__rb_parent_color"), parent | 1 /* RB_BLACK */);
        k_.mem.put_u64(n + off("rb_node", "rb_left"), left);
        k_.mem.put_u64(n + off("rb_node", "rb_right"), right);
    }
    // A balanced tree of the nodes (given in order), as the waiters tree would hold them once
    // rebalanced; returns its root.
    std::uint64_t build_tree(const std::vector<std::uint64_t>& nodes,
                             std::size_t lo,
                             std::size_t hi,
                             std::uint64_t parent) {
        if (lo >= hi) return 0;
        std::size_t mid = lo + (hi - lo) / 2;
        std::uint64_t n = nodes[mid];
        std::uint64_t left = build_tree(nodes, lo, mid, n);
        std::uint64_t right = build_tree(nodes, mid + 1, hi, n);
        set_node(n, parent, left, right);
        return n;
    }
    // Puts the waiter records into the lock base at `base` (its waiters rb_root_cached).
    void set_waiters(std::uint64_t base, const std::vector<std::uint64_t>& recs) {
        std::vector<std::uint64_t> nodes;
        for (std::uint64_t r : recs) nodes.push_back(node(r));
        std::uint64_t root = build_tree(nodes, 0, nodes.size(), 0);
        k_.mem.put_u64(base + off(base_, "waiters.rb_root.rb_node"), root);
        k_.mem.put_u64(base + off(base_, "waiters.rb_leftmost"), nodes.empty() ? 0 : nodes.front());
    }
};

class PreemptRtLayout : public RtTreeLayout {
  protected:
    void SetUp() override { ASSERT_NO_FATAL_FAILURE(open(LH_LAYOUT_PREEMPT_RT_6_X)); }
};

TEST_F(PreemptRtLayout, SelectsRtMutexAndRwbaseModels) {
    EXPECT_EQ(selected(LockKind::kMutex), "rt/mutex-rtmutex") << notes();
    EXPECT_EQ(selected(LockKind::kRwSemaphore), "rt/rwsem-rwbase") << notes();
    EXPECT_EQ(selected(LockKind::kSemaphore), "semaphore/count-waitlist") << notes();
    expect_not_detected("mutex/owner-tagged-v4.10", "no mutex.owner");
    expect_not_detected("mutex/count-owner-pre4.10", "no mutex.count");
    expect_not_detected("rwsem/owner-flags-v5.3", "no rw_semaphore.owner");
    expect_not_detected("rwsem/count-bias-v4.x", "no rw_semaphore.owner");
    expect_not_detected("rwsem/slist-bias-rhel7", "no rw_semaphore.wait_list");

    const ResolvedModel* mutex = find_model(resolved_, LockKind::kMutex);
    ASSERT_NE(mutex, nullptr);
    EXPECT_EQ(mutex->owner_off, off("mutex", "rtmutex.owner"));
    EXPECT_EQ(mutex->list_off, off("mutex", "rtmutex.waiters.rb_root.rb_node"));
    EXPECT_EQ(mutex->link_off, off("rt_mutex_waiter", "tree.entry"));
    EXPECT_EQ(mutex->task_off, off("rt_mutex_waiter", "task"));
    EXPECT_EQ(mutex->rb_left_off, off("rb_node", "rb_left"));
    EXPECT_EQ(mutex->rb_right_off, off("rb_node", "rb_right"));
    const ResolvedModel* rwsem = find_model(resolved_, LockKind::kRwSemaphore);
    ASSERT_NE(rwsem, nullptr);
    EXPECT_EQ(rwsem->count_off, off("rw_semaphore", "rwbase.readers"));
    EXPECT_EQ(rwsem->owner_off, off("rw_semaphore", "rwbase.rtmutex.owner"));
    EXPECT_EQ(rwsem->list_off, off("rw_semaphore", "rwbase.rtmutex.waiters.rb_root.rb_node"));
    EXPECT_EQ(rwsem->link_off, off("rt_mutex_waiter", "tree.entry"));
}

TEST_F(PreemptRtLayout, MutexWaitersInTreeOrder) {
    const ResolvedModel* m = find_model(resolved_, LockKind::kMutex);
    ASSERT_NE(m, nullptr) << notes();
    const std::uint64_t lock = kLockPage + 0x100;
    std::uint64_t owner = k_.add_task(100, "owner");
    std::vector<Want> want;
    std::vector<std::uint64_t> recs;
    for (int i = 0; i < 7; ++i) {  // the waiters tree orders by priority: leftmost first
        std::uint64_t t = k_.add_task(101 + i, "rt" + std::to_string(i));
        recs.push_back(rt_waiter(t, 10 + 10 * i));
        want.push_back({t, Mode::kExclusive, recs.back()});
    }
    set_waiters(lock + off("mutex", "rtmutex"), recs);
    k_.mem.put_u64(lock + off("mutex", "rtmutex.owner"), owner | 0x1);  // RT_MUTEX_HAS_WAITERS

    LockState s = k_.decode(*m, lock);
    EXPECT_EQ(s.model, "rt/mutex-rtmutex");
    EXPECT_EQ(s.kind, LockKind::kMutex);
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
    EXPECT_TRUE(has_text(s.state_notes, "HAS_WAITERS")) << describe(s);
    ASSERT_EQ(s.holders.size(), 1u) << describe(s);
    EXPECT_EQ(s.holders[0].task.task, owner);
    EXPECT_EQ(s.holders[0].mode, Mode::kExclusive);
    expect_waiters(s, want);

    // No waiters: an empty tree.
    set_waiters(lock + off("mutex", "rtmutex"), {});
    k_.mem.put_u64(lock + off("mutex", "rtmutex.owner"), owner);
    s = k_.decode(*m, lock);
    EXPECT_TRUE(s.waiters.empty());
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
    EXPECT_EQ(s.holders.size(), 1u);
}

TEST_F(PreemptRtLayout, RwsemWriterHoldsReadersQueued) {
    const ResolvedModel* m = find_model(resolved_, LockKind::kRwSemaphore);
    ASSERT_NE(m, nullptr) << notes();
    const std::uint64_t sem = kLockPage + 0x200;
    std::uint64_t writer = k_.add_task(200, "writer");
    std::uint64_t r1 = k_.add_task(201, "reader1"), r2 = k_.add_task(202, "reader2");
    std::uint64_t rec1 = rt_waiter(r1, 120), rec2 = rt_waiter(r2, 120);
    set_waiters(sem + off("rw_semaphore", "rwbase.rtmutex"), {rec1, rec2});
    k_.mem.put_u64(sem + off("rw_semaphore", "rwbase.rtmutex.owner"), writer | 0x1);
    k_.mem.put_u32(sem + off("rw_semaphore", "rwbase.readers"), kWriterBias);

    LockState s = k_.decode(*m, sem);
    EXPECT_EQ(s.model, "rt/rwsem-rwbase");
    EXPECT_EQ(s.kind, LockKind::kRwSemaphore);
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
    EXPECT_TRUE(has_text(s.state_notes, "write-held (WRITER_BIAS)")) << describe(s);
    EXPECT_FALSE(s.reader_count);
    ASSERT_EQ(s.holders.size(), 1u) << describe(s);
    EXPECT_EQ(s.holders[0].task.task, writer);
    EXPECT_EQ(s.holders[0].mode, Mode::kWrite) << "the rtmutex owner of an rwsem is its writer";
    // rt_mutex_waiter does not record read or write: the model's default mode.
    expect_waiters(s, {{r1, Mode::kExclusive, rec1}, {r2, Mode::kExclusive, rec2}});
}

TEST_F(PreemptRtLayout, RwsemReadersHold) {
    const ResolvedModel* m = find_model(resolved_, LockKind::kRwSemaphore);
    ASSERT_NE(m, nullptr) << notes();
    const std::uint64_t sem = kLockPage + 0x300;
    set_waiters(sem + off("rw_semaphore", "rwbase.rtmutex"), {});
    k_.mem.put_u32(sem + off("rw_semaphore", "rwbase.readers"), kReaderBias + 3);

    LockState s = k_.decode(*m, sem);
    EXPECT_TRUE(s.holders.empty()) << describe(s);
    EXPECT_EQ(s.reader_count, 3u) << describe(s);
    EXPECT_TRUE(s.waiters.empty());
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
    EXPECT_FALSE(has_text(s.state_notes, "writer")) << describe(s);
}

// rwbase_write_lock(): the writer takes the rtmutex, clears READER_BIAS and sleeps until the
// readers leave; only then does it set WRITER_BIAS. It owns the rtmutex without holding the lock.
TEST_F(PreemptRtLayout, RwsemWriterDrainingReadersIsTheFirstWaiter) {
    const ResolvedModel* m = find_model(resolved_, LockKind::kRwSemaphore);
    ASSERT_NE(m, nullptr) << notes();
    const std::uint64_t sem = kLockPage + 0x380;
    std::uint64_t writer = k_.add_task(210, "writer");
    std::uint64_t r1 = k_.add_task(211, "reader1");
    std::uint64_t rec1 = rt_waiter(r1, 120);
    set_waiters(sem + off("rw_semaphore", "rwbase.rtmutex"), {rec1});
    k_.mem.put_u64(sem + off("rw_semaphore", "rwbase.rtmutex.owner"), writer | 0x1);
    k_.mem.put_u32(sem + off("rw_semaphore", "rwbase.readers"), 2);  // two readers inside

    LockState s = k_.decode(*m, sem);
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
    EXPECT_TRUE(s.holders.empty()) << "the rtmutex owner is not a holder yet: " << describe(s);
    EXPECT_EQ(s.reader_count, 2u) << describe(s);
    EXPECT_TRUE(has_text(s.state_notes, "waits for 2 reader(s)")) << describe(s);
    ASSERT_EQ(s.waiters.size(), 2u) << describe(s);
    EXPECT_EQ(s.waiters[0].task.task, writer);
    EXPECT_EQ(s.waiters[0].mode, Mode::kWrite);
    EXPECT_EQ(s.waiters[0].queue_pos, 0);
    EXPECT_EQ(s.waiters[1].task.task, r1);
    EXPECT_EQ(s.waiters[1].queue_pos, 1);
}

TEST_F(PreemptRtLayout, DamagedTreeIsAnAnomaly) {
    const ResolvedModel* m = find_model(resolved_, LockKind::kMutex);
    ASSERT_NE(m, nullptr) << notes();
    const std::uint64_t lock = kLockPage + 0x400;
    const std::uint64_t base = lock + off("mutex", "rtmutex");
    std::uint64_t owner = k_.add_task(400, "owner");
    std::vector<std::uint64_t> tasks, recs;
    for (int i = 0; i < 3; ++i) {
        tasks.push_back(k_.add_task(401 + i, "w" + std::to_string(i)));
        recs.push_back(rt_waiter(tasks.back(), 100 + i));
    }
    auto build = [&] {
        for (std::size_t i = 0; i < recs.size(); ++i)
            k_.mem.put_u64(recs[i] + off("rt_mutex_waiter", "task"), tasks[i]);
        set_waiters(base, recs);  // root recs[1], left recs[0], right recs[2]
        k_.mem.put_u64(lock + off("mutex", "rtmutex.owner"), owner | 0x1);
    };
    build();
    ASSERT_TRUE(k_.decode(*m, lock).anomalies.empty());

    // A child pointer back to the root: the tree loops.
    build();
    k_.mem.put_u64(node(recs[0]) + off("rb_node", "rb_right"), node(recs[1]));
    LockState s = k_.decode(*m, lock);
    EXPECT_TRUE(has_text(s.anomalies, "loops")) << describe(s);
    EXPECT_LE(s.waiters.size(), 3u);

    // A child in memory the dump does not have.
    build();
    k_.mem.put_u64(node(recs[2]) + off("rb_node", "rb_left"), kUnmapped);
    s = k_.decode(*m, lock);
    EXPECT_TRUE(has_text(s.anomalies, "wait list")) << describe(s);
    ASSERT_GE(s.waiters.size(), 2u) << describe(s);
    EXPECT_EQ(s.waiters[0].task.task, tasks[0]);
    EXPECT_EQ(s.waiters[1].task.task, tasks[1]);

    // A waiter whose task is not a task.
    build();
    k_.mem.put_u64(recs[1] + off("rt_mutex_waiter", "task"), kNotATask);
    s = k_.decode(*m, lock);
    EXPECT_TRUE(has_text(s.anomalies, "not a task")) << describe(s);
    ASSERT_EQ(s.waiters.size(), 2u) << describe(s);
    EXPECT_EQ(s.waiters[0].task.task, tasks[0]);
    EXPECT_EQ(s.waiters[1].task.task, tasks[2]);

    // The root pointer itself unreadable.
    build();
    k_.mem.put_u64(base + off("rt_mutex_base", "waiters.rb_root.rb_node"), kUnmapped);
    s = k_.decode(*m, lock);
    EXPECT_TRUE(has_text(s.anomalies, "wait list")) << describe(s);
    EXPECT_TRUE(s.waiters.empty());
}

// ---------------------------------------------------------------------------------------------
// Out-of-tree PREEMPT_RT 5.10 (Debian 11's rt-amd64): mutex = { struct rt_mutex lock },
// rw_semaphore = { readers; struct rt_mutex rtmutex }; waiters linked by `tree_entry`.

class PreemptRt510Layout : public RtTreeLayout {
  protected:
    void SetUp() override {
        entry_ = "tree_entry";
        prio_ = "prio";
        base_ = "rt_mutex";
        ASSERT_NO_FATAL_FAILURE(open(LH_LAYOUT_PREEMPT_RT_5_10));
    }
};

TEST_F(PreemptRt510Layout, SelectsTheOutOfTreeRtModels) {
    EXPECT_EQ(selected(LockKind::kMutex), "rt/mutex-rtmutex-rt-v4.14") << notes();
    EXPECT_EQ(selected(LockKind::kRwSemaphore), "rt/rwsem-rt-v4.14") << notes();
    EXPECT_EQ(selected(LockKind::kSemaphore), "semaphore/count-waitlist") << notes();
    expect_not_detected("rt/mutex-rtmutex-v5.15", "no mutex.rtmutex");
    expect_not_detected("rt/rwsem-rwbase-v5.15", "no rw_semaphore.rwbase");
    expect_not_detected("mutex/owner-tagged-v4.10", "no mutex.owner");

    const ResolvedModel* mutex = find_model(resolved_, LockKind::kMutex);
    ASSERT_NE(mutex, nullptr);
    EXPECT_EQ(mutex->owner_off, off("mutex", "lock.owner"));
    EXPECT_EQ(mutex->list_off, off("mutex", "lock.waiters.rb_root.rb_node"));
    EXPECT_EQ(mutex->link_off, off("rt_mutex_waiter", "tree_entry"));
    const ResolvedModel* rwsem = find_model(resolved_, LockKind::kRwSemaphore);
    ASSERT_NE(rwsem, nullptr);
    EXPECT_EQ(rwsem->count_off, off("rw_semaphore", "readers"));
    EXPECT_EQ(rwsem->owner_off, off("rw_semaphore", "rtmutex.owner"));
    EXPECT_EQ(rwsem->list_off, off("rw_semaphore", "rtmutex.waiters.rb_root.rb_node"));
    EXPECT_EQ(rwsem->lock_target_off, off("rw_semaphore", "rtmutex"));
}

TEST_F(PreemptRt510Layout, MutexOwnerAndWaitersInTreeOrder) {
    const ResolvedModel* m = find_model(resolved_, LockKind::kMutex);
    ASSERT_NE(m, nullptr) << notes();
    const std::uint64_t lock = kLockPage + 0x100;
    std::uint64_t owner = k_.add_task(100, "owner");
    std::vector<Want> want;
    std::vector<std::uint64_t> recs;
    for (int i = 0; i < 5; ++i) {
        std::uint64_t t = k_.add_task(101 + i, "rt" + std::to_string(i));
        recs.push_back(rt_waiter(t, 10 + 10 * i));
        want.push_back({t, Mode::kExclusive, recs.back()});
    }
    set_waiters(lock + off("mutex", "lock"), recs);
    k_.mem.put_u64(lock + off("mutex", "lock.owner"), owner | 0x1);  // RT_MUTEX_HAS_WAITERS

    LockState s = k_.decode(*m, lock);
    EXPECT_EQ(s.model, "rt/mutex-rtmutex-rt-v4.14");
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
    ASSERT_EQ(s.holders.size(), 1u) << describe(s);
    EXPECT_EQ(s.holders[0].task.task, owner);
    expect_waiters(s, want);
}

// __down_write_common() of 5.10-rt: the writer takes the rtmutex, subtracts READER_BIAS and
// sleeps until the readers have left, with no waiter record: it is the first waiter.
TEST_F(PreemptRt510Layout, RwsemWriterDrainingReadersIsTheFirstWaiter) {
    const ResolvedModel* m = find_model(resolved_, LockKind::kRwSemaphore);
    ASSERT_NE(m, nullptr) << notes();
    const std::uint64_t sem = kLockPage + 0x300;
    std::uint64_t writer = k_.add_task(300, "writer");
    set_waiters(sem + off("rw_semaphore", "rtmutex"), {});
    k_.mem.put_u64(sem + off("rw_semaphore", "rtmutex.owner"), writer);
    k_.mem.put_u32(sem + off("rw_semaphore", "readers"), 1);  // one reader inside

    LockState s = k_.decode(*m, sem);
    EXPECT_EQ(s.model, "rt/rwsem-rt-v4.14");
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
    EXPECT_TRUE(s.holders.empty()) << describe(s);
    EXPECT_EQ(s.reader_count, 1u) << describe(s);
    ASSERT_EQ(s.waiters.size(), 1u) << describe(s);
    EXPECT_EQ(s.waiters[0].task.task, writer);
    EXPECT_EQ(s.waiters[0].mode, Mode::kWrite);

    // Once the readers are gone the writer sets WRITER_BIAS: it holds the lock.
    k_.mem.put_u32(sem + off("rw_semaphore", "readers"), kWriterBias);
    s = k_.decode(*m, sem);
    ASSERT_EQ(s.holders.size(), 1u) << describe(s);
    EXPECT_EQ(s.holders[0].task.task, writer);
    EXPECT_EQ(s.holders[0].mode, Mode::kWrite);
    EXPECT_TRUE(s.waiters.empty()) << describe(s);
}

// ---------------------------------------------------------------------------------------------
// Linux 7.2: no wait_list; `first_waiter` points at the first record, the records' links form a
// ring without a head node.

class Linux72Layout : public LayoutTest {
  protected:
    void SetUp() override { ASSERT_NO_FATAL_FAILURE(open(LH_LAYOUT_LINUX_7_2)); }

    std::uint64_t waiter(const char* st, std::uint64_t task) {
        std::uint64_t rec = k_.stack_record(size(st));
        k_.mem.put_u64(rec + off(st, "task"), task);
        return rec;
    }
    // The kernel's enqueue: the first waiter's list is initialised and becomes first_waiter;
    // later ones are list_add_tail'ed before it.
    void enqueue(const char* lock_st, std::uint64_t lock, const char* st, std::uint64_t rec) {
        std::uint64_t head = lock + off(lock_st, "first_waiter");
        std::uint64_t first = k_.mem.read_u64(head).value_or(0);
        std::uint64_t node = rec + off(st, "list");
        if (!first) {
            k_.init_list_head(node);
            k_.mem.put_u64(head, rec);
        } else {
            k_.list_add_tail(node, first + off(st, "list"));
        }
    }
};

TEST_F(Linux72Layout, SelectsFirstWaiterModelsForEveryKind) {
    EXPECT_EQ(selected(LockKind::kMutex), "mutex/first-waiter-v7") << notes();
    EXPECT_EQ(selected(LockKind::kRwSemaphore), "rwsem/first-waiter-v7") << notes();
    EXPECT_EQ(selected(LockKind::kSemaphore), "semaphore/first-waiter-v7") << notes();
    expect_not_detected("mutex/owner-tagged-v4.10", "no mutex.wait_list");
    expect_not_detected("rwsem/owner-flags-v5.3", "no rw_semaphore.wait_list");
    expect_not_detected("semaphore/count-waitlist", "no semaphore.wait_list");
    // `info` shows the same: one model per kind, the others with their failed clause.
    auto choices = model_choices(*set_, *types_);
    for (const auto& c : choices) {
        if (c.kind == LockKind::kMutex) {
            EXPECT_EQ(c.model, "mutex/first-waiter-v7");
            EXPECT_TRUE(has_text(c.not_used, "mutex/owner-tagged-v4.10: no mutex.wait_list"));
            EXPECT_TRUE(has_text(c.not_used, "rt/mutex-rtmutex: no mutex.rtmutex"));
        }
    }
}

TEST_F(Linux72Layout, MutexRingFromFirstWaiterInQueueOrder) {
    ASSERT_NE(find_model(resolved_, LockKind::kMutex), nullptr) << notes();
    const std::uint64_t m = kLockPage + 0x100;
    std::uint64_t holder = k_.add_task(100, "holder");
    std::uint64_t t1 = k_.add_task(101, "w1"), t2 = k_.add_task(102, "w2"),
                  t3 = k_.add_task(103, "w3");
    std::uint64_t r1 = waiter("mutex_waiter", t1), r2 = waiter("mutex_waiter", t2),
                  r3 = waiter("mutex_waiter", t3);
    k_.mem.put_u64(m + off("mutex", "owner"), holder | 1);  // WAITERS
    for (std::uint64_t r : {r1, r2, r3}) enqueue("mutex", m, "mutex_waiter", r);
    LockState s = k_.decode(*find_model(resolved_, LockKind::kMutex), m);
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
    ASSERT_EQ(s.holders.size(), 1u) << describe(s);
    EXPECT_EQ(s.holders[0].task.task, holder);
    expect_waiters(
        s, {{t1, Mode::kExclusive, r1}, {t2, Mode::kExclusive, r2}, {t3, Mode::kExclusive, r3}});

    // No waiters: first_waiter is NULL.
    const std::uint64_t free_m = kLockPage + 0x200;
    LockState f = k_.decode(*find_model(resolved_, LockKind::kMutex), free_m);
    EXPECT_TRUE(f.waiters.empty());
    EXPECT_TRUE(f.anomalies.empty()) << describe(f);
}

TEST_F(Linux72Layout, RwsemAndSemaphoreRingsAndACutRing) {
    ASSERT_NE(find_model(resolved_, LockKind::kRwSemaphore), nullptr) << notes();
    const std::uint64_t sem = kLockPage + 0x300;
    std::uint64_t t1 = k_.add_task(201, "wr"), t2 = k_.add_task(202, "rd");
    std::uint64_t r1 = waiter("rwsem_waiter", t1), r2 = waiter("rwsem_waiter", t2);
    k_.mem.put_u32(r1 + off("rwsem_waiter", "type"),
                   static_cast<std::uint32_t>(enumerator("RWSEM_WAITING_FOR_WRITE")));
    k_.mem.put_u32(r2 + off("rwsem_waiter", "type"),
                   static_cast<std::uint32_t>(enumerator("RWSEM_WAITING_FOR_READ")));
    std::uint64_t reader = k_.add_task(200, "rd0");
    k_.mem.put_u64(sem + off("rw_semaphore", "count"), 0x102);  // 1 reader, WAITERS
    k_.mem.put_u64(sem + off("rw_semaphore", "owner"), reader | 1);
    for (std::uint64_t r : {r1, r2}) enqueue("rw_semaphore", sem, "rwsem_waiter", r);
    LockState s = k_.decode(*find_model(resolved_, LockKind::kRwSemaphore), sem);
    EXPECT_TRUE(s.anomalies.empty()) << describe(s);
    EXPECT_EQ(s.reader_count, 1u);
    expect_waiters(s, {{t1, Mode::kWrite, r1}, {t2, Mode::kRead, r2}});

    const std::uint64_t sm = kLockPage + 0x400;
    std::uint64_t t3 = k_.add_task(301, "sw");
    std::uint64_t r3 = waiter("semaphore_waiter", t3);
    enqueue("semaphore", sm, "semaphore_waiter", r3);
    LockState ss = k_.decode(*find_model(resolved_, LockKind::kSemaphore), sm);
    expect_waiters(ss, {{t3, Mode::kExclusive, r3}});

    // A ring cut by a NULL next is an anomaly, not a hang or a guess.
    k_.set_next(r2 + off("rwsem_waiter", "list"), 0);
    LockState cut = k_.decode(*find_model(resolved_, LockKind::kRwSemaphore), sem);
    EXPECT_TRUE(has_text(cut.anomalies, "cut")) << describe(cut);
    // A ring that loops away from its first entry stops.
    k_.set_next(r2 + off("rwsem_waiter", "list"), r2 + off("rwsem_waiter", "list"));
    LockState loop = k_.decode(*find_model(resolved_, LockKind::kRwSemaphore), sem);
    EXPECT_TRUE(has_text(loop.anomalies, "loops")) << describe(loop);
}

}  // namespace
}  // namespace lockhound::locks
