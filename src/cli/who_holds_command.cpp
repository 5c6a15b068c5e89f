// lockhound who-holds ADDRESS|SYMBOL DUMP [VMLINUX] [--type mutex|rwsem|semaphore]
// [--format text|json]: one lock's type, name, holders with evidence, and waiters.
#include <iostream>
#include <map>

#include <fmt/format.h>

#include "cli/common.h"
#include "graph/build_graph.h"
#include "kernel/open_files.h"
#include "locks/analysis.h"
#include "report/escape.h"
#include "report/json_renderer.h"
#include "report/report.h"
#include "report/text_renderer.h"

namespace lockhound::cli {

namespace {

struct WhoHoldsOptions {
    CommonOptions common;
    std::string type;
    std::string format = "text";
};

std::optional<locks::LockKind> kind_of(const std::string& type) {
    static const std::map<std::string, locks::LockKind> kinds{
        {"mutex", locks::LockKind::kMutex},
        {"rwsem", locks::LockKind::kRwSemaphore},
        {"rw_semaphore", locks::LockKind::kRwSemaphore},
        {"semaphore", locks::LockKind::kSemaphore},
        {"rt_mutex", locks::LockKind::kRtMutex}};
    auto it = kinds.find(type);
    if (it == kinds.end()) return std::nullopt;
    return it->second;
}

}  // namespace

void add_who_holds_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<WhoHoldsOptions>();
    auto* cmd = app.add_subcommand("who-holds",
                                   "One lock (address, symbol, or a path: its inode's i_rwsem): "
                                   "holders with evidence, waiters");
    add_common_options(*cmd, o->common, "ADDRESS|SYMBOL|PATH DUMP [VMLINUX]");
    cmd->add_option("--type", o->type, "decode the lock as this type")
        ->check(CLI::IsMember({"mutex", "rwsem", "rw_semaphore", "semaphore", "rt_mutex"}));
    cmd->add_option("--format", o->format, "text (default) or json")
        ->check(CLI::IsMember({"text", "json"}));
    cmd->callback([o, &exit_code] {
        auto opened = open_kernel(o->common);
        if (!opened) {
            exit_code = kExitFatal;
            return;
        }
        if (opened->arguments.size() != 1) {
            fmt::print(stderr,
                       "lockhound who-holds: give exactly one lock address or symbol (got {})\n",
                       opened->arguments.size());
            exit_code = kExitUsage;
            return;
        }
        kernel::Kernel& k = *opened->kernel;
        const std::string& what = opened->arguments.front();
        std::optional<std::uint64_t> address;
        std::string path_note;
        if (!what.empty() && what.front() == '/') {
            // A path: the i_rwsem of its inode, found among the tasks' open files, cwd and root.
            auto found = kernel::find_path(k, what);
            auto off = k.offset_of("inode", "i_rwsem");
            if (!off) off = k.offset_of("inode", "i_mutex");
            if (!found || !off) {
                fmt::print(stderr,
                           "lockhound who-holds: {} is not open by any task (searched every task's "
                           "open files, cwd and root; the dentry cache is not searched)\n",
                           report::escape_terminal(what));
                finish(k, o->common);
                exit_code = kExitUsage;
                return;
            }
            address = found->inode + *off;
            path_note = fmt::format("  path {}: inode {:#x} ({})\n",
                                    report::escape_terminal(what),
                                    found->inode,
                                    report::escape_terminal(found->where));
            if (o->type.empty()) o->type = k.offset_of("inode", "i_rwsem") ? "rwsem" : "mutex";
        } else {
            address = parse_address(k, what);
        }
        if (!address) {
            fmt::print(stderr,
                       "lockhound who-holds: '{}' is neither an address nor a known symbol\n",
                       report::escape_terminal(what));
            exit_code = kExitUsage;
            return;
        }
        std::optional<locks::LockKind> kind;
        if (!o->type.empty()) kind = kind_of(o->type);

        report::Report r;
        r.kernel = {k.release(), k.dump().path, k.debuginfo_description()};
        r.analysis = locks::analyze_locks(k);
        r.graph = graph::build_graph(r.analysis);

        std::optional<locks::LockState> lock;
        bool contended = false;
        for (const auto& l : r.analysis.locks) {
            if (l.address == *address && (!kind || l.kind == *kind)) {
                lock = l;
                contended = true;
            }
        }
        if (!lock) lock = locks::decode_lock_at(k, *address, kind);
        if (!lock) {
            fmt::print(stderr,
                       "lockhound who-holds: no lock model fits at {:#x}{}\n",
                       *address,
                       kind ? "" : " (try --type mutex|rwsem|semaphore)");
            finish(k, o->common);
            exit_code = kExitUsage;
            return;
        }
        if (o->format == "json") {
            report::render_lock_json(std::cout, r, *lock);
        } else {
            std::cout << path_note;
            report::render_lock_text(std::cout, r, *lock);
            if (!contended)
                std::cout << "  (no task waits for it: it is not among the contended locks)\n";
        }
        std::cout.flush();
        exit_code = finish(k, o->common);
    });
}

}  // namespace lockhound::cli
