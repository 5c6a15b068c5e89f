// What every subcommand shares: the dump and vmlinux arguments (in either order, like
// `crash vmlinux vmcore`), --vmlinux / --no-vmlinux, opening the Kernel, warnings, exit codes.
//
// Exit status (documented in README):
//   0  the answer is complete
//   1  usage error
//   2  the dump (or vmlinux) could not be used at all: nothing was analysed
//   3  an answer was given, but parts of the dump were unreadable (warnings on stderr)
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernel/kernel.h"

namespace lockhound::cli {

enum ExitCode { kExitOk = 0, kExitUsage = 1, kExitFatal = 2, kExitPartial = 3 };

struct CommonOptions {
    std::vector<std::string> positionals;  // dump, vmlinux and command arguments, any order
    std::string vmlinux;
    bool no_vmlinux = false;
    bool quiet = false;
};

// Adds the shared options to a subcommand; positionals collect into opts.positionals.
void add_common_options(CLI::App& cmd, CommonOptions& opts, const std::string& positional_help);

struct OpenedKernel {
    std::unique_ptr<kernel::Kernel> kernel;
    std::vector<std::string> arguments;  // positionals that were not files
};

// Classifies positionals, opens the dump; on failure prints one clear line and returns nullopt.
std::optional<OpenedKernel> open_kernel(const CommonOptions& opts);
// Prints the kernel's warnings to stderr; returns kExitPartial if there were any, else kExitOk.
int finish(kernel::Kernel& k, const CommonOptions& opts);
// Parses "0x..." / decimal numbers, or resolves a symbol name ("lb_mutex_A").
std::optional<std::uint64_t> parse_address(kernel::Kernel& k, const std::string& text);

// Each subcommand registers itself: it sets `exit_code` when it runs.
void add_info_command(CLI::App& app, int& exit_code);
void add_tasks_command(CLI::App& app, int& exit_code);
void add_search_command(CLI::App& app, int& exit_code);
void add_bt_command(CLI::App& app, int& exit_code);         // bt_command.cpp (unwinder owner)
void add_analyze_command(CLI::App& app, int& exit_code);    // analyze_command.cpp
void add_who_holds_command(CLI::App& app, int& exit_code);  // who_holds_command.cpp
void add_whatis_command(CLI::App& app, int& exit_code);     // whatis_command.cpp
void add_files_command(CLI::App& app, int& exit_code);      // files_command.cpp
void add_log_command(CLI::App& app, int& exit_code);        // log_command.cpp
void add_cpus_command(CLI::App& app, int& exit_code);       // cpus_command.cpp

}  // namespace lockhound::cli
