// The unwinder on hand-built stacks in FakeMemory, with ORC tables encoded in each format.
#include "kernel/unwinder.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>

#include "kernel/backtrace_format.h"
#include "support/fake_memory.h"
#include "unit/kernel/orc_test_util.h"

namespace lockhound::kernel {
namespace {

using orc_test::call_entry;

constexpr std::uint64_t kText = 0xffffffff81000000;
constexpr std::uint64_t kModText = 0xffffffffc0000000;
constexpr std::uint64_t kNoOrcText = 0xffffffffc0010000;  // a module without ORC tables
constexpr std::uint64_t kStack = 0xffffc90000010000;
constexpr std::uint64_t kIrqStack = 0xffff88800fc00000;
constexpr std::uint64_t kStackSize = 0x4000;
constexpr std::uint64_t kIpTable = 0xffffffff82c5f474;
constexpr std::uint64_t kModIpTable = 0xffffffffc0005000;

struct Fn {
    std::string name;
    std::uint64_t addr;
    std::uint64_t size;
    std::int16_t frame;  // CFA = SP + frame over the whole function (0: special, see below)
    std::string module;
};

// Functions are laid out back to back, so each one's size is also the distance to the next
// symbol (what the symbol table reports, as kallsyms does).
const std::vector<Fn>& functions() {
    static const std::vector<Fn> fns = [] {
        std::vector<Fn> v = {
            {"__schedule", 0, 0x9f3, 0x40, ""},
            {"schedule", 0, 0xc7, 0x18, ""},
            {"schedule_preempt_disabled", 0, 0x1d, 0x10, ""},
            {"__mutex_lock.constprop.0", 0, 0x713, 0x70, ""},
            {"kthread", 0, 0x100, 0x30, ""},
            {"ret_from_fork", 0, 0x30, 0, ""},
            {"entry_SYSCALL_64", 0, 0x1ab, 0, ""},
            {"do_syscall_64", 0, 0xb0, 0x18, ""},
            {"vm_mmap_pgoff", 0, 0x180, 0x50, ""},
            {"down_write_killable", 0, 0x7a, 0x18, ""},
            {"rwsem_down_write_slowpath", 0, 0x6ec, 0x58, ""},
            {"asm_exc_page_fault", 0, 0x30, 0, ""},
            {"exc_page_fault", 0, 0x170, 0x20, ""},
            {"default_idle", 0, 0x20, 0x8, ""},
            {"do_idle", 0, 0x200, 0x30, ""},
            {"secondary_startup_64", 0, 0x40, 0, ""},
            {"asm_sysvec_apic_timer_interrupt", 0, 0x20, 0, ""},
            {"sysvec_apic_timer_interrupt", 0, 0x90, 0, ""},
            {"__sysvec_apic_timer_interrupt", 0, 0x100, 0x18, ""},
            {"recurse", 0, 0x40, 0x10, ""},
            {"spin", 0, 0x40, 0, ""},
            {"bp_based", 0, 0x40, 0, ""},
            {"lb_thread.cold", 0, 0x11d, 0x28, "lockbomb"},
            {"lb_hang", 0, 0x5b, 0x10, "lockbomb"},
            {"nofp_fn", 0, 0x80, 0, "noorc"},
        };
        std::map<std::string, std::uint64_t> next = {
            {"", kText + 0x1000}, {"lockbomb", kModText + 0x1000}, {"noorc", kNoOrcText + 0x100}};
        for (auto& f : v) {
            f.addr = next[f.module];
            next[f.module] += f.size;
        }
        return v;
    }();
    return fns;
}

const Fn& fn(std::string_view name) {
    for (const auto& f : functions())
        if (f.name == name) return f;
    throw std::runtime_error("no test function " + std::string(name));
}

std::uint64_t at(std::string_view name, std::uint64_t off) {
    return fn(name).addr + off;
}

using Rows = std::vector<std::pair<std::uint64_t, OrcEntry>>;

Rows kernel_rows() {
    Rows rows;
    for (const auto& f : functions()) {
        if (!f.module.empty()) continue;
        if (f.name == "ret_from_fork" || f.name == "secondary_startup_64") {
            rows.push_back({f.addr, orc_test::end_entry()});
        } else if (f.name == "entry_SYSCALL_64" || f.name == "asm_exc_page_fault" ||
                   f.name == "asm_sysvec_apic_timer_interrupt") {
            rows.push_back({f.addr, orc_test::regs_entry(0)});
        } else if (f.name == "sysvec_apic_timer_interrupt") {
            // The call on the IRQ stack: the old SP was saved at the top of the IRQ stack.
            rows.push_back({f.addr, call_entry(8)});
            rows.push_back({f.addr + 0x3b, call_entry(8, OrcReg::kSpIndirect)});
            rows.push_back({f.addr + 0x48, call_entry(8)});
        } else if (f.name == "spin") {
            rows.push_back({f.addr, call_entry(0)});  // CFA = SP: no progress
        } else if (f.name == "bp_based") {
            rows.push_back({f.addr, call_entry(16, OrcReg::kBp, OrcReg::kPrevSp, -16)});
        } else {
            rows.push_back({f.addr, call_entry(f.frame)});
        }
        rows.push_back({f.addr + f.size, orc_test::undefined_entry()});
    }
    return rows;
}

Rows module_rows() {
    Rows rows;
    for (const auto& f : functions()) {
        if (f.module != "lockbomb") continue;
        rows.push_back({f.addr, call_entry(f.frame)});
        rows.push_back({f.addr + f.size, orc_test::undefined_entry()});
    }
    return rows;
}

class UnwinderTest : public ::testing::TestWithParam<OrcFormat> {
  protected:
    void SetUp() override {
        OrcFormat f = GetParam();
        auto kr = orc_test::make_raw_tables(kIpTable, kernel_rows(), f);
        auto k = OrcTable::from_raw(kIpTable, kr.ips, kr.orcs, f, "vmlinux");
        ASSERT_TRUE(k) << k.error().describe();
        k->set_lookup_blocks(kText, kText + 0x10000);
        tables_.set_kernel(std::move(*k));
        auto mr = orc_test::make_raw_tables(kModIpTable, module_rows(), f);
        auto m = OrcTable::from_raw(kModIpTable, mr.ips, mr.orcs, f, "lockbomb");
        ASSERT_TRUE(m) << m.error().describe();
        tables_.add_module(std::move(*m), kModText, kModText + 0x2000);

        for (const auto& fn : functions())
            symbols_.add(
                {.address = fn.addr, .size = fn.size, .name = fn.name, .module = fn.module});
        symbols_.finalize();

        mem_.map(kStack, kStackSize);
        mem_.map(kIrqStack, kStackSize);
        unwinder_ = std::make_unique<Unwinder>(mem_, symbols_, tables_);
        unwinder_->add_text(kText, kText + 0x10000, "");
        unwinder_->add_text(kModText, kModText + 0x2000, "lockbomb");
        unwinder_->add_text(kNoOrcText, kNoOrcText + 0x1000, "noorc");
        unwinder_->add_fork_entry(fn("ret_from_fork").addr);
    }

