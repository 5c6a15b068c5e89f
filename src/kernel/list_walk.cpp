#include "kernel/list_walk.h"

#include <array>
#include <unordered_set>

#include <fmt/format.h>

namespace lockhound::kernel {

ListWalk walk_list(dump::VirtualMemory& mem, std::uint64_t head, const ListWalkOptions& options) {
    ListWalk w;
    std::unordered_set<std::uint64_t> seen;
    std::uint64_t prev = head;
    auto next = mem.read_u64(head);
    if (!next) {
        w.error = next.error();
        return w;
    }
    std::uint64_t node = *next;
    while (node != head) {
        if (node == 0 || (node & 7) != 0) {
            w.error = Error::fault(ErrorKind::kBadData,
                                   node,
                                   fmt::format("corrupt list: bad next pointer after {:#x}", prev));
            return w;
        }
        if (!seen.insert(node).second) {
            w.error =
                Error::fault(ErrorKind::kLimit, node, "list loops without returning to its head");
            return w;
        }
        if (w.nodes.size() >= options.max_nodes) {
            w.error =
                Error::make(ErrorKind::kLimit,
                            fmt::format("list longer than {} entries; stopped", options.max_nodes));
            return w;
        }
        std::array<std::uint64_t, 2> words{};
        auto r = mem.read(node, std::as_writable_bytes(std::span(words)));
        if (!r) {
            w.error = r.error();
            return w;
        }
        if (options.check_prev && words[1] != prev) ++w.prev_mismatches;
        w.nodes.push_back(node);
        prev = node;
        node = words[0];
    }
    return w;
}

}  // namespace lockhound::kernel
