// Backtraces of the blocked tasks of every shared dump (and of the project's sample dumps),
// checked against the dump's truth.json (/proc/PID/stack, which hides the __sched frames) and,
// where there is one, stacks.drgn.json (drgn's full stacks).
// Each dump is unwound three ways: vmlinux + its ORC sections, vmlinux symbols/types + ORC read
// from the dump's memory, and no vmlinux at all (BTF + kallsyms + ORC from memory).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <regex>

#include <fmt/format.h>

#include "kernel/backtrace_format.h"
#include "kernel/kernel.h"
#include "kernel/task_unwinder.h"
#include "support/shared_dumps.h"

namespace lockhound::kernel {
namespace {

struct FrameText {
    std::string name;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    std::string module;
    std::optional<std::uint64_t> raw_pc;  // drgn lists the user PC as a bare "0x40194e"
};

// "lb_thread.cold+0x114/0x11d [lockbomb]"
std::optional<FrameText> parse_frame(const std::string& s) {
    static const std::regex re(R"(^(\S+)\+0x([0-9a-f]+)/0x([0-9a-f]+)(?: \[(\S+)\])?$)");
    std::smatch m;
    if (std::regex_match(s, m, re))
        return FrameText{
            m[1], std::stoull(m[2], nullptr, 16), std::stoull(m[3], nullptr, 16), m[4], {}};
    if (s.starts_with("0x")) return FrameText{"", 0, 0, "", std::stoull(s, nullptr, 16)};
    return std::nullopt;
}

std::string text(const StackFrame& f) {
    return f.symbol() + (f.module.empty() ? "" : " [" + f.module + "]");
}

// Our frame is the frame named in a reference when the names and offsets agree, or when both
// name the same address (an alias: entry_SYSCALL_64_after_hwframe is inside entry_SYSCALL_64).
bool same_frame(Kernel& k, const StackFrame& f, const FrameText& t) {
    if (f.function == t.name && f.offset == t.offset) return true;
    const auto& syms = k.symbols();
    for (const auto& s : syms.symbols())
        if (s.name == t.name && (t.module.empty() || s.module == t.module) &&
            s.address + t.offset == f.pc)
            return true;
    return false;
}

nlohmann::json load_json(const std::string& path) {
    std::ifstream in(path);
    if (!in) return nlohmann::json();
    return nlohmann::json::parse(in, nullptr, false);
}

struct Config {
    std::string name;
    bool vmlinux = true;
    OrcSource source = OrcSource::kAuto;
};

class BacktraceDumps : public ::testing::TestWithParam<Config> {};

TEST_P(BacktraceDumps, BlockedTasksMatchProcStackAndDrgn) {
    const Config& cfg = GetParam();
    auto dumps = lockhound::testing::all_truth_dumps();
    if (dumps.empty()) GTEST_SKIP() << "no shared dumps (../shared/dumps)";
    int checked = 0;
    for (const auto& d : dumps) {
        SCOPED_TRACE(d.name());
        auto vmlinux = lockhound::testing::vmlinux_for(d.release);
        if (cfg.vmlinux && !vmlinux) {
            GTEST_SKIP() << "no vmlinux for " << d.release;
        }
        OpenOptions oo{.dump_path = d.vmcores.front()};
        if (cfg.vmlinux)
            oo.vmlinux_path = *vmlinux;
        else
            oo.no_vmlinux = true;
        auto k = Kernel::open(oo);
        if (!k && !cfg.vmlinux)
            GTEST_SKIP() << "cannot open without a vmlinux yet: " << k.error().describe();
        ASSERT_TRUE(k) << k.error().describe();
        auto u = TaskUnwinder::create(**k, {.orc_source = cfg.source});
        ASSERT_TRUE(u) << u.error().describe();
        if (cfg.source == OrcSource::kMemory || !cfg.vmlinux)
            EXPECT_NE((*u)->orc_description().find("dump's memory"), std::string::npos)
                << (*u)->orc_description();
        else
            EXPECT_NE((*u)->orc_description().find(*vmlinux), std::string::npos)
                << (*u)->orc_description();
        EXPECT_NE((*u)->orc_description().find("v1"), std::string::npos) << (*u)->orc_description();

        auto drgn = load_json(d.dir + "/stacks.drgn.json");
        const auto& blocked = d.truth["blocked_tasks"];
        ASSERT_FALSE(blocked.empty());
        std::size_t exact_text = 0, frames_compared = 0;
        for (const auto& bt_truth : blocked) {
            int pid = bt_truth["pid"].get<int>();
            SCOPED_TRACE(fmt::format("pid {}", pid));
            const Task* t = (*k)->task_by_pid(pid);
            ASSERT_NE(t, nullptr);
            Backtrace bt = (*u)->backtrace(*t);
            std::string shown;
            for (const auto& l : format_backtrace(bt)) shown += l + "\n";
            SCOPED_TRACE(shown);
            ASSERT_FALSE(bt.error) << bt.error->describe();
            EXPECT_TRUE(bt.complete);
            EXPECT_TRUE(bt.reliable());
            ASSERT_GE(bt.frames.size(), 3u);

            // /proc/PID/stack (recorded for some tasks): its frames, in order, after the hidden
            // scheduler frames.
            std::size_t pos = 0;
            static const nlohmann::json kNone = nlohmann::json::array();
            const auto& proc_stack = bt_truth.contains("stack") ? bt_truth["stack"] : kNone;
            for (const auto& s : proc_stack) {
                auto want = parse_frame(s.get<std::string>());
                ASSERT_TRUE(want) << s;
                while (pos < bt.frames.size() && !same_frame(**k, bt.frames[pos], *want)) ++pos;
                ASSERT_LT(pos, bt.frames.size()) << "missing " << s;
                ++frames_compared;
                if (text(bt.frames[pos]) == s.get<std::string>()) ++exact_text;
                ++pos;
            }
            // The slow path /proc hides: __schedule and schedule first.
            EXPECT_EQ(bt.frames[0].function, "__schedule");
            EXPECT_EQ(bt.frames[1].function, "schedule");
            // It ends where the kernel's stack ends.
            if (bt.user_regs) {
                EXPECT_TRUE(bt.frames.back().exception_frame);
                EXPECT_EQ(bt.user_regs->cs & 3, 3u);
            } else {
                EXPECT_EQ(bt.frames.back().function, "ret_from_fork");
            }

            // drgn: the same frames one for one (sizes may differ: drgn uses ELF sizes).
            if (!drgn.is_object()) continue;  // sample dumps have no drgn reference
            const auto& dj = drgn["tasks"][std::to_string(pid)]["frames"];
            ASSERT_TRUE(dj.is_array());
            std::vector<FrameText> ref;
            for (const auto& f : dj) ref.push_back(*parse_frame(f.get<std::string>()));
            if (!ref.empty() && ref.back().raw_pc) {
                ASSERT_TRUE(bt.user_regs);
                EXPECT_EQ(bt.user_regs->rip, *ref.back().raw_pc);
                ref.pop_back();
            }
            ASSERT_EQ(bt.frames.size(), ref.size());
            for (std::size_t i = 0; i < ref.size(); ++i)
                EXPECT_TRUE(same_frame(**k, bt.frames[i], ref[i]))
                    << "frame " << i << ": " << text(bt.frames[i]) << " vs drgn " << dj[i];
        }
        // Printed text equals /proc's (including sizes and [module]) for nearly all frames; the
        // exceptions are aliases like entry_SYSCALL_64_after_hwframe when ELF symbols are used.
        EXPECT_GE(exact_text * 10, frames_compared * 8) << exact_text << " of " << frames_compared;
        checked += static_cast<int>(blocked.size());
    }
    EXPECT_GT(checked, 0);
}

INSTANTIATE_TEST_SUITE_P(Sources,
                         BacktraceDumps,
                         ::testing::Values(Config{"VmlinuxOrc", true, OrcSource::kVmlinux},
                                           Config{"MemoryOrc", true, OrcSource::kMemory},
                                           Config{"NoVmlinux", false, OrcSource::kAuto}),
                         [](const auto& p) { return p.param.name; });

// Every task of every dump: a backtrace without error, and how long it takes.
TEST(BacktraceDumpsAllTasks, EveryTaskUnwindsCleanly) {
    auto dumps = lockhound::testing::all_truth_dumps();
    if (dumps.empty()) GTEST_SKIP() << "no shared dumps (../shared/dumps)";
    for (const auto& d : dumps) {
        SCOPED_TRACE(d.name());
        auto vmlinux = lockhound::testing::vmlinux_for(d.release);
        OpenOptions oo{.dump_path = d.vmcores.front()};
        if (vmlinux)
            oo.vmlinux_path = *vmlinux;
        else
            oo.no_vmlinux = true;
        auto k = Kernel::open(oo);
        ASSERT_TRUE(k) << k.error().describe();
        const auto& tasks = (*k)->tasks();
        ASSERT_FALSE(tasks.empty());
        auto t0 = std::chrono::steady_clock::now();
        auto u = TaskUnwinder::create(**k);
        ASSERT_TRUE(u) << u.error().describe();
        auto t1 = std::chrono::steady_clock::now();
        std::size_t errors = 0, frames = 0, complete = 0, on_cpu = 0;
        std::string first_errors;
        for (const auto& t : tasks) {
            if (t.cpu_regs) {
                // A running task may be on its CPU's IRQ or exception stacks too. The IRQ stack's
                // top word is the task SP saved by the last interrupt: a kernel address.
                auto stacks = (*u)->stacks_of(t);
                std::size_t irq = 0, exception = 0;
                for (const auto& s : stacks) {
                    if (s.kind == StackKind::kIrq) {
                        ++irq;
                        EXPECT_EQ(s.high - s.low, 16384u);
                        auto top = (*k)->memory().read_u64(s.high - 8);
                        ASSERT_TRUE(top) << top.error().describe();
                        EXPECT_GE(*top, 0xffff800000000000u);
                    }
                    if (s.kind == StackKind::kException) ++exception;
                }
                EXPECT_EQ(irq, 1u) << "pid " << t.pid << " cpu " << t.cpu;
                EXPECT_GE(exception, 4u) << "NMI, #DF, #DB, #MC stacks";
            }
            Backtrace bt = (*u)->backtrace(t);
            frames += bt.frames.size();
            if (bt.complete) ++complete;
            if (t.cpu_regs) ++on_cpu;
            if (bt.error) {
                ++errors;
                if (errors <= 5)
                    first_errors +=
                        fmt::format("pid {} ({}): {}\n", t.pid, t.comm, bt.error->describe());
            }
        }
        auto t2 = std::chrono::steady_clock::now();
        auto ms = [](auto a, auto b) {
            return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
        };
        std::printf(
            "%s: %zu tasks (%zu on a CPU), %zu frames, %zu complete, %zu errors; ORC load %lld ms, "
            "unwind %lld ms\n",
            d.name().c_str(),
            tasks.size(),
            on_cpu,
            frames,
            complete,
            errors,
            static_cast<long long>(ms(t0, t1)),
            static_cast<long long>(ms(t1, t2)));
        EXPECT_EQ(errors, 0u) << first_errors;
        EXPECT_EQ(complete, tasks.size());
        EXPECT_GE(frames, tasks.size() * 3);
    }
}

}  // namespace
}  // namespace lockhound::kernel
