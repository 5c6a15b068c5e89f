// lh_bench: Google Benchmark micro-benchmarks of lockhound's stages on the real dumps
// (../shared/dumps, sample_dumps, and any vmcore listed in $LH_BENCH_DUMPS, colon-separated).
//
//   build-bench/bench/lh_bench                                  # everything
//   build-bench/bench/lh_bench --benchmark_filter='Analyze.*many-waiters'
//
// Groups (each per dump unless noted):
//   OpenDump            open_dump + page-table setup (headers, bitmaps, VMCOREINFO, notes)
//   DumpReads/cold|warm 64 bytes at every task_struct and saved SP: cold = a freshly opened dump
//                       (decompression + page walk), warm = caches filled
//   TaskWalk            walk_tasks (process list, threads, per-CPU idle/current tasks); per_task
//   TypeLookup/dwarf|btf/cold|warm   the members lockhound reads (once per dump release)
//   Kallsyms            decoding the dump's kallsyms
//   StackSearch         search_stacks for the busiest lock's address (crash `search -t`)
//   Analyze/dwarf|btf   Kernel::open + analyze_locks + build_graph: `lockhound analyze` minus
//                       printing; counters: tasks, per_task (time per task), pages_decoded
//                       (kdump pages decompressed: page-cache misses)
//   AnalyzeOnly         analyze_locks on an already opened Kernel (its caches warm)
// Times are CPU and wall ("Time"); on a shared machine trust CPU.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "debuginfo/btf_types.h"
#include "debuginfo/dwarf_types.h"
#include "debuginfo/kallsyms.h"
#include "dump/diskdump.h"
#include "dump/dump_file.h"
#include "dump/kernel_address_space.h"
#include "graph/build_graph.h"
#include "kernel/kernel.h"
#include "kernel/orc_loader.h"
#include "kernel/stack_search.h"
#include "kernel/task_walker.h"
#include "locks/analysis.h"
#include "support/shared_dumps.h"

