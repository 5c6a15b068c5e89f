// lockhound info DUMP [VMLINUX]: release, arch, CPUs, memory, uptime, panic string.
#include <fmt/format.h>

#include "cli/common.h"
#include "kernel/kernel_facts.h"
#include "locks/analysis.h"
#include "report/escape.h"

namespace lockhound::cli {

void add_info_command(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<CommonOptions>();
    auto* cmd = app.add_subcommand("info", "What the dump is: kernel, CPUs, memory, uptime, panic");
    add_common_options(*cmd, *opts, "DUMP [VMLINUX]");
    cmd->callback([opts, &exit_code] {
        auto k = open_kernel(*opts);
        if (!k) {
            exit_code = kExitFatal;
            return;
        }
        kernel::Kernel& kern = *k->kernel;
        kernel::KernelFacts f = kernel::read_kernel_facts(kern);
        auto esc = [](const std::string& s) { return report::escape_terminal(s); };
        fmt::print("       DUMP: {}\n", esc(kern.dump().path));
        fmt::print("     FORMAT: {}\n", esc(kern.dump().format));
        fmt::print("    RELEASE: {}\n", esc(f.release));
        if (!f.version.empty()) fmt::print("    VERSION: {}\n", esc(f.version));
        fmt::print("    MACHINE: {}\n", esc(f.machine));
        fmt::print("   BUILD-ID: {}\n", esc(kern.dump().vmcoreinfo.build_id()));
        fmt::print("  DEBUGINFO: {}\n", esc(kern.debuginfo_description()));
        fmt::print("       CPUS: {}\n", f.cpus);
        if (f.memory_bytes)
            fmt::print("     MEMORY: {:.1f} MiB\n",
                       static_cast<double>(f.memory_bytes) / (1 << 20));
        if (f.uptime_seconds)
            fmt::print("     UPTIME: {:02}:{:02}:{:02}\n",
                       *f.uptime_seconds / 3600,
                       *f.uptime_seconds / 60 % 60,
                       *f.uptime_seconds % 60);
        if (auto t = kern.dump().vmcoreinfo.crash_time())
            fmt::print(" CRASH TIME: {} (unix time)\n", *t);
        fmt::print("      TASKS: {}\n", kern.tasks().size());
        fmt::print("    MODULES: {}\n", kern.modules().size());
        fmt::print("      PANIC: {}\n",
                   f.panic.empty() ? "(none: the dump was not taken by a panic)" : esc(f.panic));
        // Which lock model decodes each kind here, and why the others do not.
        bool first = true;
        for (const auto& c : locks::lock_model_choices(kern)) {
            fmt::print("{}{:>12} {}\n",
                       first ? "LOCK MODELS: " : "             ",
                       std::string(locks::to_string(c.kind)) + ":",
                       c.model.empty() ? "none matches: not analysed" : c.model);
            for (const auto& n : c.not_used) fmt::print("             {:>12}   not {}\n", "", n);
            first = false;
        }
        exit_code = finish(kern, *opts);
    });
}

}  // namespace lockhound::cli
