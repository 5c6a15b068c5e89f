// Per-CPU variables: address of a per-CPU symbol on a given CPU (`__per_cpu_offset[cpu] + sym`).
//
//   auto cpus = possible_cpu_count(kernel);           // nr_cpu_ids, bounded
//   auto rq = percpu_address(kernel, "runqueues", 1);  // struct rq of CPU 1
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace lockhound::kernel {

class Kernel;

int possible_cpu_count(Kernel& kernel);
[[nodiscard]] Result<std::uint64_t> percpu_address(Kernel& kernel,
                                                   std::string_view symbol,
                                                   int cpu);
// __per_cpu_offset[cpu] for every possible CPU (add to a __percpu pointer); empty if unreadable.
std::vector<std::uint64_t> percpu_offsets(Kernel& kernel);

}  // namespace lockhound::kernel
