// A LockModel bound to the dump's types: member offsets, enumerator values. Selection is by the
// shape of the types (each model's [[detect]] clauses), never by kernel version.
//
//   auto resolved = resolve_models(set, kernel.types());
//   const ResolvedModel* m = find_model(resolved, LockKind::kMutex);
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "debuginfo/type_info.h"
#include "locks/lock_model.h"

namespace lockhound::locks {

struct ResolvedModel {
    const LockModel* model = nullptr;
    std::uint64_t lock_size = 0;
    std::optional<std::uint64_t> owner_off, count_off, block_off;
    std::uint64_t list_off = 0;  // wait-list head (or rb_root node pointer) inside the lock
    std::uint64_t link_off = 0;  // link member inside the waiter entry
    std::uint64_t task_off = 0;  // task pointer inside the waiter entry
    std::optional<std::uint64_t> mode_off;
    std::uint64_t mode_size = 4;
    std::map<std::int64_t, Mode> mode_values;  // enumerator value -> mode
    // rbtree layout: struct rb_node offsets
    std::uint64_t rb_left_off = 16, rb_right_off = 8, rb_parent_off = 0;
    // Offsets inside the lock of every object on the path to the wait-list head (the lock
    // itself first: 0; then e.g. rwbase, rwbase.rtmutex, ...): a slow path's argument may be the
    // address of any of them.
    std::vector<std::uint64_t> anchor_offs{0};
    // The waiter record's pointer back to the lock, and where in the lock it points.
    std::optional<std::uint64_t> entry_lock_off;
    std::uint64_t lock_target_off = 0;
};

// Whether every detect clause of model holds for these types.
bool model_detects(const LockModel& model,
                   debuginfo::TypeInfo& types,
                   std::string* why_not = nullptr);
// Binds the model to the types; nullopt (with why) when a needed member is missing.
std::optional<ResolvedModel> resolve_model(const LockModel& model,
                                           debuginfo::TypeInfo& types,
                                           std::string* why_not);
// For each lock kind, the highest-priority model that detects and resolves.
std::vector<ResolvedModel> resolve_models(const LockModelSet& set,
                                          debuginfo::TypeInfo& types,
                                          std::vector<std::string>* notes = nullptr);
// For each lock kind some model describes: the model chosen on these types and, for every other
// model of that kind, why not (the detect clause that failed, a member that does not resolve, or
// a higher-priority model that won).
std::vector<ModelChoice> model_choices(const LockModelSet& set, debuginfo::TypeInfo& types);
const ResolvedModel* find_model(const std::vector<ResolvedModel>& models, LockKind kind);

}  // namespace lockhound::locks
