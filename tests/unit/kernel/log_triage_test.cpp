// What triage reads from the kernel log: the panic message and the task that panicked, hung_task
// reports, soft lockups and RCU stalls. The lines are the kernel's own formats (kernel/panic.c,
// kernel/hung_task.c, lib/dump_stack.c, kernel/watchdog.c, kernel/rcu/tree_stall.h), including
// the awkward parts: task names with spaces and colons, 16-character names, CR and LF inside a
// record, and text that only looks like a report.
#include "kernel/triage.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lockhound::kernel {
namespace {

PrintkLog log_of(const std::vector<std::string>& lines) {
    PrintkLog log;
    std::uint64_t seq = 0;
    for (const auto& l : lines) {
        LogRecord r;
        r.seq = seq;
        r.ts_nsec = 1'000'000'000ull * ++seq;
        r.text = l;
        log.records.push_back(r);
    }
    return log;
}

TEST(LogTriage, HungTaskPanicAndThePanickingTask) {
    LogReports r = scan_log(log_of({
        "INFO: task lb_abba_1:148 blocked for more than 10 seconds.",
        "      Not tainted 6.1.0-56-amd64 #1 Debian 6.1.158-1",
        "INFO: task kworker/u257:2:236027 blocked for more than 120 seconds.",
        "INFO: task lb_abba_1:148 blocked for more than 20 seconds.",  // the same task again
        "Kernel panic - not syncing: hung_task: blocked tasks\n",
        "CPU: 1 PID: 29 Comm: khungtaskd Not tainted 6.1.0-56-amd64 #1  Debian 6.1.158-1",
    }));
    ASSERT_TRUE(r.panic_message);
    EXPECT_EQ(*r.panic_message, "hung_task: blocked tasks");
    EXPECT_EQ(r.panic_ts_nsec, 5'000'000'000ull);
    EXPECT_EQ(r.panic_cpu, 1);
    EXPECT_EQ(r.panic_pid, 29);
    EXPECT_EQ(r.panic_comm, "khungtaskd");
    ASSERT_EQ(r.hung_tasks.size(), 2u);
    EXPECT_EQ(r.hung_tasks[0].comm, "lb_abba_1");
    EXPECT_EQ(r.hung_tasks[0].pid, 148);
    EXPECT_EQ(r.hung_tasks[0].seconds, 10);
    // The name is the longest that fits before ":PID blocked": colons belong to it.
    EXPECT_EQ(r.hung_tasks[1].comm, "kworker/u257:2");
    EXPECT_EQ(r.hung_tasks[1].pid, 236027);
    EXPECT_EQ(r.hung_tasks[1].seconds, 120);
    EXPECT_TRUE(r.stalls.empty());
}

TEST(LogTriage, TaskNamesAtTheirLimits) {
    LogReports r = scan_log(log_of({
        "INFO: task 0123456789abcdef:7 blocked for more than 5 seconds.",   // 16 characters
        "INFO: task 0123456789abcdefX:8 blocked for more than 5 seconds.",  // 17: no match
        "INFO: task a b:9 blocked for more than 5 seconds.",
        "INFO: task :10 blocked for more than 5 seconds.",     // empty name: no match
        "INFO: task x\n:11 blocked for more than 5 seconds.",  // the name ends at the line
        "INFO: task y:12 blocked for more than  seconds.",     // no number
        "INFO: task INFO: task z:13 blocked for more than 3 seconds.",
        "Kernel panic - not syncing: first",
        "Kernel panic - not syncing: second\r\nwith more",
        "CPU: 0 PID: 1 Comm: a b c Tainted",  // the shortest name followed by a space
    }));
    ASSERT_EQ(r.hung_tasks.size(), 3u);
    EXPECT_EQ(r.hung_tasks[0].comm, "0123456789abcdef");
    EXPECT_EQ(r.hung_tasks[1].comm, "a b");
    EXPECT_EQ(r.hung_tasks[1].pid, 9);
    // The first "INFO: task " whose rest matches: the name runs into the second one.
    EXPECT_EQ(r.hung_tasks[2].comm, "INFO: task z");
    EXPECT_EQ(r.hung_tasks[2].pid, 13);
    ASSERT_TRUE(r.panic_message);
    EXPECT_EQ(*r.panic_message, "second") << "the last panic, up to the end of its line";
    EXPECT_EQ(r.panic_cpu, 0);
    EXPECT_EQ(r.panic_comm, "a");
}

TEST(LogTriage, CpuLineOnlyAfterThePanicAndOnlyAtTheStart) {
    LogReports r = scan_log(log_of({
        "CPU: 3 PID: 77 Comm: early Not tainted",  // before any panic: not the panicking task
        "Kernel panic - not syncing: Fatal exception",
        " CPU: 2 PID: 5 Comm: indented Not tainted",  // not at the start of the record
        "CPU: x PID: 5 Comm: bad Not tainted",
        "CPU: 2 PID: 6 Comm: 0123456789abcdefg Not tainted",  // no space within 16 characters
        "CPU: 2 PID: 7 Comm: swapper/2 Not tainted 6.12.117+deb12-amd64 #1",
        "CPU: 3 PID: 8 Comm: later Not tainted",  // only the first one counts
    }));
    EXPECT_EQ(*r.panic_message, "Fatal exception");
    EXPECT_EQ(r.panic_cpu, 2);
    EXPECT_EQ(r.panic_pid, 7);
    EXPECT_EQ(r.panic_comm, "swapper/2");
}

TEST(LogTriage, SoftLockupsAndRcuStalls) {
    LogReports r = scan_log(log_of({
        "watchdog: BUG: soft lockup - CPU#110 stuck for 22s! [kworker/u257:2:236027]",
        "watchdog: BUG: soft lockup - CPU# stuck for 22s!",  // no CPU number
        "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
        "rcu: \t1-...!: (0 ticks this GP) idle=f2c/0/0x0 softirq=1/1 fqs=0",
        "\t3-....: (2100 ticks this GP) idle=1a/1/0x4000000000000000",
        "rcu: \t(detected by 0, t=5252 jiffies, g=12345, q=67)",
        "Sending NMI from CPU 0 to CPUs 1:",
        "\t4-...: after the stall report: not a stalled CPU",
    }));
    ASSERT_EQ(r.stalls.size(), 4u);
    EXPECT_EQ(r.stalls[0].cpu, 110);
    EXPECT_EQ(r.stalls[1].cpu, -1);  // the RCU report's opening line names no CPU
    EXPECT_EQ(r.stalls[1].line, "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:");
    // tree_stall.h prints each stalled CPU as "\t%d-%c%c%c%c: ..." under kernel/rcu's pr_fmt.
    EXPECT_EQ(r.stalls[2].cpu, 1);
    EXPECT_EQ(r.stalls[2].line,
              "rcu: \t1-...!: (0 ticks this GP) idle=f2c/0/0x0 softirq=1/1 fqs=0");
    EXPECT_EQ(r.stalls[3].cpu, 3);
    EXPECT_EQ(r.stalls[3].line, "\t3-....: (2100 ticks this GP) idle=1a/1/0x4000000000000000");
    EXPECT_FALSE(r.panic_message);
    EXPECT_TRUE(r.hung_tasks.empty());
}

TEST(LogTriage, LongAndBinaryRecordsAreBounded) {
    std::string huge(100'000, 'A');
    huge += "INFO: task late:1 blocked for more than 1 seconds.";  // past the 4096 bytes read
    const char kBinary[] = "INFO: task \0\xff:2 blocked for more than 1 seconds.";
    std::string binary(kBinary, sizeof kBinary - 1);
    LogReports r = scan_log(log_of({huge, binary, "", "\n\n"}));
    ASSERT_EQ(r.hung_tasks.size(), 1u);
    EXPECT_EQ(r.hung_tasks[0].pid, 2);
    EXPECT_EQ(r.hung_tasks[0].comm, std::string("\0\xff", 2));
}

}  // namespace
}  // namespace lockhound::kernel
