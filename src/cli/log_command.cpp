// lockhound log DUMP [--since SECONDS] [--level N] [--format text|json]: the kernel log.
#include <fmt/format.h>

#include "cli/common.h"
#include "kernel/printk_log.h"
#include "report/log_renderer.h"

namespace lockhound::cli {

void add_log_command(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<CommonOptions>();
    auto filter = std::make_shared<report::LogFilter>();
    auto since = std::make_shared<double>(-1);
    auto level = std::make_shared<int>(-1);
    auto format = std::make_shared<std::string>("text");
    auto* cmd = app.add_subcommand("log", "The kernel log (dmesg) from the dump");
    add_common_options(*cmd, *opts, "DUMP [VMLINUX]");
    cmd->add_option("--since", *since, "only records at or after SECONDS since boot");
    cmd->add_option("--level", *level, "only records of level N or more urgent (0 emerg .. 7)")
        ->check(CLI::Range(0, 7));
    cmd->add_option("--format", *format, "text or json")->check(CLI::IsMember({"text", "json"}));
    cmd->callback([opts, filter, since, level, format, &exit_code] {
        auto k = open_kernel(*opts);
        if (!k) {
            exit_code = kExitFatal;
            return;
        }
        kernel::Kernel& kern = *k->kernel;
        if (*since >= 0) filter->since_seconds = *since;
        if (*level >= 0) filter->max_level = *level;
        kernel::PrintkLog log = kernel::read_printk_log(kern);
        for (const auto& w : log.warnings) kern.warn(w);
        if (*format == "json")
            fmt::print("{}", report::render_log_json(log, *filter));
        else
            fmt::print("{}", report::render_log_text(log, *filter));
        exit_code = finish(kern, *opts);
    });
}

}  // namespace lockhound::cli