    // Writes the return addresses of a chain of frames whose first SP is sp; returns the SP of
    // the last frame. Each frame's CFA is its SP + the function's frame size.
    std::uint64_t chain(std::uint64_t sp,
                        const std::vector<std::pair<std::string, std::uint64_t>>& frames) {
        for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
            std::uint64_t cfa = sp + static_cast<std::uint64_t>(fn(frames[i].first).frame);
            mem_.put_u64(cfa - 8, at(frames[i + 1].first, frames[i + 1].second));
            sp = cfa;
        }
        return sp;
    }

    // A 7-word inactive_task_frame at saved_sp returning to pc.
    void inactive_frame(std::uint64_t saved_sp, std::uint64_t pc, std::uint64_t bp = 0x1234) {
        for (int i = 0; i < 5; ++i)
            mem_.put_u64(saved_sp + 8 * static_cast<std::uint64_t>(i), 0x1111 * (i + 1));
        mem_.put_u64(saved_sp + 40, bp);
        mem_.put_u64(saved_sp + 48, pc);
    }

    static std::vector<StackRegion> task_stack() {
        return {{kStack, kStack + kStackSize, StackKind::kTask}};
    }

    static std::vector<std::string> names(const Backtrace& bt) {
        std::vector<std::string> out;
        for (const auto& f : bt.frames)
            out.push_back(f.symbol() + (f.module.empty() ? "" : " [" + f.module + "]"));
        return out;
    }

    // The kthread-waiting-for-a-mutex stack; returns saved_sp.
    std::uint64_t build_mutex_waiter() {
        std::uint64_t saved_sp = kStack + 0x3e00;
        inactive_frame(saved_sp, at("__schedule", 0x34d));
        chain(saved_sp + 56,
              {{"__schedule", 0x34d},
               {"schedule", 0x5a},
               {"schedule_preempt_disabled", 0x11},
               {"__mutex_lock.constprop.0", 0x39d},
               {"lb_thread.cold", 0x114},
               {"kthread", 0xda},
               {"ret_from_fork", 0x22}});
        return saved_sp;
    }

