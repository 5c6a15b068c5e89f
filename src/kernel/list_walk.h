// Bounded, loop-safe walks of kernel `struct list_head` lists.
//
//   ListWalk w = walk_list(mem, head_addr, {.max_nodes = 100000});
//   for (std::uint64_t node : w.nodes) ...   // addresses of the list_head inside each entry
//   if (w.error) warn(...);                   // unreadable node, loop, or limit hit
//
// A corrupt list (a loop that does not return to the head, a pointer into a missing page, a
// NULL next) ends the walk with what was collected so far and says why.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "dump/virtual_memory.h"

namespace lockhound::kernel {

struct ListWalkOptions {
    std::size_t max_nodes = 1u << 20;
    bool check_prev = true;  // each node's prev must point at the node before it
};

struct ListWalk {
    std::vector<std::uint64_t> nodes;  // list_head addresses, head excluded, in list order
    std::optional<Error> error;        // why the walk stopped early, if it did
    std::size_t prev_mismatches = 0;   // nodes whose prev did not point back (damage)
    bool complete() const { return !error.has_value(); }
};

ListWalk walk_list(dump::VirtualMemory& mem,
                   std::uint64_t head,
                   const ListWalkOptions& options = {});

}  // namespace lockhound::kernel
