// Report: everything the renderers print, as one value — facts about the dumped kernel, the lock
// analysis, the wait-for graph read off it, and warnings. Rendering never analyses: it only
// formats what is here.
//
//   report::Report r{.kernel = {release, dump_path, debuginfo},
//                    .analysis = std::move(analysis),
//                    .graph = graph::build_graph(r.analysis)};
//   report::render_text(std::cout, r);   // text_renderer.h; also json_renderer.h, dot_renderer.h
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "graph/completeness.h"
#include "graph/graph_result.h"
#include "kernel/triage.h"
#include "locks/lock_state.h"

namespace lockhound::report {

struct KernelSummary {
    std::string release;  // "6.1.0-56-amd64"
    std::string dump_path;
    std::string debuginfo;  // "DWARF: /path/vmlinux" or "BTF + kallsyms from the dump"
};

struct Report {
    KernelSummary kernel;
    locks::LockAnalysis analysis;
    graph::GraphResult graph;
    std::vector<std::string> warnings;  // besides analysis.warnings, e.g. unreadable dump parts
    // Context (triage): the panic, the log's hung-task reports, what each CPU ran, and whether
    // the dump held everything the answer rests on.
    std::optional<kernel::PanicInfo> panic;
    std::vector<kernel::HungTaskReport> hung_tasks;
    struct Cpu {
        int cpu = 0;
        int pid = -1;
        std::string comm;
        std::string mode;  // idle / kernel / user / unknown
        bool panicked = false;
        std::vector<std::string> hints;
    };
    std::vector<Cpu> cpus;
    graph::Completeness completeness;
};

}  // namespace lockhound::report