    lockhound::testing::FakeMemory mem_;
    debuginfo::SymbolTable symbols_;
    OrcTables tables_;
    std::unique_ptr<Unwinder> unwinder_;
};

TEST_P(UnwinderTest, SleepingKernelThreadWaitingForAMutex) {
    std::uint64_t saved_sp = build_mutex_waiter();
    Backtrace bt = unwinder_->unwind_inactive(saved_sp, 56, task_stack(), {});
    ASSERT_FALSE(bt.error) << bt.error->describe();
    EXPECT_TRUE(bt.complete);
    EXPECT_FALSE(bt.user_regs);
    EXPECT_TRUE(bt.reliable());
    std::vector<std::string> want = {"__schedule+0x34d/0x9f3",
                                     "schedule+0x5a/0xc7",
                                     "schedule_preempt_disabled+0x11/0x1d",
                                     "__mutex_lock.constprop.0+0x39d/0x713",
                                     "lb_thread.cold+0x114/0x11d [lockbomb]",
                                     "kthread+0xda/0x100",
                                     "ret_from_fork+0x22/0x30"};
    EXPECT_EQ(names(bt), want);
    ASSERT_EQ(bt.frames.size(), 7u);
    EXPECT_EQ(bt.frames[0].reliability, FrameReliability::kStart);
    EXPECT_EQ(bt.frames[1].reliability, FrameReliability::kOrc);
    EXPECT_EQ(bt.frames[0].sp, saved_sp + 56);
    EXPECT_EQ(bt.frames[0].cfa, saved_sp + 56 + 0x40);
    EXPECT_EQ(bt.frames[1].sp, bt.frames[0].cfa);
    EXPECT_EQ(bt.frames[4].module, "lockbomb");
    EXPECT_EQ(bt.frames[4].pc, at("lb_thread.cold", 0x114));
    EXPECT_EQ(bt.find("kthread"), 5);
    EXPECT_EQ(bt.find("nothing"), -1);
}

TEST_P(UnwinderTest, ReturnAddressAtAFunctionsEndNamesThatFunction) {
    // A noreturn call as the last instruction: pc == end of the function. pc-1 names it, the
    // printed offset is pc's own (lb_thread.cold+0x11d/0x11d, as %pB prints it).
    std::uint64_t saved_sp = kStack + 0x3f00;
    inactive_frame(saved_sp, at("__schedule", 0x34d));
    chain(saved_sp + 56,
          {{"__schedule", 0x34d},
           {"lb_thread.cold", 0x11d},
           {"kthread", 0xda},
           {"ret_from_fork", 0x22}});
    Backtrace bt = unwinder_->unwind_inactive(saved_sp, 56, task_stack(), {});
    ASSERT_FALSE(bt.error) << bt.error->describe();
    ASSERT_EQ(bt.frames.size(), 4u);
    EXPECT_EQ(bt.frames[1].symbol(), "lb_thread.cold+0x11d/0x11d");
    EXPECT_TRUE(bt.complete);
}

TEST_P(UnwinderTest, UserTaskEndsAtTheSyscallRegisters) {
    const std::uint64_t regs_at = kStack + kStackSize - kPtRegsSize;
    std::vector<std::pair<std::string, std::uint64_t>> frames = {
        {"__schedule", 0x34d},
        {"schedule", 0x5a},
        {"rwsem_down_write_slowpath", 0x315},
        {"down_write_killable", 0x60},
        {"vm_mmap_pgoff", 0xb3},
        {"do_syscall_64", 0x5d},
        {"entry_SYSCALL_64", 0xa6}};
    std::uint64_t total = 0;
    for (std::size_t i = 0; i + 1 < frames.size(); ++i)
        total += static_cast<std::uint64_t>(fn(frames[i].first).frame);
    std::uint64_t saved_sp = regs_at - total - 56;
    inactive_frame(saved_sp, at("__schedule", 0x34d));
    ASSERT_EQ(chain(saved_sp + 56, frames), regs_at);
    dump::X86Regs user;
    user.rip = 0x4359d3;
    user.cs = 0x33;
    user.rsp = 0x7ffc0000fe40;
    user.ss = 0x2b;
    user.eflags = 0x246;
    user.orig_rax = 9;
    user.rax = 0xffffffffffffffda;
    user.rdi = 0x1000;
    std::uint64_t words[21] = {user.r15,    user.r14, user.r13, user.r12,      user.rbp, user.rbx,
                               user.r11,    user.r10, user.r9,  user.r8,       user.rax, user.rcx,
                               user.rdx,    user.rsi, user.rdi, user.orig_rax, user.rip, user.cs,
                               user.eflags, user.rsp, user.ss};
    mem_.put(regs_at, words, sizeof words);

    Backtrace bt = unwinder_->unwind_inactive(saved_sp, 56, task_stack(), {});
    ASSERT_FALSE(bt.error) << bt.error->describe();
    EXPECT_TRUE(bt.complete);
    ASSERT_EQ(bt.frames.size(), 7u);
    EXPECT_EQ(bt.frames[6].symbol(), "entry_SYSCALL_64+0xa6/0x1ab");
    EXPECT_TRUE(bt.frames[6].exception_frame);
    ASSERT_TRUE(bt.user_regs);
    EXPECT_EQ(bt.user_regs->rip, 0x4359d3u);
    EXPECT_EQ(bt.user_regs->rsp, 0x7ffc0000fe40u);
    EXPECT_EQ(bt.user_regs->orig_rax, 9u);
    EXPECT_EQ(bt.user_regs->rdi, 0x1000u);
    EXPECT_FALSE(bt.user_regs_partial);

    auto lines = format_backtrace(bt);
    ASSERT_GE(lines.size(), 14u);
    EXPECT_EQ(lines[0], fmt::format(" #0  [{:016x}] __schedule+0x34d/0x9f3", saved_sp + 56));
    EXPECT_NE(std::find(lines.begin(),
                        lines.end(),
                        "    RIP: 00000000004359d3  RSP: 00007ffc0000fe40  RFLAGS: 00000246"),
              lines.end());
    EXPECT_NE(
        std::find(lines.begin(), lines.end(), "    ORIG_RAX: 0000000000000009  CS: 0033  SS: 002b"),
        lines.end());
}

TEST_P(UnwinderTest, RunningTaskCrossesIrqStackAndKernelPtRegs) {
    // The CPU was in a timer interrupt handler on the IRQ stack, which interrupted the idle loop.
    const std::uint64_t tos = kIrqStack + kStackSize - 8;  // where the old SP is saved
    const std::uint64_t old_sp = kStack + 0x3c00;          // task SP when the interrupt came
    const std::uint64_t idle_sp = kStack + 0x3e00;         // SP inside default_idle
    mem_.put_u64(tos, old_sp);
    mem_.put_u64(tos - 8, at("sysvec_apic_timer_interrupt", 0x40));
    mem_.put_u64(old_sp, at("asm_sysvec_apic_timer_interrupt", 0x1a));
    dump::X86Regs k;
    k.rip = at("default_idle", 0x5);
    k.cs = 0x10;
    k.rsp = idle_sp;
    k.ss = 0x18;
    k.eflags = 0x246;
    k.rbp = 0x77;
    std::uint64_t words[21] = {0, 0, 0, 0, k.rbp, 0,     0,    0,        0,     0,   0,
                               0, 0, 0, 0, ~0ull, k.rip, k.cs, k.eflags, k.rsp, k.ss};
    mem_.put(old_sp + 8, words, sizeof words);
    chain(idle_sp, {{"default_idle", 0x5}, {"do_idle", 0x1a0}, {"secondary_startup_64", 0x20}});

    dump::X86Regs cpu;
    cpu.rip = at("__sysvec_apic_timer_interrupt", 0x30);
    cpu.rsp = tos - 0x18;
    cpu.cs = 0x10;
    std::vector<StackRegion> stacks = {{kStack, kStack + kStackSize, StackKind::kTask},
                                       {kIrqStack, kIrqStack + kStackSize, StackKind::kIrq}};
    Backtrace bt = unwinder_->unwind_regs(cpu, stacks, {});
    ASSERT_FALSE(bt.error) << bt.error->describe();
    EXPECT_TRUE(bt.complete);
    std::vector<std::string> want = {"__sysvec_apic_timer_interrupt+0x30/0x100",
                                     "sysvec_apic_timer_interrupt+0x40/0x90",
                                     "asm_sysvec_apic_timer_interrupt+0x1a/0x20",
                                     "default_idle+0x5/0x20",
                                     "do_idle+0x1a0/0x200",
                                     "secondary_startup_64+0x20/0x40"};
    EXPECT_EQ(names(bt), want);
    ASSERT_EQ(bt.frames.size(), 6u);
    EXPECT_TRUE(bt.frames[0].pc_is_exact);
    EXPECT_EQ(bt.frames[0].stack, StackKind::kIrq);
    EXPECT_EQ(bt.frames[1].stack, StackKind::kIrq);
    EXPECT_EQ(bt.frames[2].stack, StackKind::kTask);
    EXPECT_TRUE(bt.frames[2].exception_frame);
    ASSERT_TRUE(bt.frames[2].regs);
    EXPECT_EQ(bt.frames[2].regs->rip, at("default_idle", 0x5));
    EXPECT_TRUE(bt.frames[3].pc_is_exact);
    EXPECT_FALSE(bt.user_regs);
    auto lines = format_backtrace(bt);
    EXPECT_NE(std::find(lines.begin(), lines.end(), " --- <IRQ stack> ---"), lines.end());
}

TEST_P(UnwinderTest, TaskInUserModeHasOnlyUserRegisters) {
    dump::X86Regs cpu;
    cpu.rip = 0x401000;
    cpu.cs = 0x33;
    cpu.rsp = 0x7ffc00001000;
    Backtrace bt = unwinder_->unwind_regs(cpu, task_stack(), {});
    EXPECT_TRUE(bt.frames.empty());
    ASSERT_TRUE(bt.user_regs);
    EXPECT_EQ(bt.user_regs->rip, 0x401000u);
    EXPECT_TRUE(bt.complete);
    EXPECT_FALSE(bt.error);
}

INSTANTIATE_TEST_SUITE_P(
    AllFormats,
    UnwinderTest,
    ::testing::Values(OrcFormat::kV1, OrcFormat::kV2, OrcFormat::kV3, OrcFormat::kV4),
    [](const auto& p) { return "v" + std::to_string(static_cast<int>(p.param)); });

// The rest does not depend on the format: v1, the format of the shared dumps.
class UnwinderV1Test : public UnwinderTest {};
INSTANTIATE_TEST_SUITE_P(V1, UnwinderV1Test, ::testing::Values(OrcFormat::kV1));

TEST_P(UnwinderV1Test, GarbageReturnAddressEndsWithAMarkedError) {
    std::uint64_t saved_sp = build_mutex_waiter();
    // schedule's return slot (its CFA - 8) holds garbage.
    std::uint64_t schedule_cfa = saved_sp + 56 + 0x40 + 0x18;
    mem_.put_u64(schedule_cfa - 8, 0x4141414141414141);
    Backtrace bt = unwinder_->unwind_inactive(saved_sp, 56, task_stack(), {});
    ASSERT_TRUE(bt.error);
    EXPECT_EQ(bt.error->kind, ErrorKind::kBadData);
    EXPECT_TRUE(bt.error->has_address);
    EXPECT_EQ(bt.error->address, 0x4141414141414141u);
    EXPECT_FALSE(bt.complete);
    ASSERT_EQ(bt.frames.size(), 2u);
    EXPECT_EQ(bt.frames[1].function, "schedule");
    auto lines = format_backtrace(bt);
    EXPECT_NE(lines.back().find("backtrace stopped"), std::string::npos);
}

TEST_P(UnwinderV1Test, NoProgressIsALoop) {
    std::uint64_t saved_sp = kStack + 0x3000;
    inactive_frame(saved_sp, at("spin", 0x10));
    mem_.put_u64(saved_sp + 56 - 8, at("spin", 0x10));  // CFA-8 of spin is the frame's last word
    Backtrace bt = unwinder_->unwind_inactive(saved_sp, 56, task_stack(), {});
    ASSERT_TRUE(bt.error);
    EXPECT_NE(bt.error->message.find("wrong way"), std::string::npos) << bt.error->message;
    EXPECT_EQ(bt.frames.size(), 1u);
}

TEST_P(UnwinderV1Test, DeepRecursionHitsTheFrameLimit) {
    std::uint64_t saved_sp = kStack + 0x100;
    inactive_frame(saved_sp, at("recurse", 0x10));
    for (std::uint64_t a = saved_sp + 56; a + 16 <= kStack + kStackSize; a += 16)
        mem_.put_u64(a + 8, at("recurse", 0x10));
    Backtrace bt = unwinder_->unwind_inactive(saved_sp, 56, task_stack(), {});
    ASSERT_TRUE(bt.error);
    EXPECT_EQ(bt.error->kind, ErrorKind::kLimit);
    EXPECT_EQ(bt.frames.size(), 256u);

    UnwindOptions small;
    small.max_frames = 3;
    bt = unwinder_->unwind_inactive(saved_sp, 56, task_stack(), small);
    ASSERT_TRUE(bt.error);
    EXPECT_EQ(bt.error->kind, ErrorKind::kLimit);
    EXPECT_EQ(bt.frames.size(), 3u);
}

TEST_P(UnwinderV1Test, StackPointerLeavingTheStackIsAnError) {
    std::uint64_t saved_sp = kStack + 0x2000;
    // bp_based: CFA = BP + 16, and BP points far outside the task's stack.
    inactive_frame(saved_sp, at("bp_based", 0x10), 0xffff888012345678);
    Backtrace bt = unwinder_->unwind_inactive(saved_sp, 56, task_stack(), {});
    ASSERT_TRUE(bt.error);
    EXPECT_TRUE(bt.error->has_address);
    EXPECT_EQ(bt.error->address, 0xffff888012345678u + 16 - 8);
    EXPECT_EQ(bt.frames.size(), 1u);
    EXPECT_FALSE(bt.complete);
}

TEST_P(UnwinderV1Test, SavedStackPointerOutsideTheStack) {
    Backtrace bt = unwinder_->unwind_inactive(kStack - 0x100, 56, task_stack(), {});
    ASSERT_TRUE(bt.error);
    EXPECT_EQ(bt.error->address, kStack - 0x100);
    EXPECT_TRUE(bt.frames.empty());
    bt = unwinder_->unwind_inactive(kStack + 0x100, 7, task_stack(), {});
    ASSERT_TRUE(bt.error);
    EXPECT_NE(bt.error->message.find("implausible"), std::string::npos);
}

TEST_P(UnwinderV1Test, MissingStackPageEndsWithTheFaultAddress) {
    lockhound::testing::FakeMemory split;
    for (std::uint64_t p = kStack; p < kStack + kStackSize; p += 4096) split.map(p, 4096);
    // Rebuild the mutex waiter across a page boundary in the split memory.
    Unwinder u(split, symbols_, tables_);
    u.add_text(kText, kText + 0x10000, "");
    u.add_text(kModText, kModText + 0x2000, "lockbomb");
    std::uint64_t saved_sp = kStack + 0x2f80;
    std::uint64_t sp = saved_sp + 56;
    auto put = [&](std::uint64_t a, std::uint64_t v) { split.put_u64(a, v); };
    put(saved_sp + 48, at("__schedule", 0x34d));
    std::vector<std::pair<std::string, std::uint64_t>> frames = {
        {"__schedule", 0x34d},
        {"schedule", 0x5a},
        {"__mutex_lock.constprop.0", 0x39d},
        {"kthread", 0xda},
        {"ret_from_fork", 0x22}};
    for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
        sp += static_cast<std::uint64_t>(fn(frames[i].first).frame);
        put(sp - 8, at(frames[i + 1].first, frames[i + 1].second));
    }
    Backtrace ok = u.unwind_inactive(saved_sp, 56, task_stack(), {});
    ASSERT_FALSE(ok.error) << ok.error->describe();
    EXPECT_EQ(ok.frames.size(), 5u);
    split.unmap(kStack + 0x3000);  // the page holding the upper frames
    Backtrace bt = u.unwind_inactive(saved_sp, 56, task_stack(), {});
    ASSERT_TRUE(bt.error);
    EXPECT_EQ(bt.error->kind, ErrorKind::kUnmapped);
    EXPECT_GE(bt.error->address, kStack + 0x3000);
    EXPECT_LT(bt.error->address, kStack + 0x4000);
    EXPECT_GE(bt.frames.size(), 1u);
    EXPECT_LT(bt.frames.size(), 5u);
}

