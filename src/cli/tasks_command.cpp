// lockhound tasks DUMP [VMLINUX] [--state D]: every task with its state and kernel stack.
#include <fmt/format.h>

#include "cli/common.h"
#include "report/escape.h"

namespace lockhound::cli {

void add_tasks_command(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<CommonOptions>();
    auto state = std::make_shared<std::string>();
    auto* cmd =
        app.add_subcommand("tasks", "List every task: pid, state, CPU, task_struct, stack, comm");
    add_common_options(*cmd, *opts, "DUMP [VMLINUX]");
    cmd->add_option("--state", *state, "only tasks in these states, e.g. D or DR (ps letters)");
    cmd->callback([opts, state, &exit_code] {
        auto k = open_kernel(*opts);
        if (!k) {
            exit_code = kExitFatal;
            return;
        }
        kernel::Kernel& kern = *k->kernel;
        fmt::print("{:>7} {:>7} {:>3} {:>2} {:>18} {:>18} {:>18}  {}\n",
                   "PID",
                   "TGID",
                   "CPU",
                   "ST",
                   "TASK",
                   "STACK",
                   "SP",
                   "COMM");
        std::size_t shown = 0;
        for (const auto& t : kern.tasks()) {
            if (!state->empty() && state->find(t.state) == std::string::npos) continue;
            std::string comm = report::escape_terminal(t.comm);
            if (t.is_kernel_thread()) comm = "[" + comm + "]";
            fmt::print("{:>7} {:>7} {:>3} {:>2} {:>#18x} {:>#18x} {:>#18x}  {}{}\n",
                       t.pid,
                       t.tgid,
                       t.cpu,
                       t.state,
                       t.address,
                       t.stack_base,
                       t.saved_sp,
                       comm,
                       t.on_cpu ? " (on CPU)" : "");
            ++shown;
        }
        fmt::print(
            "{} task(s){}\n", shown, state->empty() ? "" : fmt::format(" in state {}", *state));
        exit_code = finish(kern, *opts);
    });
}

}  // namespace lockhound::cli
