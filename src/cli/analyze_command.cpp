// lockhound analyze DUMP [VMLINUX] [--format text|json|dot] [--svg FILE]: who holds each
// contended lock, who waits, deadlock cycles and root causes.
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "cli/common.h"
#include "graph/build_graph.h"
#include "graph/completeness.h"
#include "kernel/printk_log.h"
#include "kernel/triage.h"
#include "locks/analysis.h"
#include "report/dot_renderer.h"
#include "report/escape.h"
#include "report/json_renderer.h"
#include "report/report.h"
#include "report/svg.h"
#include "report/text_renderer.h"

namespace lockhound::cli {

namespace {

struct AnalyzeOptions {
    CommonOptions common;
    std::string format = "text";
    std::string svg;
};

report::Report build_report(kernel::Kernel& k) {
    report::Report r;
    r.kernel = {k.release(), k.dump().path, k.debuginfo_description()};
    r.analysis = locks::analyze_locks(k);
    r.graph = graph::build_graph(r.analysis);
    kernel::PrintkLog log = kernel::read_printk_log(k);
    for (const auto& w : log.warnings) k.warn(w);
    kernel::LogReports reports = kernel::scan_log(log);
    r.panic = kernel::read_panic(k, reports);
    r.hung_tasks = reports.hung_tasks;
    for (const auto& c : kernel::read_cpus(k, reports, r.panic)) {
        report::Report::Cpu rc{c.cpu, -1, "", kernel::to_string(c.mode), c.panicked, c.hints};
        if (c.task) rc.pid = c.task->pid, rc.comm = c.task->comm;
        r.cpus.push_back(std::move(rc));
    }
    r.completeness = graph::assess_completeness(k, r.analysis, r.hung_tasks);
    // analyze_locks copies the kernel's warnings; keep any that came after.
    const auto& all = k.warnings();
    for (std::size_t i = r.analysis.warnings.size(); i < all.size(); ++i)
        r.warnings.push_back(all[i]);
    return r;
}

}  // namespace

void add_analyze_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<AnalyzeOptions>();
    auto* cmd = app.add_subcommand(
        "analyze", "Who holds each contended lock, who waits, deadlock cycles and root causes");
    add_common_options(*cmd, o->common, "DUMP [VMLINUX]");
    cmd->add_option("--format", o->format, "text (default), json or dot")
        ->check(CLI::IsMember({"text", "json", "dot"}));
    cmd->add_option(
        "--svg", o->svg, "also draw the wait-for graph to this SVG file (Graphviz dot)");
    cmd->callback([o, &exit_code] {
        if (!o->svg.empty() && !report::find_on_path("dot")) {
            fmt::print(stderr,
                       "lockhound: --svg needs Graphviz `dot` on PATH (install graphviz, or use "
                       "--format dot and render it elsewhere)\n");
            exit_code = kExitUsage;
            return;
        }
        auto opened = open_kernel(o->common);
        if (!opened) {
            exit_code = kExitFatal;
            return;
        }
        if (!opened->arguments.empty()) {
            fmt::print(stderr,
                       "lockhound analyze: unexpected argument '{}' (not a dump or vmlinux file)\n",
                       report::escape_terminal(opened->arguments.front()));
            exit_code = kExitUsage;
            return;
        }
        kernel::Kernel& k = *opened->kernel;
        report::Report r = build_report(k);

        CommonOptions finish_opts = o->common;
        if (o->format == "json") {
            report::render_json(std::cout, r);
        } else if (o->format == "dot") {
            report::render_dot(std::cout, r);
        } else {
            // The text report lists the warnings itself (unless --quiet): not again on stderr.
            if (o->common.quiet) {
                r.analysis.warnings.clear();
                r.warnings.clear();
            }
            finish_opts.quiet = true;
            report::render_text(std::cout, r);
        }
        std::cout.flush();

        int status = finish(k, finish_opts);
        if (!r.completeness.complete) status = kExitPartial;
        if (!o->svg.empty()) {
            std::ostringstream dot;
            report::render_dot(dot, r);
            if (auto ok = report::write_svg(dot.str(), o->svg); !ok) {
                fmt::print(
                    stderr, "lockhound: {}\n", report::escape_terminal(ok.error().describe()));
                status = kExitUsage;
            } else if (!o->common.quiet) {
                fmt::print(stderr, "lockhound: wrote {}\n", report::escape_terminal(o->svg));
            }
        }
        exit_code = status;
    });
}

}  // namespace lockhound::cli