TEST_P(UnwinderV1Test, NoOrcEntryFollowsAPlausibleFramePointer) {
    std::uint64_t saved_sp = kStack + 0x3d00;
    std::uint64_t nofp_sp =
        chain(saved_sp + 56, {{"__schedule", 0x34d}, {"schedule", 0x5a}, {"nofp_fn", 0x20}});
    // nofp_fn keeps a frame pointer: [saved bp][return address] at bp.
    std::uint64_t bp = nofp_sp + 0x20;
    inactive_frame(saved_sp, at("__schedule", 0x34d), bp);
    mem_.put_u64(bp, 0);
    mem_.put_u64(bp + 8, at("kthread", 0xda));
    chain(bp + 16, {{"kthread", 0xda}, {"ret_from_fork", 0x22}});
    Backtrace bt = unwinder_->unwind_inactive(saved_sp, 56, task_stack(), {});
    ASSERT_FALSE(bt.error) << bt.error->describe();
    ASSERT_EQ(bt.frames.size(), 5u);
    EXPECT_EQ(bt.frames[2].symbol(), "nofp_fn+0x20/0x80");
    EXPECT_EQ(bt.frames[2].module, "noorc");
    EXPECT_EQ(bt.frames[3].function, "kthread");
    EXPECT_EQ(bt.frames[3].reliability, FrameReliability::kFramePointer);
    EXPECT_EQ(bt.frames[4].reliability, FrameReliability::kOrc);
    EXPECT_TRUE(bt.complete);
    EXPECT_FALSE(bt.reliable());
    ASSERT_EQ(bt.notes.size(), 1u);
    EXPECT_NE(bt.notes[0].find("frame pointer"), std::string::npos);
}

