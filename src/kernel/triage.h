// What the system was doing when it was dumped, as plain data: the panic (message, task, CPU),
// what each CPU ran, and the kernel log's own reports (hung tasks, soft lockups, RCU stalls).
//
//   PrintkLog log = read_printk_log(kernel);
//   LogReports reports = scan_log(log);                 // pure text scan
//   std::optional<PanicInfo> p = read_panic(kernel, reports);
//   std::vector<CpuActivity> cpus = read_cpus(kernel, reports);   // backtraces by the caller
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernel/printk_log.h"
#include "kernel/task.h"

namespace lockhound::kernel {

class Kernel;

struct HungTaskReport {  // "INFO: task lb_abba_1:98 blocked for more than 10 seconds."
    std::string comm;
    int pid = 0;
    int seconds = 0;
};

struct LogReports {
    std::optional<std::string> panic_message;  // of the last "Kernel panic - not syncing: ..."
    std::optional<std::uint64_t> panic_ts_nsec;
    // The "CPU: 1 PID: 29 Comm: khungtaskd ..." line after the panic message.
    std::optional<int> panic_cpu, panic_pid;
    std::string panic_comm;
    std::vector<HungTaskReport> hung_tasks;
    // Lines naming a soft lockup or RCU stall, with the CPU they name (-1: none named).
    struct Stall {
        int cpu = -1;
        std::string line;
    };
    std::vector<Stall> stalls;
};

LogReports scan_log(const PrintkLog& log);

struct PanicInfo {
    std::string message;  // "hung_task: blocked tasks", or "panic on CPU 1" when only that is known
    int cpu = -1;
    int pid = -1;
    std::string comm;
    std::vector<std::string> sources;  // "kernel log", "NT_PRSTATUS of CPU 1", "panic_cpu"
};

// nullopt when the dump was not taken by a panic (panic_cpu unset and no panic in the log).
std::optional<PanicInfo> read_panic(Kernel& kernel, const LogReports& reports);

struct CpuActivity {
    int cpu = 0;
    const Task* task = nullptr;  // nullptr when neither the notes nor the runqueue name one
    std::string task_source;     // "NT_PRSTATUS" or "runqueue curr"
    enum class Mode { kUnknown, kIdle, kKernel, kUser } mode = Mode::kUnknown;
    bool panicked = false;           // the CPU that called panic()
    std::vector<std::string> hints;  // soft lockup / RCU stall evidence
};

const char* to_string(CpuActivity::Mode mode);
std::vector<CpuActivity> read_cpus(Kernel& kernel,
                                   const LogReports& reports,
                                   const std::optional<PanicInfo>& panic);

}  // namespace lockhound::kernel
