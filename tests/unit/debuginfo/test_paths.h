// Shared helpers for the debuginfo tests: the release the shared dumps were taken on and its
// DWARF vmlinux (tests skip when it is absent).
#pragma once

#include <time.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "support/shared_dumps.h"

namespace lockhound::debuginfo::testing {

inline constexpr const char* kRelease = "6.1.0-56-amd64";
inline constexpr const char* kBuildId = "eb4fbcd037e7253717950bf2b93bd5566f47c56f";

inline std::optional<std::string> reference_vmlinux() {
    return lockhound::testing::vmlinux_for(kRelease);
}

// Wall and CPU time since construction; the CPU time is the meaningful number on a loaded
// machine. report("BTF parse") prints "[   info   ] BTF parse: 12.3 ms (cpu 8.1 ms)".
class Stopwatch {
  public:
    Stopwatch() : wall_(std::chrono::steady_clock::now()), cpu_(cpu_now()) {}
    double wall_ms() const {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_)
            .count();
    }
    double cpu_ms() const { return cpu_now() - cpu_; }
    void report(const std::string& what, const std::string& extra = "") const {
        std::printf("[   info   ] %s: %.1f ms (cpu %.1f ms)%s%s\n",
                    what.c_str(),
                    wall_ms(),
                    cpu_ms(),
                    extra.empty() ? "" : ", ",
                    extra.c_str());
    }

  private:
    static double cpu_now() {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
    }
    std::chrono::steady_clock::time_point wall_;
    double cpu_;
};

}  // namespace lockhound::debuginfo::testing