TEST_P(UnwinderV1Test, NoOrcEntryAndNoFramePointerScansTheStack) {
    std::uint64_t saved_sp = kStack + 0x3d00;
    std::uint64_t nofp_sp =
        chain(saved_sp + 56, {{"__schedule", 0x34d}, {"schedule", 0x5a}, {"nofp_fn", 0x20}});
    inactive_frame(saved_sp, at("__schedule", 0x34d), 0);
    mem_.put_u64(nofp_sp + 0x08, 0xffff888001234567);  // data, not code
    mem_.put_u64(nofp_sp + 0x18, at("kthread", 0xda));
    mem_.put_u64(nofp_sp + 0x40, at("ret_from_fork", 0x22));
    Backtrace bt = unwinder_->unwind_inactive(saved_sp, 56, task_stack(), {});
    EXPECT_FALSE(bt.error);
    EXPECT_FALSE(bt.complete);
    ASSERT_EQ(bt.frames.size(), 5u);
    EXPECT_EQ(bt.frames[3].function, "kthread");
    EXPECT_EQ(bt.frames[3].reliability, FrameReliability::kStackScan);
    EXPECT_EQ(bt.frames[3].sp, nofp_sp + 0x20);
    EXPECT_EQ(bt.frames[4].function, "ret_from_fork");
    EXPECT_EQ(bt.frames[4].reliability, FrameReliability::kStackScan);
    auto lines = format_backtrace(bt);
    EXPECT_NE(lines[3].find("? kthread+0xda/0x100"), std::string::npos) << lines[3];

    UnwindOptions strict;
    strict.fallback = false;
    bt = unwinder_->unwind_inactive(saved_sp, 56, task_stack(), strict);
    ASSERT_TRUE(bt.error);
    EXPECT_EQ(bt.error->kind, ErrorKind::kNotFound);
    EXPECT_EQ(bt.frames.size(), 3u);
}

