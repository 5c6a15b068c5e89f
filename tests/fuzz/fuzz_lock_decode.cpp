// Fuzz target: decoding a lock from memory (decode_lock, read_wait_list) with every lock model of
// lockmodels/ bound to one hand-made layout: owner and count words, the wait list as a
// list_head ring, an RHEL 7 single-pointer ring or a PREEMPT_RT rbtree of waiter entries, each
// entry's task pointer and mode. The walks must stay bounded and loop-safe whatever the memory.
//
// Input: the memory image, mapped at kHeap; the lock is at kHeap. Every kTaskStride-aligned
// address in the image whose first byte is 'T' is a task (so the fuzzer can name owners and
// waiter tasks).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <span>
#include <vector>

#include "fuzz_image_memory.h"
#include "locks/lock_decoder.h"
#include "locks/lock_model.h"
#include "locks/resolved_model.h"

using namespace lockhound;
using namespace lockhound::locks;

namespace {

constexpr std::uint64_t kHeap = 0xffff888000100000ull;
constexpr std::uint64_t kTaskStride = 0x40;

// The layout every model is bound to (offsets in the lock and in a waiter entry).
//   lock:   count @0 (8), owner @8, wait list @16 (list_head, slist pointer or rb_root)
//   entry:  link @0 (list_head; rb_node: parent_color @0, right @8, left @16), task @24,
//           mode @32 (u32: the model's modes numbered 0, 1, ... in name order)
std::vector<ResolvedModel> bind(const LockModelSet& set) {
    std::vector<ResolvedModel> out;
    for (const LockModel& m : set.models) {
        ResolvedModel r;
        r.model = &m;
        r.lock_size = 64;
        if (!m.count.member.empty()) r.count_off = 0;
        if (!m.owner.member.empty()) r.owner_off = 8;
        r.list_off = 16;
        r.link_off = 0;
        r.task_off = 24;
        if (!m.waiters.mode_member.empty()) {
            r.mode_off = 32;
            r.mode_size = 4;
            std::int64_t v = 0;
            for (const auto& [name, mode] : m.waiters.modes) r.mode_values[v++] = mode;
        }
        r.rb_right_off = 8;
        r.rb_left_off = 16;
        out.push_back(r);
    }
    return out;
}

const LockModelSet& models() {
    static const LockModelSet set = [] {
        auto s = load_lock_models(lockmodels_dir());
        if (!s) std::abort();  // the fuzz target is useless without the models
        return std::move(*s);
    }();
    return set;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::vector<ResolvedModel> resolved = bind(models());
    const auto* bytes = reinterpret_cast<const std::byte*>(data);
    fuzz::ImageMemory mem(kHeap, std::span(bytes, size));
    std::map<std::uint64_t, kernel::Task> tasks;
    for (std::size_t off = 0; off < size; off += kTaskStride) {
        if (data[off] != 'T') continue;
        kernel::Task t;
        t.address = kHeap + off;
        t.pid = static_cast<int>(off / kTaskStride);
        t.tgid = t.pid;
        t.comm = "fuzz";
        t.state = 'D';
        tasks.emplace(t.address, t);
    }
    DecodeContext ctx{mem,
                      [&tasks](std::uint64_t a) -> const kernel::Task* {
                          auto it = tasks.find(a);
                          return it == tasks.end() ? nullptr : &it->second;
                      },
                      256};
    for (const ResolvedModel& m : resolved) {
        LockState s = decode_lock(ctx, m, kHeap);
        if (s.waiters.size() > ctx.max_waiters) std::abort();
        WaitList w = read_wait_list(ctx, m, kHeap);
        if (w.entries.size() > ctx.max_waiters) std::abort();
    }
    return 0;
}
