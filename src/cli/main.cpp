// lockhound: who holds the lock, what is the holder stuck on, and who is waiting.
//
// main is parse -> run one subcommand -> exit code. Each subcommand lives in its own file and
// registers itself through the table below.
#include <malloc.h>

#include <cstdio>
#include <exception>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/common.h"

int main(int argc, char** argv) try {
    using namespace lockhound::cli;
    // One short run that builds large tables (symbols, BTF, ORC, decoded pages) and frees them at
    // exit: keep freed memory in the heap instead of unmapping and faulting it in again (about a
    // tenth of a self-contained run went to the kernel zeroing fresh pages).
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_TOP_PAD, 64 << 20);
    CLI::App app{"lockhound: lock and hang analysis of Linux kernel crash dumps"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "lockhound 0.1.0");
    int exit_code = kExitOk;
    for (auto add : {add_info_command,
                     add_tasks_command,
                     add_search_command,
                     add_bt_command,
                     add_analyze_command,
                     add_who_holds_command})
        add(app, exit_code);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? kExitOk : kExitUsage;
    }
    return exit_code;
} catch (const std::exception& e) {
    fmt::print(stderr, "lockhound: {}\n", e.what());
    return lockhound::cli::kExitFatal;
}
