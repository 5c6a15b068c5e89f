#include "graph/completeness.h"

#include <charconv>
#include <set>

#include <fmt/format.h>

#include "kernel/kernel.h"
#include "kernel/percpu.h"

namespace lockhound::graph {

namespace {

bool contains(const std::string& s, std::string_view w) {
    return s.find(w) != std::string::npos;
}

// "6.12.48+deb12-amd64" -> (6, 12)
std::pair<int, int> release_version(const std::string& r) {
    int major = 0, minor = 0;
    const char* p = r.data();
    const char* end = r.data() + r.size();
    auto a = std::from_chars(p, end, major);
    if (a.ec == std::errc() && a.ptr < end && *a.ptr == '.') std::from_chars(a.ptr + 1, end, minor);
    return {major, minor};
}

}  // namespace

Completeness assess_completeness(kernel::Kernel& k,
                                 const locks::LockAnalysis& analysis,
                                 const std::vector<kernel::HungTaskReport>& hung_tasks) {
    Completeness c;
    const auto& tasks = k.tasks();
    std::size_t idle = 0;
    std::set<int> pids;
    for (const auto& t : tasks) {
        if (t.is_idle) ++idle;
        pids.insert(t.pid);
    }
    c.tasks_read = tasks.size();
    std::vector<std::string> list_cut, task_pages, stacks, locks_bad;
    for (const auto& w : k.warnings()) {
        if (contains(w, "process list") || contains(w, "threads of task"))
            list_cut.push_back(w);
        else if (contains(w, "task_struct at") && contains(w, "skipped"))
            task_pages.push_back(w);
        else if (contains(w, "stack") &&
                 (contains(w, "not in the dump") || contains(w, "unreadable")))
            stacks.push_back(w);
        else if ((contains(w, "lock") || contains(w, "wait list")) &&
                 contains(w, "not in the dump"))
            locks_bad.push_back(w);
    }
    // nr_threads counts every thread the kernel has (the boot CPU's idle task aside).
    if (auto nr = k.symbols().address_of("nr_threads")) {
        if (auto v = k.memory().read_u32(*nr); v && *v < (1u << 24)) {
            c.tasks_expected = *v;
            std::size_t have = tasks.size() - std::min<std::size_t>(idle, tasks.size());
            if (have + 1 < *v)
                c.missing.push_back(
                    fmt::format("tasks: {} of the kernel's {} threads (nr_threads) "
                                "were read",
                                have,
                                *v));
        }
    }
    auto first = [](const std::vector<std::string>& v) {
        return v.size() == 1 ? v.front() : fmt::format("{} (and {} more)", v.front(), v.size() - 1);
    };
    if (!list_cut.empty()) c.missing.push_back("task list: " + first(list_cut));
    if (!task_pages.empty())
        c.missing.push_back(fmt::format(
            "task_structs: {} could not be read ({})", task_pages.size(), task_pages.front()));
    if (!stacks.empty()) c.missing.push_back("stacks: " + first(stacks));
    if (!locks_bad.empty()) c.missing.push_back("lock structures: " + first(locks_bad));
    std::vector<std::string> absent;
    for (const auto& h : hung_tasks)
        if (!pids.count(h.pid)) absent.push_back(fmt::format("{}[{}]", h.comm, h.pid));
    if (!absent.empty())
        c.missing.push_back(
            fmt::format("tasks the kernel log reports as hung but the dump's task "
                        "list lacks: {}",
                        fmt::join(absent, ", ")));
    // Known trap: makedumpfile older than the kernel's slab page encoding (PG_slab became a page
    // type in 6.10; makedumpfile 1.7.2 of Debian 12 takes slab pages for user pages) drops every
    // live slab page — task_structs, the pid IDR, locks in slab objects — when -d excludes user
    // data (bit 8, in the usual -d 31).
    auto [major, minor] = release_version(k.release());
    const auto& d = k.dump();
    if (d.dump_level && (*d.dump_level & 8) && (major > 6 || (major == 6 && minor >= 10))) {
        c.missing.push_back(fmt::format(
            "slab pages: dump level {} excludes user pages, and a makedumpfile older than {}.{}'s "
            "slab page encoding takes live slab pages (task_structs, the pid IDR, locks in slab "
            "objects) for user pages (the dump does not record makedumpfile's version; header "
            "v{})",
            *d.dump_level,
            major,
            minor,
            d.header_version));
        c.advice.push_back(
            "capture with `makedumpfile -d 23` (keeps user pages, about the same size) or with a "
            "makedumpfile that knows this kernel's page types");
    }
    (void)analysis;
    c.complete = c.missing.empty();
    if (!c.complete && idle) c.recovered_by.push_back("per-CPU runqueues (idle and current tasks)");
    return c;
}

}  // namespace lockhound::graph
