// Facts about the dumped kernel for `lockhound info`: release, version, machine, CPUs, memory,
// uptime, whether (and on which CPU) it panicked.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace lockhound::kernel {

class Kernel;

struct KernelFacts {
    std::string release, version, machine, nodename;
    int cpus = 0;
    std::uint64_t memory_bytes = 0;                     // totalram_pages * PAGE_SIZE
    std::optional<std::uint64_t> uptime_seconds;        // timekeeper monotonic seconds
    std::string panic;                                  // "" when the dump was not taken by a panic
    std::optional<std::array<double, 3>> load_average;  // avenrun (1, 5, 15 minutes)
};

KernelFacts read_kernel_facts(Kernel& kernel);

}  // namespace lockhound::kernel