namespace {

using namespace lockhound;
namespace fs = std::filesystem;

struct BenchDump {
    std::string name;  // "abba-mutex", "sample/mmap-pileup"
    std::string vmcore;
    std::string release;
    std::optional<std::string> vmlinux;
};

std::vector<BenchDump> bench_dumps() {
    std::vector<BenchDump> out;
    for (const auto& d : testing::all_truth_dumps())
        out.push_back({d.scenario, d.vmcores.front(), d.release, testing::vmlinux_for(d.release)});
    if (const char* extra = std::getenv("LH_BENCH_DUMPS")) {
        std::string list = extra;
        std::size_t pos = 0;
        while (pos <= list.size()) {
            std::size_t end = list.find(':', pos);
            if (end == std::string::npos) end = list.size();
            std::string path = list.substr(pos, end - pos);
            pos = end + 1;
            if (path.empty() || !fs::exists(path)) continue;
            auto k = kernel::Kernel::open({.dump_path = path, .no_vmlinux = true});
            if (!k) continue;
            std::string release = (*k)->release();
            out.push_back({"extra/" + fs::path(path).parent_path().filename().string(),
                           path,
                           release,
                           testing::vmlinux_for(release)});
        }
    }
    return out;
}

kernel::OpenOptions options(const BenchDump& d, bool dwarf) {
    kernel::OpenOptions o;
    o.dump_path = d.vmcore;
    if (dwarf && d.vmlinux)
        o.vmlinux_path = *d.vmlinux;
    else
        o.no_vmlinux = true;
    return o;
}

std::unique_ptr<kernel::Kernel> open_or_skip(benchmark::State& state,
                                             const BenchDump& d,
                                             bool dwarf) {
    auto k = kernel::Kernel::open(options(d, dwarf));
    if (!k) {
        state.SkipWithError(k.error().describe().c_str());
        return nullptr;
    }
    return std::move(*k);
}

// An opened Kernel (DWARF when available) shared by the warm benchmarks of one dump; the
// benchmarks run dump after dump, so only the last one is kept.
kernel::Kernel* shared_kernel(const BenchDump& d) {
    static std::string path;
    static std::unique_ptr<kernel::Kernel> kernel;
    if (path != d.vmcore) {
        kernel.reset();
        path = d.vmcore;
        auto k = kernel::Kernel::open(options(d, true));
        if (k) kernel = std::move(*k);
        if (kernel) (void)kernel->tasks();
    }
    return kernel.get();
}

// The addresses DumpReads reads: each task_struct and each saved stack pointer.
std::vector<std::uint64_t> read_targets(kernel::Kernel& k) {
    std::vector<std::uint64_t> out;
    for (const auto& t : k.tasks()) {
        out.push_back(t.address);
        if (t.saved_sp) out.push_back(t.saved_sp);
    }
    return out;
}

void bm_open_dump(benchmark::State& state, const BenchDump& d) {
    for (auto _ : state) {
        auto f = dump::open_dump(d.vmcore);
        if (!f) {
            state.SkipWithError(f.error().describe().c_str());
            return;
        }
        auto setup = dump::PagingSetup::from_vmcoreinfo(f->vmcoreinfo);
        benchmark::DoNotOptimize(setup);
    }
}

void bm_dump_reads(benchmark::State& state, const BenchDump& d, bool cold) {
    kernel::Kernel* k = shared_kernel(d);
    if (!k) return state.SkipWithError("cannot open the dump");
    const auto targets = read_targets(*k);
    std::vector<std::byte> buf(64);
    std::size_t failed = 0;
    if (cold) {
        for (auto _ : state) {
            auto f = dump::open_dump(d.vmcore);
            auto setup = dump::PagingSetup::from_vmcoreinfo(f->vmcoreinfo);
            dump::KernelAddressSpace kas(*f->memory, *setup);
            for (std::uint64_t a : targets) failed += !kas.read(a, buf);
        }
    } else {
        auto setup = dump::PagingSetup::from_vmcoreinfo(k->dump().vmcoreinfo);
        dump::KernelAddressSpace kas(*k->dump().memory, *setup);
        for (std::uint64_t a : targets) (void)kas.read(a, buf);
        for (auto _ : state)
            for (std::uint64_t a : targets) failed += !kas.read(a, buf);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * targets.size()));
    state.counters["reads"] = static_cast<double>(targets.size());
    state.counters["failed"] =
        static_cast<double>(failed) / static_cast<double>(state.iterations());
}

