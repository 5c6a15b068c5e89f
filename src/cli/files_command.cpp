// lockhound files PID DUMP [VMLINUX]: a task's ROOT, CWD and open files, like crash's `files`.
#include <fmt/format.h>

#include "cli/common.h"
#include "kernel/open_files.h"
#include "report/escape.h"

namespace lockhound::cli {

void add_files_command(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<CommonOptions>();
    auto* cmd = app.add_subcommand("files", "A task's root, cwd and open files (crash `files`)");
    add_common_options(*cmd, *opts, "PID DUMP [VMLINUX]");
    cmd->callback([opts, &exit_code] {
        auto opened = open_kernel(*opts);
        if (!opened) {
            exit_code = kExitFatal;
            return;
        }
        kernel::Kernel& k = *opened->kernel;
        if (opened->arguments.size() != 1) {
            fmt::print(stderr, "lockhound files: give exactly one PID\n");
            exit_code = kExitUsage;
            return;
        }
        int pid = 0;
        try {
            pid = std::stoi(opened->arguments.front());
        } catch (...) {
            pid = -1;
        }
        const kernel::Task* t = pid >= 0 ? k.task_by_pid(pid) : nullptr;
        if (!t) {
            fmt::print(stderr,
                       "lockhound files: no task with pid '{}'\n",
                       report::escape_terminal(opened->arguments.front()));
            exit_code = kExitUsage;
            return;
        }
        auto files = kernel::open_files(k, *t);
        fmt::print("PID: {:<6} TASK: {:x}  COMMAND: \"{}\"\n",
                   t->pid,
                   t->address,
                   report::escape_terminal(t->comm));
        fmt::print("ROOT: {}    CWD: {}\n",
                   report::escape_terminal(files.root),
                   report::escape_terminal(files.cwd));
        fmt::print(" FD       FILE            DENTRY           INODE       TYPE PATH\n");
        for (const auto& f : files.files)
            fmt::print("{:>3} {:016x} {:016x} {:016x} {:<4} {}{}\n",
                       f.fd,
                       f.file,
                       f.dentry,
                       f.inode,
                       f.type,
                       report::escape_terminal(f.path),
                       f.reason.empty() ? "" : " (" + report::escape_terminal(f.reason) + ")");
        if (!files.problem.empty()) fmt::print("({})\n", report::escape_terminal(files.problem));
        exit_code = finish(k, *opts);
    });
}

}  // namespace lockhound::cli
