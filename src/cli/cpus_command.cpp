// lockhound cpus DUMP [VMLINUX]: what each CPU ran at dump time, with its backtrace from the saved
// registers, and the soft-lockup / RCU-stall evidence for it.
#include <fmt/format.h>

#include "cli/common.h"
#include "kernel/backtrace_format.h"
#include "kernel/printk_log.h"
#include "kernel/task_unwinder.h"
#include "kernel/triage.h"
#include "report/escape.h"

namespace lockhound::cli {

void add_cpus_command(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<CommonOptions>();
    auto* cmd = app.add_subcommand("cpus", "What each CPU ran: task, backtrace, lockup hints");
    add_common_options(*cmd, *opts, "DUMP [VMLINUX]");
    cmd->callback([opts, &exit_code] {
        auto k = open_kernel(*opts);
        if (!k) {
            exit_code = kExitFatal;
            return;
        }
        kernel::Kernel& kern = *k->kernel;
        kernel::PrintkLog log = kernel::read_printk_log(kern);
        for (const auto& w : log.warnings) kern.warn(w);
        auto reports = kernel::scan_log(log);
        auto panic = kernel::read_panic(kern, reports);
        auto cpus = kernel::read_cpus(kern, reports, panic);
        auto u = kernel::TaskUnwinder::create(kern, {});
        if (!u) kern.warn("backtraces: " + u.error().describe());
        auto esc = [](const std::string& s) { return report::escape_terminal(s); };
        for (const auto& c : cpus) {
            if (!c.task) {
                fmt::print("CPU {}: no task found (neither crash notes nor runqueue)\n", c.cpu);
                continue;
            }
            fmt::print("CPU {}: PID {} {} ({}, from {}){}\n",
                       c.cpu,
                       c.task->pid,
                       esc(c.task->comm),
                       kernel::to_string(c.mode),
                       c.task_source,
                       c.panicked ? " — panicked here" : "");
            for (const auto& h : c.hints) fmt::print("  hint: {}\n", esc(h));
            if (u && c.mode != kernel::CpuActivity::Mode::kIdle) {
                auto bt = (*u)->backtrace(*c.task);
                for (const auto& line : kernel::format_backtrace(bt, {.indent = "  "}))
                    fmt::print("{}\n", line);
            }
        }
        exit_code = finish(kern, *opts);
    });
}

}  // namespace lockhound::cli
