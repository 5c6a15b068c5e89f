// Report: everything the renderers print, as one value — facts about the dumped kernel, the lock
// analysis, the wait-for graph read off it, and warnings. Rendering never analyses: it only
// formats what is here.
//
//   report::Report r{.kernel = {release, dump_path, debuginfo},
//                    .analysis = std::move(analysis),
//                    .graph = graph::build_graph(r.analysis)};
//   report::render_text(std::cout, r);   // text_renderer.h; also json_renderer.h, dot_renderer.h
#pragma once

#include <string>
#include <vector>

#include "graph/graph_result.h"
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
};

}  // namespace lockhound::report