TEST_P(UnwinderV1Test, Linux419FrameWithFlagsFirst) {
    std::uint64_t saved_sp = build_mutex_waiter() - 8;  // one more word (flags) below
    mem_.put_u64(saved_sp, 0x246);
    for (std::uint64_t size : {std::uint64_t{0}, std::uint64_t{64}}) {
        // The 7-word layout's "ret_addr" slot now holds bp (not code), so size 0 finds 8 words.
        mem_.put_u64(saved_sp + 48, 0x1234);
        mem_.put_u64(saved_sp + 56, at("__schedule", 0x34d));
        Backtrace bt = unwinder_->unwind_inactive(saved_sp, size, task_stack(), {});
        ASSERT_FALSE(bt.error) << bt.error->describe();
        EXPECT_EQ(bt.frames.size(), 7u);
        EXPECT_TRUE(bt.complete);
    }
}

TEST_P(UnwinderV1Test, CapturesRawWordsForEachFrame) {
    std::uint64_t saved_sp = build_mutex_waiter();
    UnwindOptions o;
    o.capture_words = true;
    Backtrace bt = unwinder_->unwind_inactive(saved_sp, 56, task_stack(), o);
    ASSERT_FALSE(bt.error);
    ASSERT_EQ(bt.frames.size(), 7u);
    EXPECT_EQ(bt.frames[0].words_start, saved_sp);
    ASSERT_EQ(bt.frames[0].words.size(), (56u + 0x40) / 8);
    EXPECT_EQ(bt.frames[0].words[6], at("__schedule", 0x34d));  // ret_addr of the saved frame
    EXPECT_EQ(bt.frames[0].words.back(), at("schedule", 0x5a));
    EXPECT_EQ(bt.frames[1].words_start, bt.frames[1].sp);
    EXPECT_EQ(bt.frames[1].words.size(), 0x18u / 8);
    // The last frame runs to the top of the stack.
    EXPECT_EQ(bt.frames[6].words_start + bt.frames[6].words.size() * 8, kStack + kStackSize);
    auto lines = format_backtrace(bt, {.words = true});
    EXPECT_EQ(lines[1],
              fmt::format("    {:016x}: 0000000000001111 0000000000002222 0000000000003333 "
                          "0000000000004444",
                          saved_sp));
}

}  // namespace
}  // namespace lockhound::kernel

