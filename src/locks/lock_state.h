// What lock analysis finds, as plain data (no formatting, no Boost): every contended lock with
// its holders (and the evidence for each), its waiters in queue order, and which lock each task
// waits on. Produced by analyze_locks() (analysis.h); consumed by graph/ and report/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lockhound::locks {

enum class LockKind { kMutex, kRwSemaphore, kSemaphore, kRtMutex, kPercpuRwSemaphore, kOther };
enum class Mode { kExclusive, kRead, kWrite };
enum class Confidence { kCertain, kLikely, kPossible };

const char* to_string(LockKind k);    // "mutex", "rw_semaphore", "semaphore", "rt_mutex", ...
const char* to_string(Mode m);        // "exclusive", "read", "write"
const char* to_string(Confidence c);  // "certain", "likely", "possible"

struct TaskRef {
    std::uint64_t task = 0;  // struct task_struct *
    int pid = 0;
    int tgid = 0;
    std::string comm;  // untrusted bytes: escape when printing
    char state = '?';
};

struct Holder {
    TaskRef task;
    Mode mode = Mode::kExclusive;
    Confidence confidence = Confidence::kCertain;
    std::vector<std::string> evidence;  // human-readable, one fact per line
};

struct Waiter {
    TaskRef task;
    Mode mode = Mode::kExclusive;
    int queue_pos = 0;                // 0 = first in the kernel's wait queue
    std::uint64_t waiter_record = 0;  // address of its rwsem_waiter / mutex_waiter / ...
    bool task_blocked = true;         // false: listed as waiter but not sleeping (anomaly)
};

// The object that embeds a lock (or any address), when lockhound could name it (object_naming.h).
struct LockObject {
    std::string kind;  // "inode", "super_block", "mm", "vma", "file", "task", "slab", "symbol"
    std::uint64_t address = 0;         // the object's start
    std::string cache;                 // slab cache ("ext4_inode_cache"), "" when not a slab object
    std::uint64_t offset = 0;          // of the lock from the object's start
    std::string member;                // "i_rwsem"
    std::string path;                  // file, inode, VMA file (untrusted bytes)
    int pid = 0;                       // task, mm (the process), VMA's process
    std::string comm;                  // untrusted
    std::string fstype, device;        // inode, super_block
    std::uint64_t start = 0, end = 0;  // VMA range
    std::string unknown_reason;        // why it could not be named further (freed, wild dentry)
};

struct LockState {
    std::uint64_t address = 0;
    LockKind kind = LockKind::kOther;
    std::string model;  // lock model file that decoded it, e.g. "rwsem/owner-flags-v5.3"
    std::optional<std::string>
        name;                   // by meaning: "lb_mutex[1] [lockbomb]", "mmap_lock of lbmm[93]"
    std::string name_evidence;  // how the name was found
    std::optional<LockObject> object;  // the object embedding it (kind, path, pid, ...)
    std::uint64_t owner_raw = 0;       // raw owner word (0 when the model has none)
    std::optional<std::int64_t> count_raw;
    std::vector<std::string>
        state_notes;  // decoded state: "write-locked", "3 readers", "waiters bit"
    std::optional<std::uint64_t> reader_count;  // readers the count says hold it (rwsem)
    std::vector<Holder> holders;
    std::vector<Waiter> waiters;         // queue order
    std::vector<std::string> anomalies;  // e.g. "waiters but no owner", "list loops"
    // Held, but by no task: a percpu_rw_semaphore blocked with no writer task (a freeze).
    std::optional<std::string> held_by_state;
    // What the lock is part of, when known ("sb_writers level 2 (SB_FREEZE_PAGEFAULT) of ...").
    struct Instance {
        std::string kind;    // "frozen_filesystem" when the lock is a frozen sb_writers level
        std::string object;  // "ext4 on ram0, mounted on /mnt"
        std::string state;   // "SB_FREEZE_COMPLETE"
        std::string clears;  // "fsfreeze --unfreeze /mnt"
        std::uint64_t superblock = 0;
    };
    std::optional<Instance> instance;
};

// Where the analysis found that a task waits on a lock.
struct BlockedOn {
    TaskRef task;
    std::uint64_t lock = 0;
    std::vector<std::string>
        evidence;  // "waiter record at ffff... on the stack, linked in lock's wait_list"
};

// A task that blocks others and waits on no lock lockhound could decode.
struct Frame {
    std::uint64_t pc = 0;
    std::string symbol;  // "io_schedule+0x12/0x40" (may be empty)
};

struct TaskActivity {
    TaskRef task;
    std::string blocked_in;     // "io_schedule", "schedule", "on CPU", "user space", ...
    std::string summary;        // one line: what it is doing
    std::vector<Frame> frames;  // short backtrace, innermost first
};

// Which model decodes one kind of lock on this kernel, and why the others do not.
struct ModelChoice {
    LockKind kind = LockKind::kOther;
    std::string model;                  // the model in use; empty: none matches this kernel
    std::vector<std::string> not_used;  // "rt/mutex-rtmutex: no mutex.rtmutex" (the failed clause)
};

struct LockAnalysis {
    std::vector<LockState> locks;       // contended locks (waiters or inferred holders), by address
    std::vector<BlockedOn> blocked_on;  // task -> lock, for every task found waiting
    std::vector<TaskActivity> activities;  // what each holder / unexplained sleeper is doing
    std::vector<TaskRef> unexplained;      // D tasks waiting on nothing lockhound could decode
    std::vector<std::string> warnings;
    std::vector<ModelChoice> models;  // per lock kind; a kind without a model was not analysed
    // Kinds no model matches: waits on such locks could not be looked for.
    std::vector<LockKind> undecodable_kinds() const {
        std::vector<LockKind> out;
        for (const auto& m : models)
            if (m.model.empty()) out.push_back(m.kind);
        return out;
    }
};

}  // namespace lockhound::locks
