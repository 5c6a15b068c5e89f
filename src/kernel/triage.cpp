#include "kernel/triage.h"

#include <charconv>

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

// Hand-written matchers for the few log lines triage reads (a regex engine cost more than the
// rest of the log scan). Each says what it matches; "line" means up to the first CR or LF.
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_eol(char c) {
    return c == '\n' || c == '\r';
}

// The run of digits at `at` (possibly empty).
std::string_view digits_at(std::string_view s, std::size_t at) {
    std::size_t end = at;
    while (end < s.size() && is_digit(s[end])) ++end;
    return s.substr(at, end - at);
}

// `s` continues with `lit` at `at`.
bool has_at(std::string_view s, std::size_t at, std::string_view lit) {
    return at <= s.size() && s.substr(at).starts_with(lit);
}

// "Kernel panic - not syncing: MSG": MSG up to the end of the line.
std::optional<std::string_view> match_panic(std::string_view s) {
    constexpr std::string_view kLit = "Kernel panic - not syncing: ";
    std::size_t at = s.find(kLit);
    if (at == std::string_view::npos) return std::nullopt;
    std::string_view msg = s.substr(at + kLit.size());
    std::size_t eol = msg.find_first_of("\r\n");
    return eol == std::string_view::npos ? msg : msg.substr(0, eol);
}

struct CpuLine {
    std::string_view cpu, pid, comm;
};
// The line starts "CPU: N PID: N Comm: COMM " where COMM is the shortest run of 1 to 16
// characters followed by a space.
std::optional<CpuLine> match_cpu_line(std::string_view s) {
    if (!s.starts_with("CPU: ")) return std::nullopt;
    CpuLine out;
    std::size_t at = 5;
    out.cpu = digits_at(s, at);
    at += out.cpu.size();
    if (out.cpu.empty() || !has_at(s, at, " PID: ")) return std::nullopt;
    at += 6;
    out.pid = digits_at(s, at);
    at += out.pid.size();
    if (out.pid.empty() || !has_at(s, at, " Comm: ")) return std::nullopt;
    at += 7;
    for (std::size_t k = 1; k <= 16 && at + k < s.size(); ++k) {
        if (is_eol(s[at + k - 1])) return std::nullopt;
        if (s[at + k] == ' ') {
            out.comm = s.substr(at, k);
            return out;
        }
    }
    return std::nullopt;
}

struct HungLine {
    std::string_view comm, pid, seconds;
};
// "INFO: task COMM:PID blocked for more than N seconds" anywhere in the line; COMM is 1 to 16
// characters, the longest that fits.
std::optional<HungLine> match_hung_task(std::string_view s) {
    constexpr std::string_view kLit = "INFO: task ";
    for (std::size_t at = s.find(kLit); at != std::string_view::npos; at = s.find(kLit, at + 1)) {
        const std::size_t c = at + kLit.size();
        std::size_t room = 0;  // characters of the line available for COMM
        while (room < 16 && c + room < s.size() && !is_eol(s[c + room])) ++room;
        for (std::size_t k = room; k >= 1; --k) {
            std::size_t p = c + k;
            if (!has_at(s, p, ":")) continue;
            HungLine h{s.substr(c, k), digits_at(s, p + 1), {}};
            p += 1 + h.pid.size();
            if (h.pid.empty() || !has_at(s, p, " blocked for more than ")) continue;
            p += 23;
            h.seconds = digits_at(s, p);
            if (h.seconds.empty() || !has_at(s, p + h.seconds.size(), " seconds")) continue;
            return h;
        }
    }
    return std::nullopt;
}

// "soft lockup - CPU#N stuck for" anywhere in the line: N.
std::optional<std::string_view> match_soft_lockup(std::string_view s) {
    constexpr std::string_view kLit = "soft lockup - CPU#";
    for (std::size_t at = s.find(kLit); at != std::string_view::npos; at = s.find(kLit, at + 1)) {
        std::string_view n = digits_at(s, at + kLit.size());
        if (!n.empty() && has_at(s, at + kLit.size() + n.size(), " stuck for")) return n;
    }
    return std::nullopt;
}

// An RCU stall's CPU line: optional "rcu: " (kernel/rcu's pr_fmt), white space, N, "-...".
std::optional<std::string_view> match_rcu_cpu(std::string_view s) {
    if (s.starts_with("rcu: ")) s.remove_prefix(5);
    std::size_t at = s.find_first_not_of(" \t\n\v\f\r");
    if (at == std::string_view::npos) return std::nullopt;
    std::string_view n = digits_at(s, at);
    if (n.empty() || !has_at(s, at + n.size(), "-...")) return std::nullopt;
    return n;
}

}  // namespace

LogReports scan_log(const PrintkLog& log) {
    LogReports out;
    bool after_panic = false, in_rcu = false;
    for (const auto& r : log.records) {
        std::string_view line = r.text;
        while (!line.empty() && (line.back() == '\n')) line.remove_suffix(1);
        if (line.size() > 4096) line = line.substr(0, 4096);  // bounded work per record
        if (auto msg = match_panic(line)) {
            out.panic_message = std::string(*msg);
            out.panic_ts_nsec = r.ts_nsec;
            out.panic_cpu.reset(), out.panic_pid.reset(), out.panic_comm.clear();
            after_panic = true;
            continue;
        }
        if (after_panic && !out.panic_cpu) {
            if (auto c = match_cpu_line(line)) {
                out.panic_cpu = to_int(c->cpu);
                out.panic_pid = to_int(c->pid);
                out.panic_comm = std::string(c->comm);
                continue;
            }
        }
        if (auto m = match_hung_task(line)) {
            HungTaskReport h;
            h.comm = std::string(m->comm);
            h.pid = to_int(m->pid).value_or(0);
            h.seconds = to_int(m->seconds).value_or(0);
            bool seen = false;
            for (const auto& o : out.hung_tasks) seen = seen || o.pid == h.pid;
            if (!seen && out.hung_tasks.size() < 4096) out.hung_tasks.push_back(std::move(h));
            continue;
        }
        if (out.stalls.size() >= 256) continue;
        if (auto cpu = match_soft_lockup(line)) {
            out.stalls.push_back({to_int(*cpu).value_or(-1), std::string(line)});
            in_rcu = false;
        } else if (line.find("detected stalls on CPUs") != std::string_view::npos ||
                   line.find("self-detected stall on CPU") != std::string_view::npos ||
                   line.find("rcu: INFO") != std::string_view::npos) {
            out.stalls.push_back({-1, std::string(line)});
            in_rcu = true;
        } else if (auto rcpu = in_rcu ? match_rcu_cpu(line) : std::nullopt) {
            // "rcu: \t1-...!: (0 ticks this GP) ..." names a stalled CPU.
            out.stalls.push_back({to_int(*rcpu).value_or(-1), std::string(line)});
        } else if (in_rcu && line.find("rcu:") == std::string_view::npos) {
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
