#include "kernel/percpu.h"

#include <fmt/format.h>

#include "kernel/kernel.h"

namespace lockhound::kernel {

int possible_cpu_count(Kernel& kernel) {
    constexpr int kMaxCpus = 8192;
    if (auto a = kernel.symbols().address_of("nr_cpu_ids")) {
        if (auto n = kernel.memory().read_u32(*a); n && *n > 0 && *n <= kMaxCpus)
            return static_cast<int>(*n);
    }
    int from_notes = static_cast<int>(kernel.dump().cpus.size());
    return from_notes > 0 ? from_notes : 1;
}

Result<std::uint64_t> percpu_address(Kernel& kernel, std::string_view symbol, int cpu) {
    auto base = kernel.symbols().address_of("__per_cpu_offset");
    if (!base) return fail(ErrorKind::kNotFound, "no __per_cpu_offset symbol");
    auto sym = kernel.symbols().address_of(symbol);
    if (!sym) return fail(ErrorKind::kNotFound, fmt::format("no per-CPU symbol {}", symbol));
    auto off = kernel.memory().read_u64(*base + (static_cast<std::uint64_t>(cpu) * 8));
    if (!off) return std::unexpected(off.error());
    return *sym + *off;
}

}  // namespace lockhound::kernel
