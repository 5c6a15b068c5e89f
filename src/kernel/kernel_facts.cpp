#include "kernel/kernel_facts.h"

#include <fmt/format.h>

#include "kernel/kernel.h"
#include "kernel/percpu.h"

namespace lockhound::kernel {

KernelFacts read_kernel_facts(Kernel& k) {
    KernelFacts f;
    auto& mem = k.memory();
    f.release = k.release();
    f.cpus = possible_cpu_count(k);
    if (auto uts = k.symbols().address_of("init_uts_ns")) {
        auto field = [&](const char* path) -> std::string {
            auto o = k.offset_of("uts_namespace", path);
            if (!o) return "";
            return mem.read_cstring(*uts + *o, 65).value_or("");
        };
        if (auto r = field("name.release"); !r.empty()) f.release = r;
        f.version = field("name.version");
        f.machine = field("name.machine");
    }
    if (f.machine.empty()) f.machine = "x86_64";
    if (auto ram = k.symbols().address_of("_totalram_pages")) {
        if (auto pages = mem.read_u64(*ram); pages && *pages < (1ull << 40))
            f.memory_bytes = *pages * k.dump().vmcoreinfo.page_size();
    }
    if (auto tk = k.symbols().address_of("tk_core")) {
        // 6.13+ names tk_core's type (struct tk_data). Before, tk_core is
        // `static struct { seqcount_raw_spinlock_t seq; struct timekeeper timekeeper; }`: an
        // anonymous type, so the timekeeper starts after the sequence count, rounded up to its
        // 8-byte alignment.
        auto off = k.offset_of("tk_data", "timekeeper.ktime_sec");
        if (!off) {
            auto seq = k.types().struct_size("seqcount_raw_spinlock");
            auto sec = k.offset_of("timekeeper", "ktime_sec");
            if (seq && sec && *seq <= 64) off = ((*seq + 7) / 8 * 8) + *sec;
        }
        if (off) {
            if (auto s = mem.read_u64(*tk + *off); s && *s < (1ull << 40)) f.uptime_seconds = *s;
        }
    }
    if (auto pc = k.symbols().address_of("panic_cpu")) {
        if (auto v = mem.read_u32(*pc); v && static_cast<std::int32_t>(*v) >= 0)
            f.panic = fmt::format("panic on CPU {}", static_cast<std::int32_t>(*v));
    }
    return f;
}

}  // namespace lockhound::kernel
