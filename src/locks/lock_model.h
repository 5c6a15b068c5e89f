// LockModel: one lock layout and its semantics, loaded from a lockmodels/*.toml file.
// Offsets never live here: they come from DWARF/BTF by member name (ResolvedModel).
// The schema is documented in lockmodels/README.md.
//
//   auto models = load_lock_models(lockmodels_dir());   // every file, validated
//   auto resolved = select_models(models->models, types); // the ones whose `detect` holds
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "debuginfo/type_info.h"
#include "locks/lock_state.h"

namespace lockhound::locks {

struct DetectClause {
    std::string struct_name;
    std::string member;
    std::optional<debuginfo::TypeKind> kind;  // "pointer", "struct", "integer", ...
    std::optional<std::string> type;          // resolved type name, e.g. "list_head", "slist_head"
};

enum class OwnerSemantics { kNone, kTaggedTask, kPointer, kRwsemOwner, kHintPointer };
enum class CountSemantics {
    kNone,
    kRwsemV53,
    kRwsemBias,
    kMutexCount,
    kSemaphore,
    kRwbaseReaders,
    kPercpuReaders
};
// kRingFromFirst (7.x): the lock holds a pointer to the first waiter record (NULL: none); the
// records' links form a ring without a head node.
enum class WaitListLayout { kListHead, kSlist, kRbtree, kRingFromFirst };

struct LockModel {
    std::string id;
    std::string file;
    LockKind kind = LockKind::kOther;
    std::string struct_name;
    std::string introduced;
    int priority = 0;
    std::vector<DetectClause> detect;

    struct Owner {
        std::string member;
        OwnerSemantics semantics = OwnerSemantics::kNone;
        std::uint64_t flags_mask = 0;
        std::uint64_t reader_owned_flag = 0;
        std::map<std::uint64_t, std::string> flags;
        bool optional = false;
    } owner;

    struct Count {
        std::string member;
        CountSemantics semantics = CountSemantics::kNone;
        unsigned width = 8;
        std::uint64_t writer_locked = 0;
        std::map<std::uint64_t, std::string> flags;
        unsigned reader_shift = 0;
        std::uint64_t reader_mask = 0;
        std::uint64_t active_mask = 0;
        std::int64_t waiting_bias = 0;
        // rwbase-readers (PREEMPT_RT): READER_BIAS set = no writer; WRITER_BIAS set = write-held;
        // neither = a writer owns the rtmutex and waits for the readers left in the count.
        std::uint64_t reader_bias = 0;
        std::uint64_t writer_bias = 0;
        std::string block_member;  // percpu-readers: nonzero = new readers blocked
    } count;

    struct Waiters {
        std::string list;
        WaitListLayout layout = WaitListLayout::kListHead;
        std::string entry;  // waiter struct
        std::string link;   // member of entry linked into the list
        std::string task;   // member of entry pointing to the task
        std::string mode_member;
        std::map<std::string, Mode> modes;  // enumerator name -> mode
        std::uint64_t mode_flag = 0;        // mode_member & mode_flag: flag_set_mode, else clear
        Mode flag_set_mode = Mode::kRead, flag_clear_mode = Mode::kWrite;
        Mode default_mode = Mode::kExclusive;
        // Mode told by the waiter's frames, where the record has no mode member (PREEMPT_RT
        // rwbase: the read path or the write path); the first mode whose functions are on the
        // waiting task's stack wins.
        std::map<Mode, std::vector<std::string>> mode_frames;
        // Optional: the waiter record's pointer back to the lock (rt_mutex_waiter.lock) and the
        // member of the lock it points at ("" = the lock itself; "rtmutex" for an RT mutex).
        std::string lock_member;
        std::string lock_target;
    } waiters;

    std::map<Mode, std::vector<std::string>> acquire;  // functions taking the lock, by mode
    std::vector<std::string> slowpath;                 // functions a waiter sleeps in
    // Waiter records of this shape are common (wait_queue_entry): a task counts as a waiter only
    // when it sleeps in one of `slowpath`.
    bool require_slowpath = false;
};

// A rule inferring holders of locks embedded in a known container (lockmodels/holders/*.toml).
struct HolderRule {
    std::string id;
    std::string file;
    LockKind kind = LockKind::kOther;
    std::string container;             // struct that embeds the lock ("mm_struct")
    std::vector<std::string> members;  // lock member names to try, in order
    std::string task_link;             // task_struct member pointing to the container ("mm")
    Mode mode = Mode::kRead;
    std::vector<std::string> frames_any;
    Confidence confidence = Confidence::kLikely;
    std::string evidence;  // "{frame}" is replaced by the matching frame
    const std::vector<std::string>& frame_names() const { return frames_any; }
};

// Function names that say what a sleeping task is doing (lockmodels/frames/*.toml): the
// scheduler's own frames (skipped when telling where a task waits from), I/O and plain sleeps,
// and the context a stack shows (page fault, system call, kernel thread). Names of every kernel
// generation are listed together: a name a kernel lacks never matches.
struct FrameFacts {
    std::vector<std::string> scheduler;
    std::vector<std::string> io_wait;  // blocked_in "io_schedule"
    std::vector<std::string> sleep;    // blocked_in "schedule"
    struct Context {
        std::string name;  // "page fault"
        std::vector<std::string> any;
    };
    std::vector<Context> contexts;  // first match wins
};

struct LockModelSet {
    std::vector<LockModel> models;
    std::vector<HolderRule> holder_rules;
    FrameFacts frames;
};

// The default directory: $LOCKHOUND_LOCKMODELS, else next to the binary
// (../share/lockhound/lockmodels), else the source tree's lockmodels/.
std::string lockmodels_dir();
// Loads and validates every *.toml under dir (models and holder rules). Any invalid file fails
// the whole load with a message naming the file and the problem.
[[nodiscard]] Result<LockModelSet> load_lock_models(const std::string& dir);
// Parses one file's text (also used by tests).
[[nodiscard]] Result<LockModel> parse_lock_model(const std::string& text, const std::string& file);
[[nodiscard]] Result<HolderRule> parse_holder_rule(const std::string& text,
                                                   const std::string& file);
[[nodiscard]] Result<FrameFacts> parse_frame_facts(const std::string& text,
                                                   const std::string& file);

}  // namespace lockhound::locks
