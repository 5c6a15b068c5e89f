// lockhound bt DUMP [VMLINUX] PID|TASK... [--state D] [--all] [-f]: kernel backtraces, crash-like.
#include <fmt/format.h>

#include <charconv>

#include "cli/common.h"
#include "kernel/backtrace_format.h"
#include "kernel/task_unwinder.h"
#include "report/escape.h"

namespace lockhound::cli {
namespace {

struct BtOptions {
    CommonOptions common;
    std::string state;
    bool all = false;
    bool words = false;
    bool pc = false;
    bool verbose = false;
    std::string orc = "auto";
};

// A PID (decimal) or a task_struct address (0x..., or bare hex like crash accepts).
const kernel::Task* find_task(kernel::Kernel& k, const std::string& arg) {
    int pid = 0;
    auto [p, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), pid);
    if (ec == std::errc() && p == arg.data() + arg.size()) {
        if (const auto* t = k.task_by_pid(pid)) return t;
    }
    if (auto a = parse_address(k, arg)) return k.task_by_address(*a);
    return nullptr;
}

std::string header(const kernel::Task& t) {
    std::string comm = report::escape_terminal(t.comm);
    return fmt::format("PID: {:<7} TASK: {:016x}  CPU: {:<3} STATE: {}  COMMAND: \"{}\"{}",
                       t.pid,
                       t.address,
                       t.cpu,
                       t.state,
                       comm,
                       t.cpu_regs ? "  (running on the CPU)" : "");
}

}  // namespace

void add_bt_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<BtOptions>();
    auto* cmd = app.add_subcommand(
        "bt", "Kernel backtraces (ORC): of the tasks given by PID or task_struct address");
    add_common_options(*cmd, o->common, "DUMP [VMLINUX] [PID|TASK...]");
    cmd->add_option("--state", o->state, "every task in these states, e.g. D or DR (ps letters)");
    cmd->add_flag("-a,--all", o->all, "every task");
    cmd->add_flag("-f,--frames", o->words, "also print each frame's raw stack words");
    cmd->add_flag("--pc", o->pc, "print each frame's program counter");
    cmd->add_flag("-v,--verbose", o->verbose, "say where the ORC tables came from");
    cmd->add_option("--orc", o->orc, "ORC tables from: auto, vmlinux, memory (the dump alone)")
        ->check(CLI::IsMember({"auto", "vmlinux", "memory"}));
    cmd->callback([o, &exit_code] {
        auto k = open_kernel(o->common);
        if (!k) {
            exit_code = kExitFatal;
            return;
        }
        kernel::Kernel& kern = *k->kernel;
        std::vector<const kernel::Task*> tasks;
        for (const auto& a : k->arguments) {
            const auto* t = find_task(kern, a);
            if (!t) {
                fmt::print(stderr,
                           "lockhound: no task with PID or address {}\n",
                           report::escape_terminal(a));
                exit_code = kExitUsage;
                return;
            }
            tasks.push_back(t);
        }
        if (o->all || !o->state.empty()) {
            for (const auto& t : kern.tasks())
                if (o->all || o->state.find(t.state) != std::string::npos) tasks.push_back(&t);
        }
        if (tasks.empty()) {
            fmt::print(stderr, "lockhound: bt: give PIDs or task addresses, --state or --all\n");
            exit_code = kExitUsage;
            return;
        }
        kernel::TaskUnwinderOptions uo;
        if (o->orc == "vmlinux") uo.orc_source = kernel::OrcSource::kVmlinux;
        if (o->orc == "memory") uo.orc_source = kernel::OrcSource::kMemory;
        auto u = kernel::TaskUnwinder::create(kern, uo);
        if (!u) {
            fmt::print(stderr,
                       "lockhound: no ORC unwind tables: {}\n",
                       report::escape_terminal(u.error().describe()));
            exit_code = kExitFatal;
            return;
        }
        if (o->verbose) {
            fmt::print(stderr, "lockhound: {}\n", report::escape_terminal((*u)->orc_description()));
            for (const auto& n : (*u)->notes())
                fmt::print(stderr, "lockhound: note: {}\n", report::escape_terminal(n));
        }
        kernel::UnwindOptions unwind;
        unwind.capture_words = o->words;
        std::size_t incomplete = 0;
        bool first = true;
        for (const auto* t : tasks) {
            kernel::Backtrace bt = (*u)->backtrace(*t, unwind);
            if (bt.error) ++incomplete;
            if (!first) fmt::print("\n");
            first = false;
            fmt::print("{}\n", header(*t));
            for (const auto& line : kernel::format_backtrace(bt, {.words = o->words, .pc = o->pc}))
                fmt::print("{}\n", line);
        }
        exit_code = finish(kern, o->common);
        if (incomplete > 0 && exit_code == kExitOk) exit_code = kExitPartial;
    });
}

}  // namespace lockhound::cli
