// lockhound info DUMP [VMLINUX]: crash's header: kernel, dump file, CPUs, date, uptime, load,
// tasks, utsname, memory, and the panic (message, task, CPU).
#include <ctime>

#include <fmt/format.h>

#include "cli/common.h"
#include "kernel/kernel_facts.h"
#include "kernel/printk_log.h"
#include "kernel/triage.h"
#include "locks/analysis.h"
#include "report/escape.h"

namespace lockhound::cli {

namespace {

std::string format_utc(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    if (!gmtime_r(&tt, &tm)) return fmt::format("{} (unix time)", t);
    char buf[64];
    if (!std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S UTC %Y", &tm))
        return fmt::format("{} (unix time)", t);
    return buf;
}

}  // namespace

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
        kernel::PrintkLog log = kernel::read_printk_log(kern);
        for (const auto& w : log.warnings) kern.warn(w);
        kernel::LogReports reports = kernel::scan_log(log);
        auto panic = kernel::read_panic(kern, reports);
        auto esc = [](const std::string& s) { return report::escape_terminal(s); };
        if (auto v = kern.vmlinux_path()) fmt::print("     KERNEL: {}\n", esc(*v));
        fmt::print("  DEBUGINFO: {}\n", esc(kern.debuginfo_description()));
        fmt::print("   DUMPFILE: {}\n", esc(kern.dump().path));
        fmt::print("     FORMAT: {}\n", esc(kern.dump().format));
        fmt::print("       CPUS: {}\n", f.cpus);
        if (auto t = kern.dump().vmcoreinfo.crash_time())
            fmt::print("       DATE: {}\n", format_utc(*t));
        if (f.uptime_seconds)
            fmt::print("     UPTIME: {:02}:{:02}:{:02}\n",
                       *f.uptime_seconds / 3600,
                       *f.uptime_seconds / 60 % 60,
                       *f.uptime_seconds % 60);
        if (f.load_average)
            fmt::print("LOAD AVERAGE: {:.2f}, {:.2f}, {:.2f}\n",
                       (*f.load_average)[0],
                       (*f.load_average)[1],
                       (*f.load_average)[2]);
        fmt::print("      TASKS: {}\n", kern.tasks().size());
        if (!f.nodename.empty()) fmt::print("   NODENAME: {}\n", esc(f.nodename));
        fmt::print("    RELEASE: {}\n", esc(f.release));
        if (!f.version.empty()) fmt::print("    VERSION: {}\n", esc(f.version));
        fmt::print("    MACHINE: {}\n", esc(f.machine));
        fmt::print("   BUILD-ID: {}\n", esc(kern.dump().vmcoreinfo.build_id()));
        if (f.memory_bytes)
            fmt::print("     MEMORY: {:.1f} MiB\n",
                       static_cast<double>(f.memory_bytes) / (1 << 20));
        fmt::print("    MODULES: {}\n", kern.modules().size());
        if (!panic) {
            fmt::print("      PANIC: (none: the dump was not taken by a panic)\n");
        } else {
            fmt::print("      PANIC: \"{}\"\n", esc(panic->message));
            if (panic->pid >= 0) fmt::print("        PID: {}\n", panic->pid);
            if (!panic->comm.empty()) fmt::print("    COMMAND: \"{}\"\n", esc(panic->comm));
            if (panic->cpu >= 0) fmt::print("        CPU: {}\n", panic->cpu);
        }
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