namespace lockhound::kernel {
namespace {

// Stacks of random words, a third of them code addresses: every walk ends (error or not) within
// the frame limit, and never leaves the stacks it was given.
TEST_P(UnwinderV1Test, RandomStacksAlwaysTerminate) {
    std::uint64_t seed = 0x9e3779b97f4a7c15;
    auto next = [&] {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        return seed;
    };
    std::vector<std::uint64_t> code;
    for (const auto& f : functions()) code.push_back(f.addr + 1 + next() % f.size);
    std::vector<StackRegion> stacks = {{kStack, kStack + kStackSize, StackKind::kTask},
                                       {kIrqStack, kIrqStack + kStackSize, StackKind::kIrq}};
    std::size_t errors = 0, frames = 0;
    for (int round = 0; round < 300; ++round) {
        for (std::uint64_t base : {kStack, kIrqStack}) {
            for (std::uint64_t a = base; a < base + kStackSize; a += 8) {
                std::uint64_t r = next();
                std::uint64_t v = r % 3 == 0   ? code[r % code.size()]
                                  : r % 3 == 1 ? base + (r >> 8) % kStackSize
                                               : r;
                mem_.put_u64(a, v);
            }
        }
        std::uint64_t sp = kStack + (next() % (kStackSize / 8)) * 8;
        Backtrace a = unwinder_->unwind_inactive(sp, round % 2 ? 56 : 0, stacks, {});
        dump::X86Regs regs;
        regs.rip = code[next() % code.size()];
        regs.rsp = kIrqStack + (next() % (kStackSize / 8)) * 8;
        regs.rbp = next();
        Backtrace b = unwinder_->unwind_regs(regs, stacks, {});
        for (const Backtrace* bt : {&a, &b}) {
            ASSERT_LE(bt->frames.size(), 256u);
            EXPECT_TRUE(bt->error || bt->complete || !bt->frames.empty());
            if (bt->error) ++errors;
            frames += bt->frames.size();
            for (const auto& f : bt->frames) {
                bool on_stack = false;
                for (const auto& s : stacks) on_stack |= f.sp >= s.low && f.sp <= s.high;
                EXPECT_TRUE(on_stack) << std::hex << f.sp;
            }
        }
    }
    EXPECT_GT(errors, 0u);  // garbage is mostly rejected
    EXPECT_GT(frames, 600u);
}

}  // namespace
}  // namespace lockhound::kernel

namespace lockhound::kernel {
namespace {

// As the kernel's module kallsyms: the last text symbol of a module reaches to the end of the
// module's text, even when the next symbol (data) is further away.
TEST_P(UnwinderV1Test, ModuleSymbolSizeEndsWithTheModulesText) {
    symbols_.add({.address = kModText + 0x3000,
                  .size = 0,
                  .name = "lb_data",
                  .module = "lockbomb",
                  .type = 'd'});
    symbols_.finalize();
    std::uint64_t saved_sp = kStack + 0x3e00;
    inactive_frame(saved_sp, at("__schedule", 0x34d));
    chain(saved_sp + 56,
          {{"__schedule", 0x34d}, {"lb_hang", 0x10}, {"kthread", 0xda}, {"ret_from_fork", 0x22}});
    Backtrace bt = unwinder_->unwind_inactive(saved_sp, 56, task_stack(), {});
    ASSERT_FALSE(bt.error) << bt.error->describe();
    ASSERT_EQ(bt.frames.size(), 4u);
    EXPECT_EQ(bt.frames[1].function, "lb_hang");
    EXPECT_EQ(bt.frames[1].size, kModText + 0x2000 - fn("lb_hang").addr);
}

}  // namespace
}  // namespace lockhound::kernel
