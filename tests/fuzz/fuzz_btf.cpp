// Fuzz target: BTF handed to libbpf (BtfTypes::from_bytes: header pre-check, btf__new) and every
// lookup lockhound makes on the types (name index, members by dotted path through anonymous
// structs and arrays, sizes, enumerators).
#include <cstddef>
#include <cstdint>
#include <span>

#include "debuginfo/btf_types.h"

using namespace lockhound;

namespace {

struct Lookup {
    const char* type;
    const char* path;
};
// The lookups of the task walker, the lock models and the unwinder, plus paths through arrays
// and nested members the fuzzer can make exist.
constexpr Lookup kLookups[] = {
    {"task_struct", "tasks"},
    {"task_struct", "thread.sp"},
    {"task_struct", "comm[3]"},
    {"task_struct", "__state"},
    {"task_struct", "pid"},
    {"mutex", "owner"},
    {"mutex", "owner.counter"},
    {"mutex", "wait_list"},
    {"mutex_waiter", "task"},
    {"rw_semaphore", "count"},
    {"rwsem_waiter", "type"},
    {"semaphore", "wait_list"},
    {"module", "mem[1].base"},
    {"mm_struct", "mmap_lock"},
    {"list_head", "next"},
    {"a", "b"},
    {"s", "x.y.z"},
    {"s", "arr[0]"},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto types = debuginfo::BtfTypes::from_bytes(
        std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz");
    if (!types) return 0;
    debuginfo::BtfTypes& t = **types;
    (void)t.describe();
    (void)t.type_count();
    for (const auto& l : kLookups) {
        (void)t.struct_size(l.type);
        if (auto m = t.member(l.type, l.path)) (void)m->type_name.size();
    }
    for (const char* e : {"RWSEM_WAITING_FOR_WRITE", "RWSEM_WAITING_FOR_READ", "TASK_RUNNING", "E"})
        (void)t.enumerator(e);
    return 0;
}
