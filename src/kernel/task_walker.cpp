#include "kernel/task_walker.h"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "base/byte_reader.h"
#include "kernel/kernel.h"
#include "kernel/list_walk.h"
#include "kernel/percpu.h"
#include "kernel/task_state.h"

namespace lockhound::kernel {

namespace {

constexpr std::size_t kMaxTasks = 1u << 22;
constexpr std::uint64_t kCommLen = 16;

// Offsets of the task_struct members the walk needs, resolved once from the types.
struct TaskLayout {
    std::uint64_t size = 0;
    std::uint64_t tasks = 0, pid = 0, tgid = 0, comm = 0, state = 0, exit_state = 0, stack = 0;
    std::uint64_t thread_sp = 0, mm = 0, signal = 0;
    std::optional<std::uint64_t> on_cpu, cpu, thread_node, thread_group, signal_thread_head;
    std::uint64_t state_size = 8;
    std::optional<std::uint64_t> rq_curr, rq_idle;
};

Result<TaskLayout> task_layout(Kernel& k) {
    TaskLayout l;
    auto& types = k.types();
    auto need = [&](std::string_view path) -> Result<std::uint64_t> {
        auto o = k.offset_of("task_struct", path);
        if (!o)
            return fail(ErrorKind::kNotFound,
                        fmt::format("the types have no task_struct.{}", path));
        return *o;
    };
    auto size = types.struct_size("task_struct");
    if (!size || *size == 0 || *size > (1u << 20))
        return fail(ErrorKind::kNotFound, "no struct task_struct in the types");
    l.size = *size;
    for (auto [field, path] : {std::pair{&l.tasks, "tasks"},
                               {&l.pid, "pid"},
                               {&l.tgid, "tgid"},
                               {&l.comm, "comm"},
                               {&l.stack, "stack"},
                               {&l.thread_sp, "thread.sp"},
                               {&l.mm, "mm"},
                               {&l.signal, "signal"},
                               {&l.exit_state, "exit_state"}}) {
        auto o = need(path);
        if (!o) return std::unexpected(o.error());
        *field = *o;
    }
    // 5.14 renamed state to __state (and made it unsigned int).
    if (auto m = types.member("task_struct", "__state")) {
        l.state = m->offset;
        l.state_size = m->size;
    } else if (auto m2 = types.member("task_struct", "state")) {
        l.state = m2->offset;
        l.state_size = m2->size;
    } else {
        return fail(ErrorKind::kNotFound, "task_struct has neither __state nor state");
    }
    l.on_cpu = k.offset_of("task_struct", "on_cpu");
    l.cpu = k.offset_of("task_struct", "cpu");
    if (!l.cpu) l.cpu = k.offset_of("task_struct", "thread_info.cpu");
    l.thread_node = k.offset_of("task_struct", "thread_node");
    l.thread_group = k.offset_of("task_struct", "thread_group");
    l.signal_thread_head = k.offset_of("signal_struct", "thread_head");
    l.rq_curr = k.offset_of("rq", "curr");
    l.rq_idle = k.offset_of("rq", "idle");
    return l;
}

std::uint64_t thread_size(Kernel& k) {
    auto s = k.symbols().address_of("__start_init_task");
    if (!s) s = k.symbols().address_of("init_stack");
    auto e = k.symbols().address_of("__end_init_task");
    if (s && e && *e > *s && *e - *s <= (1u << 20) && ((*e - *s) & 4095) == 0) return *e - *s;
    return 16384;
}

class Walker {
  public:
    Walker(Kernel& k, const TaskLayout& l, TaskWalkResult& out)
        : k_(k), l_(l), out_(out), tsize_(thread_size(k)) {}

    // Reads one task_struct; records it once.
    std::optional<std::size_t> add(std::uint64_t addr) {
        if (auto it = index_.find(addr); it != index_.end()) return it->second;
        if (out_.tasks.size() >= kMaxTasks) return std::nullopt;
        std::vector<std::byte> buf(l_.size);
        if (!read_task_struct(addr, buf)) return std::nullopt;
        ByteReader b(buf);
        Task t;
        t.address = addr;
        t.pid = b.i32(l_.pid).value_or(0);
        t.tgid = b.i32(l_.tgid).value_or(0);
        t.comm = std::string(b.cstring(l_.comm, kCommLen));
        t.state_raw =
            l_.state_size == 4 ? b.u32(l_.state).value_or(0) : b.u64(l_.state).value_or(0);
        t.exit_state = b.u32(l_.exit_state).value_or(0);
        t.state = task_state_letter(t.state_raw, t.exit_state);
        if (l_.cpu) t.cpu = b.i32(*l_.cpu).value_or(0);
        if (l_.on_cpu) t.on_cpu = b.i32(*l_.on_cpu).value_or(0) != 0;
        t.stack_base = b.u64(l_.stack).value_or(0);
        t.stack_size = tsize_;
        t.saved_sp = b.u64(l_.thread_sp).value_or(0);
        t.mm = b.u64(l_.mm).value_or(0);
        signal_[addr] = b.u64(l_.signal).value_or(0);
        index_[addr] = out_.tasks.size();
        out_.tasks.push_back(std::move(t));
        return out_.tasks.size() - 1;
    }