void bm_task_walk(benchmark::State& state, const BenchDump& d) {
    kernel::Kernel* k = shared_kernel(d);
    if (!k) return state.SkipWithError("cannot open the dump");
    std::size_t tasks = 0;
    for (auto _ : state) {
        auto r = kernel::walk_tasks(*k);
        tasks = r.tasks.size();
        benchmark::DoNotOptimize(r);
    }
    state.counters["tasks"] = static_cast<double>(tasks);
    state.counters["per_task"] = benchmark::Counter(
        static_cast<double>(tasks),
        benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// What lockhound asks the types for (task walk, lock models, unwinder, naming).
struct Lookup {
    const char* type;
    const char* member;  // nullptr: struct_size
};
constexpr Lookup kLookups[] = {
    {"task_struct", "tasks"},
    {"task_struct", "pid"},
    {"task_struct", "tgid"},
    {"task_struct", "comm"},
    {"task_struct", "__state"},
    {"task_struct", "stack"},
    {"task_struct", "thread.sp"},
    {"task_struct", "mm"},
    {"task_struct", "on_cpu"},
    {"task_struct", "signal"},
    {"task_struct", "thread_node"},
    {"signal_struct", "thread_head"},
    {"mutex", "owner"},
    {"mutex", "wait_list"},
    {"mutex_waiter", "list"},
    {"mutex_waiter", "task"},
    {"rw_semaphore", "count"},
    {"rw_semaphore", "owner"},
    {"rw_semaphore", "wait_list"},
    {"rwsem_waiter", "list"},
    {"rwsem_waiter", "task"},
    {"rwsem_waiter", "type"},
    {"semaphore", "count"},
    {"semaphore", "wait_list"},
    {"semaphore_waiter", "list"},
    {"semaphore_waiter", "task"},
    {"module", "list"},
    {"module", "name"},
    {"mm_struct", "mmap_lock"},
    {"rq", "curr"},
    {"inactive_task_frame", nullptr},
    {"rt_mutex_waiter", "tree_entry"},
};

std::size_t run_lookups(debuginfo::TypeInfo& types) {
    std::size_t found = 0;
    for (const auto& l : kLookups)
        found += l.member ? types.member(l.type, l.member).has_value()
                          : types.struct_size(l.type).has_value();
    found += types.enumerator("RWSEM_WAITING_FOR_WRITE").has_value();
    return found;
}

void bm_types(benchmark::State& state, const BenchDump& d, bool dwarf, bool cold) {
    kernel::Kernel* k = shared_kernel(d);
    if (!k) return state.SkipWithError("cannot open the dump");
    std::vector<std::byte> btf;
    if (!dwarf) {
        auto start = k->symbols().address_of("__start_BTF");
        auto stop = k->symbols().address_of("__stop_BTF");
        if (!start || !stop || *stop <= *start) return state.SkipWithError("no BTF in the dump");
        auto raw = kernel::read_bulk(k->memory(), *start, *stop - *start);
        if (!raw) return state.SkipWithError(raw.error().describe().c_str());
        btf = std::move(*raw);
    } else if (!d.vmlinux) {
        return state.SkipWithError("no DWARF vmlinux");
    }
    auto open = [&]() -> std::unique_ptr<debuginfo::TypeInfo> {
        if (dwarf) {
            auto t = debuginfo::DwarfTypes::open(*d.vmlinux, k->dump().vmcoreinfo.build_id());
            return t ? std::move(*t) : nullptr;
        }
        auto t = debuginfo::BtfTypes::from_bytes(btf, "the dump");
        return t ? std::move(*t) : nullptr;
    };
    std::size_t found = 0;
    if (cold) {
        for (auto _ : state) {
            auto t = open();
            if (!t) return state.SkipWithError("cannot open the types");
            found = run_lookups(*t);
        }
    } else {
        auto t = open();
        if (!t) return state.SkipWithError("cannot open the types");
        run_lookups(*t);
        for (auto _ : state) found = run_lookups(*t);
    }
    state.counters["found"] = static_cast<double>(found);
    state.counters["lookups"] = static_cast<double>(std::size(kLookups) + 1);
}

void bm_kallsyms(benchmark::State& state, const BenchDump& d) {
    kernel::Kernel* k = shared_kernel(d);
    if (!k) return state.SkipWithError("cannot open the dump");
    auto where = debuginfo::KallsymsLocation::from_vmcoreinfo(k->dump().vmcoreinfo);
    if (!where) return state.SkipWithError("no kallsyms location in VMCOREINFO");
    std::size_t n = 0;
    for (auto _ : state) {
        auto syms = debuginfo::load_kallsyms(k->memory(), *where);
        if (!syms) return state.SkipWithError(syms.error().describe().c_str());
        n = syms->size();
    }
    state.counters["symbols"] = static_cast<double>(n);
}

std::uint64_t busiest_lock(kernel::Kernel& k) {
    auto a = locks::analyze_locks(k);
    std::uint64_t best = 0;
    std::size_t most = 0;
    for (const auto& l : a.locks)
        if (l.waiters.size() >= most) most = l.waiters.size(), best = l.address;
    return best;
}

void bm_stack_search(benchmark::State& state, const BenchDump& d) {
    kernel::Kernel* k = shared_kernel(d);
    if (!k) return state.SkipWithError("cannot open the dump");
    std::uint64_t lock = busiest_lock(*k);
    if (!lock) return state.SkipWithError("no contended lock");
    std::size_t hits = 0;
    for (auto _ : state) {
        kernel::StackCache stacks(*k);  // cold: every stack read again
        hits = kernel::search_stacks(*k, stacks, lock).size();
    }
    state.counters["hits"] = static_cast<double>(hits);
    state.counters["stacks"] = static_cast<double>(k->tasks().size());
}

void bm_analyze(benchmark::State& state, const BenchDump& d, bool dwarf) {
    if (dwarf && !d.vmlinux) return state.SkipWithError("no DWARF vmlinux");
    std::size_t tasks = 0, locks_found = 0;
    std::uint64_t pages_decoded = 0;
    for (auto _ : state) {
        auto k = open_or_skip(state, d, dwarf);
        if (!k) return;
        auto a = locks::analyze_locks(*k);
        auto g = graph::build_graph(a);
        benchmark::DoNotOptimize(g);
        tasks = k->tasks().size();
        locks_found = a.locks.size();
        if (auto* dd = dynamic_cast<const dump::DiskDump*>(k->dump().memory.get()))
            pages_decoded = dd->pages_decoded();
    }
    state.counters["pages_decoded"] = static_cast<double>(pages_decoded);
    state.counters["tasks"] = static_cast<double>(tasks);
    state.counters["locks"] = static_cast<double>(locks_found);
    state.counters["per_task"] = benchmark::Counter(
        static_cast<double>(tasks),
        benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void bm_analyze_only(benchmark::State& state, const BenchDump& d) {
    kernel::Kernel* k = shared_kernel(d);
    if (!k) return state.SkipWithError("cannot open the dump");
    (void)locks::analyze_locks(*k);
    for (auto _ : state) {
        auto a = locks::analyze_locks(*k);
        benchmark::DoNotOptimize(a);
    }
    state.counters["tasks"] = static_cast<double>(k->tasks().size());
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    const auto dumps = bench_dumps();
    std::set<std::string> releases_done;
    for (const BenchDump& d : dumps) {
        const std::string& n = d.name;
        auto reg = [](std::string name, auto fn) {
            return benchmark::RegisterBenchmark(name.c_str(), fn)->Unit(benchmark::kMillisecond);
        };
        reg("OpenDump/" + n, [d](benchmark::State& s) { bm_open_dump(s, d); });
        reg("DumpReads/cold/" + n, [d](benchmark::State& s) { bm_dump_reads(s, d, true); });
        reg("DumpReads/warm/" + n, [d](benchmark::State& s) { bm_dump_reads(s, d, false); });
        reg("TaskWalk/" + n, [d](benchmark::State& s) { bm_task_walk(s, d); });
        reg("Kallsyms/" + n, [d](benchmark::State& s) { bm_kallsyms(s, d); });
        reg("StackSearch/" + n, [d](benchmark::State& s) { bm_stack_search(s, d); });
        reg("Analyze/dwarf/" + n, [d](benchmark::State& s) { bm_analyze(s, d, true); });
        reg("Analyze/btf/" + n, [d](benchmark::State& s) { bm_analyze(s, d, false); });
        reg("AnalyzeOnly/" + n, [d](benchmark::State& s) { bm_analyze_only(s, d); });
        // Type lookups depend on the kernel build only: once per release.
        if (releases_done.insert(d.release).second) {
            for (bool dwarf : {true, false})
                for (bool cold : {true, false})
                    reg(std::string("TypeLookup/") + (dwarf ? "dwarf/" : "btf/") +
                            (cold ? "cold/" : "warm/") + d.release,
                        [d, dwarf, cold](benchmark::State& s) { bm_types(s, d, dwarf, cold); });
        }
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
