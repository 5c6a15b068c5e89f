// lockhound search VALUE DUMP [VMLINUX]: every task stack slot holding VALUE (crash `search -t`),
// with slots below the saved stack pointer marked stale.
#include <fmt/format.h>

#include "cli/common.h"
#include "kernel/stack_search.h"
#include "report/escape.h"

namespace lockhound::cli {

void add_search_command(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<CommonOptions>();
    auto mask = std::make_shared<std::string>();
    auto live_only = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand("search",
                                   "Find a value (address or symbol) on every task's kernel stack");
    add_common_options(*cmd, *opts, "VALUE DUMP [VMLINUX]");
    cmd->add_option(
        "-m,--mask", *mask, "ignore these bits when comparing (e.g. 0x7 for tagged owner words)");
    cmd->add_flag("--live", *live_only, "only slots at or above the saved stack pointer");
    cmd->callback([opts, mask, live_only, &exit_code] {
        auto k = open_kernel(*opts);
        if (!k) {
            exit_code = kExitFatal;
            return;
        }
        kernel::Kernel& kern = *k->kernel;
        if (k->arguments.size() != 1) {
            fmt::print(stderr,
                       "lockhound search: give exactly one VALUE (an address or a symbol)\n");
            exit_code = kExitUsage;
            return;
        }
        auto value = parse_address(kern, k->arguments[0]);
        if (!value) {
            fmt::print(stderr,
                       "lockhound search: {} is neither a number nor a known symbol\n",
                       report::escape_terminal(k->arguments[0]));
            exit_code = kExitUsage;
            return;
        }
        std::uint64_t m = 0;
        if (!mask->empty()) {
            auto mv = parse_address(kern, *mask);
            if (!mv) {
                fmt::print(stderr, "lockhound search: bad mask\n");
                exit_code = kExitUsage;
                return;
            }
            m = *mv;
        }
        kernel::StackCache stacks(kern);
        auto hits = kernel::search_stacks(kern, stacks, *value, ~m);
        const kernel::Task* last = nullptr;
        std::size_t tasks = 0;
        std::size_t shown = 0;
        for (const auto& h : hits) {
            if (*live_only && h.stale) continue;
            if (h.task != last) {
                last = h.task;
                ++tasks;
                fmt::print("PID: {:<7} TASK: {:x}  CPU: {:<3} STATE: {}  COMMAND: \"{}\"\n",
                           h.task->pid,
                           h.task->address,
                           h.task->cpu,
                           h.task->state,
                           report::escape_terminal(h.task->comm));
            }
            auto w = stacks.get(*h.task)->word_at(h.slot);
            fmt::print("  {:x}: {:x}{}\n",
                       h.slot,
                       w.value_or(0),
                       h.stale ? "  (stale: below the saved stack pointer)" : "");
            ++shown;
        }
        fmt::print("{} slot(s) in {} task(s) hold {:#x}\n", shown, tasks, *value);
        exit_code = finish(kern, *opts);
    });
}

}  // namespace lockhound::cli