    void add_threads(std::uint64_t leader) {
        std::uint64_t head = 0;
        std::uint64_t link = 0;
        if (l_.signal_thread_head && l_.thread_node) {
            head = signal_[leader] + *l_.signal_thread_head;
            link = *l_.thread_node;
            if (signal_[leader] == 0) return;
        } else if (l_.thread_group) {
            head = leader + *l_.thread_group;
            link = *l_.thread_group;
        } else {
            return;
        }
        ListWalk w = walk_list(k_.memory(), head, {.max_nodes = 1u << 20});
        if (w.error)
            out_.problems.push_back(
                fmt::format("threads of task {:#x}: {}", leader, w.error->describe()));
        for (std::uint64_t node : w.nodes) add(node - link);
    }

  private:
    // Reads the task_struct page by page: a filtered dump may lack one of its pages. Missing
    // pages read as zeros; the task is kept when the fields that identify it were readable.
    bool read_task_struct(std::uint64_t addr, std::vector<std::byte>& buf) {
        if (k_.memory().read(addr, buf)) return true;
        std::vector<std::pair<std::uint64_t, std::uint64_t>> missing;  // [begin, end) offsets
        for (std::uint64_t off = 0; off < buf.size();) {
            std::uint64_t n =
                std::min<std::uint64_t>(buf.size() - off, 4096 - ((addr + off) & 4095));
            if (!k_.memory().read(addr + off, std::span(buf).subspan(off, n))) {
                std::fill_n(buf.begin() + static_cast<std::ptrdiff_t>(off), n, std::byte{0});
                missing.emplace_back(off, off + n);
            }
            off += n;
        }
        auto readable = [&](std::uint64_t off, std::uint64_t len) {
            return std::ranges::none_of(
                missing, [&](const auto& m) { return off < m.second && off + len > m.first; });
        };
        bool ok = readable(l_.pid, 4) && readable(l_.tgid, 4) && readable(l_.comm, kCommLen) &&
                  readable(l_.state, l_.state_size) && readable(l_.stack, 8) &&
                  readable(l_.thread_sp, 8);
        out_.problems.push_back(
            fmt::format("task_struct at {:#x}: {} of its pages are not in the dump{}",
                        addr,
                        missing.size(),
                        ok ? " (identity fields readable; task kept)" : "; task skipped"));
        return ok;
    }

    Kernel& k_;
    const TaskLayout& l_;
    TaskWalkResult& out_;
    std::uint64_t tsize_;
    std::unordered_map<std::uint64_t, std::size_t> index_;
    std::unordered_map<std::uint64_t, std::uint64_t> signal_;
};

}  // namespace

TaskWalkResult walk_tasks(Kernel& k) {
    TaskWalkResult out;
    auto layout = task_layout(k);
    if (!layout) {
        out.problems.push_back(layout.error().describe());
        return out;
    }
    auto init_task = k.symbols().address_of("init_task");
    if (!init_task) {
        out.problems.emplace_back("no init_task symbol: cannot list tasks");
        return out;
    }
    Walker w(k, *layout, out);

    // Per-CPU idle and current tasks first: the idle tasks are on no list.
    int ncpus = possible_cpu_count(k);
    std::vector<std::uint64_t> current(static_cast<std::size_t>(ncpus), 0);
    if (layout->rq_idle && layout->rq_curr) {
        const std::uint64_t rq_idle = *layout->rq_idle;
        const std::uint64_t rq_curr = *layout->rq_curr;
        for (int cpu = 0; cpu < ncpus; ++cpu) {
            auto rq = percpu_address(k, "runqueues", cpu);
            if (!rq) break;
            if (auto idle = k.memory().read_u64(*rq + rq_idle); idle && *idle) {
                if (auto i = w.add(*idle)) {
                    out.tasks[*i].is_idle = true;
                    if (out.tasks[*i].cpu < 0) out.tasks[*i].cpu = cpu;
                }
            }
            if (auto curr = k.memory().read_u64(*rq + rq_curr))
                current[static_cast<std::size_t>(cpu)] = *curr;
        }
    }
    if (auto i = w.add(*init_task)) out.tasks[*i].is_idle = true;

    ListWalk procs = walk_list(k.memory(), *init_task + layout->tasks, {.max_nodes = kMaxTasks});
    if (procs.error)
        out.problems.push_back(
            fmt::format("process list (init_task.tasks): {}", procs.error->describe()));
    std::vector<std::uint64_t> leaders;
    for (std::uint64_t node : procs.nodes) leaders.push_back(node - layout->tasks);
    for (std::uint64_t leader : leaders) {
        if (!w.add(leader)) continue;
        w.add_threads(leader);
    }

    // Tasks on a CPU at dump time get that CPU's registers from the dump notes.
    const auto& cpus = k.dump().cpus;
    for (int cpu = 0; cpu < ncpus; ++cpu) {
        std::uint64_t cur = current[static_cast<std::size_t>(cpu)];
        if (!cur) continue;
        for (Task& t : out.tasks) {
            if (t.address != cur) continue;
            t.on_cpu = true;
            if (t.cpu < 0) t.cpu = cpu;
            if (static_cast<std::size_t>(cpu) < cpus.size())
                t.cpu_regs = cpus[static_cast<std::size_t>(cpu)].regs;
        }
    }
    std::ranges::stable_sort(out.tasks, [](const Task& a, const Task& b) {
        if (a.pid != b.pid) return a.pid < b.pid;
        return a.cpu < b.cpu;
    });
    return out;
}

}  // namespace lockhound::kernel
