#include "kernel/triage.h"

#include <charconv>
#include <regex>

#include <fmt/format.h>

#include "kernel/kernel.h"
#include "kernel/percpu.h"

namespace lockhound::kernel {

namespace {

std::optional<int> to_int(std::string_view s) {
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

}  // namespace

LogReports scan_log(const PrintkLog& log) {
    LogReports out;
    static const std::regex panic_re(R"(Kernel panic - not syncing: (.*))");
    static const std::regex cpu_re(R"(^CPU: ([0-9]+) PID: ([0-9]+) Comm: (.{1,16}?) )");
    static const std::regex hung_re(
        R"(INFO: task (.{1,16}):([0-9]+) blocked for more than ([0-9]+) seconds)");
    static const std::regex soft_re(R"(soft lockup - CPU#([0-9]+) stuck for)");
    static const std::regex rcu_cpu_re(R"(^\s*([0-9]+)-\.\.\.)");
    bool after_panic = false, in_rcu = false;
    for (const auto& r : log.records) {
        std::string_view text = r.text;
        while (!text.empty() && (text.back() == '\n')) text.remove_suffix(1);
        if (text.size() > 4096) text = text.substr(0, 4096);  // bounded regex work per record
        std::string line(text);
        std::smatch m;
        if (std::regex_search(line, m, panic_re)) {
            out.panic_message = m[1].str();
            out.panic_ts_nsec = r.ts_nsec;
            out.panic_cpu.reset(), out.panic_pid.reset(), out.panic_comm.clear();
            after_panic = true;
            continue;
        }
        if (after_panic && !out.panic_cpu && std::regex_search(line, m, cpu_re)) {
            out.panic_cpu = to_int(m[1].str());
            out.panic_pid = to_int(m[2].str());
            out.panic_comm = m[3].str();
            continue;
        }
        if (std::regex_search(line, m, hung_re)) {
            HungTaskReport h;
            h.comm = m[1].str();
            h.pid = to_int(m[2].str()).value_or(0);
            h.seconds = to_int(m[3].str()).value_or(0);
            bool seen = false;
            for (const auto& o : out.hung_tasks) seen = seen || o.pid == h.pid;
            if (!seen && out.hung_tasks.size() < 4096) out.hung_tasks.push_back(std::move(h));
            continue;
        }
        if (out.stalls.size() >= 256) continue;
        if (std::regex_search(line, m, soft_re)) {
            out.stalls.push_back({to_int(m[1].str()).value_or(-1), line});
            in_rcu = false;
        } else if (line.find("detected stalls on CPUs") != std::string::npos ||
                   line.find("self-detected stall on CPU") != std::string::npos ||
                   line.find("rcu: INFO") != std::string::npos) {
            out.stalls.push_back({-1, line});
            in_rcu = true;
        } else if (in_rcu && std::regex_search(line, m, rcu_cpu_re)) {
            // "rcu: \t1-...!: (0 ticks this GP) ..." names a stalled CPU.
            out.stalls.push_back({to_int(m[1].str()).value_or(-1), line});
        } else if (in_rcu && line.find("rcu:") == std::string::npos) {
            in_rcu = false;
        }
    }
    return out;
}

std::optional<PanicInfo> read_panic(Kernel& k, const LogReports& reports) {
    PanicInfo p;
    if (auto pc = k.symbols().address_of("panic_cpu")) {
        if (auto v = k.memory().read_u32(*pc);
            v && static_cast<std::int32_t>(*v) >= 0 && static_cast<std::int32_t>(*v) < 65536) {
            p.cpu = static_cast<std::int32_t>(*v);
            p.sources.push_back("panic_cpu");
        }
    }
    if (reports.panic_message) {
        p.message = *reports.panic_message;
        p.sources.push_back("kernel log");
        if (reports.panic_cpu && p.cpu < 0) p.cpu = *reports.panic_cpu;
    }
    if (p.cpu < 0 && !reports.panic_message) return std::nullopt;
    if (p.message.empty()) p.message = fmt::format("panic on CPU {}", p.cpu);
    // The crashing CPU's NT_PRSTATUS names its task (kdump's crash notes).
    const auto& cpus = k.dump().cpus;
    if (p.cpu >= 0) {
        for (const auto& c : cpus) {
            if (c.cpu != p.cpu || !c.pid || c.source != dump::CpuState::Source::kPrstatus || c.cr3)
                continue;
            p.pid = *c.pid;
            p.sources.push_back(fmt::format("NT_PRSTATUS of CPU {}", p.cpu));
        }
    }
    if (p.pid < 0 && reports.panic_pid && (!reports.panic_cpu || *reports.panic_cpu == p.cpu))
        p.pid = *reports.panic_pid;
    if (p.pid >= 0) {
        if (const Task* t = k.task_by_pid(p.pid); t && p.pid != 0) p.comm = t->comm;
        if (p.comm.empty() && reports.panic_pid && *reports.panic_pid == p.pid)
            p.comm = reports.panic_comm;
    }
    return p;
}

const char* to_string(CpuActivity::Mode m) {
    switch (m) {
        case CpuActivity::Mode::kIdle:
            return "idle";
        case CpuActivity::Mode::kKernel:
            return "kernel";
        case CpuActivity::Mode::kUser:
            return "user";
        default:
            return "unknown";
    }
}

std::vector<CpuActivity> read_cpus(Kernel& k,
                                   const LogReports& reports,
                                   const std::optional<PanicInfo>& panic) {
    std::vector<CpuActivity> out;
    int n = possible_cpu_count(k);
    const auto& tasks = k.tasks();
    auto rq_curr = k.offset_of("rq", "curr");
    // The soft-lockup watchdog's last touch per CPU (seconds of running_clock), against the
    // timekeeper's uptime: a CPU that stopped touching it for longer than the threshold is stuck.
    auto touch = k.symbols().address_of("watchdog_touch_ts");
    std::optional<std::int64_t> thresh;
    if (auto t = k.symbols().address_of("watchdog_thresh"))
        if (auto v = k.memory().read_u32(*t); v && *v < 3600) thresh = static_cast<int>(*v);
    for (int cpu = 0; cpu < n && cpu < 4096; ++cpu) {
        CpuActivity a;
        a.cpu = cpu;
        const dump::CpuState* note = nullptr;
        for (const auto& c : k.dump().cpus)
            if (c.cpu == cpu) note = &c;
        // QEMU's dump-guest-memory writes NT_PRSTATUS too, with the vCPU number as pid: only
        // a note without QEMU's CPU state beside it names the task.
        if (note && note->pid && note->source == dump::CpuState::Source::kPrstatus && !note->cr3) {
            for (const Task& t : tasks) {
                if (t.pid != *note->pid) continue;
                if (t.pid == 0 && !(t.is_idle && t.cpu == cpu)) continue;
                a.task = &t;
                a.task_source = "NT_PRSTATUS";
                break;
            }
        }
        if (!a.task && rq_curr) {
            if (auto rq = percpu_address(k, "runqueues", cpu))
                if (auto curr = k.memory().read_u64(*rq + *rq_curr))
                    if (const Task* t = k.task_by_address(*curr)) {
                        a.task = t;
                        a.task_source = "runqueue curr";
                    }
        }
        if (a.task) {
            if (a.task->is_idle)
                a.mode = CpuActivity::Mode::kIdle;
            else if (a.task->cpu_regs)
                a.mode = (a.task->cpu_regs->cs & 3) == 3 ? CpuActivity::Mode::kUser
                                                         : CpuActivity::Mode::kKernel;
            else if (note)
                a.mode = (note->regs.cs & 3) == 3 ? CpuActivity::Mode::kUser
                                                  : CpuActivity::Mode::kKernel;
        }
        a.panicked = panic && panic->cpu == cpu;
        for (const auto& s : reports.stalls)
            if (s.cpu == cpu) a.hints.push_back("log: " + s.line);
        if (touch && thresh && reports.panic_ts_nsec) {
            // The stamp is running_clock() >> 30 (about seconds), as the watchdog keeps it;
            // the panic's log timestamp is on the same clock.
            std::uint64_t now_s = *reports.panic_ts_nsec >> 30;
            std::uint64_t limit = 2 * static_cast<std::uint64_t>(*thresh);
            if (auto addr = percpu_address(k, "watchdog_touch_ts", cpu))
                if (auto ts = k.memory().read_u64(*addr);
                    ts && *ts && *ts <= now_s && now_s - *ts > limit)
                    a.hints.push_back(fmt::format(
                        "the soft-lockup watchdog was last touched {} s before the panic "
                        "(threshold {} s)",
                        now_s - *ts,
                        limit));
        }
        out.push_back(std::move(a));
    }
    return out;
}

}  // namespace lockhound::kernel
