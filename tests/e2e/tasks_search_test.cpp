// `lockhound tasks` and `lockhound search` on every real dump in every format, and the one-line
// failures on bad input (empty, truncated, random, mismatched vmlinux).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>

#include "support/shared_dumps.h"
#include "support/truth.h"

namespace lockhound {
namespace {

using testing::all_truth_dumps;
using testing::run_lockhound;

// Parses `tasks` output lines: PID TGID CPU ST TASK STACK SP COMM
std::map<int, std::pair<char, std::string>> parse_tasks(const std::string& out) {
    std::map<int, std::pair<char, std::string>> m;
    std::regex line(
        R"(^\s*(\d+)\s+(\d+)\s+(-?\d+)\s+(\S)\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+(.*)$)");
    std::istringstream in(out);
    std::string l;
    while (std::getline(in, l)) {
        std::smatch sm;
        if (!std::regex_match(l, sm, line)) continue;
        std::string comm = sm[5];
        if (auto p = comm.find(" (on CPU)"); p != std::string::npos) comm.resize(p);
        if (comm.size() > 2 && comm.front() == '[' && comm.back() == ']')
            comm = comm.substr(1, comm.size() - 2);
        m[std::stoi(sm[1])] = {sm[4].str()[0], comm};
    }
    return m;
}

TEST(TasksCommand, ListsEveryBlockedTaskWithCommAndStateD) {
    auto dumps = all_truth_dumps();
    if (dumps.empty()) GTEST_SKIP() << "no dumps";
    for (const auto& d : dumps) {
        for (const auto& f : d.vmcores) {
            SCOPED_TRACE(f);
            auto r = run_lockhound({"tasks", "--state", "D", f, "-q"});
            ASSERT_TRUE(r.status == 0 || r.status == 3) << r.err;
            auto tasks = parse_tasks(r.out);
            for (const auto& b : d.truth["blocked_tasks"]) {
                int pid = b["pid"];
                ASSERT_TRUE(tasks.count(pid)) << "pid " << pid << " missing";
                EXPECT_EQ(tasks[pid].first, 'D');
                EXPECT_EQ(tasks[pid].second, b["comm"].get<std::string>());
            }
            EXPECT_EQ(tasks.size(), d.truth["blocked_tasks"].size())
                << "exactly the blocked tasks are in D";
        }
    }
}

// On these kernels a holder keeps no live reference to the lock on its stack (see
// shared/reference/holder-evidence.md): the stack search finds every waiter, and only waiters.
TEST(SearchCommand, FindsEveryWaiterOfEveryTruthLock) {
    auto dumps = all_truth_dumps();
    if (dumps.empty()) GTEST_SKIP() << "no dumps";
    for (const auto& d : dumps) {
        auto truth = testing::parse_truth(d.truth);
        const std::string& f = d.vmcores.front();
        for (const auto& lock : truth.locks) {
            SCOPED_TRACE(d.name() + " " + lock.name);
            char addr[32];
            std::snprintf(
                addr, sizeof addr, "0x%llx", static_cast<unsigned long long>(lock.address));
            auto r = run_lockhound({"search", addr, f, "-q"});
            ASSERT_TRUE(r.status == 0 || r.status == 3) << r.err;
            std::set<int> found;
            std::regex hdr(R"(PID: (\d+) )");
            for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), hdr);
                 it != std::sregex_iterator();
                 ++it)
                found.insert(std::stoi((*it)[1]));
            std::set<int> involved;
            for (const auto& w : lock.waiters) {
                EXPECT_TRUE(found.count(w.pid)) << "waiter " << w.pid << " not found on any stack";
                involved.insert(w.pid);
            }
            for (const auto& h : lock.holders) involved.insert(h.pid);
            for (int pid : found)
                EXPECT_TRUE(involved.count(pid))
                    << "pid " << pid << " is neither holder nor waiter";
        }
    }
}

TEST(SearchCommand, ResolvesSymbolsAndMarksStaleSlots) {
    auto d = testing::shared_dump("abba-mutex");
    if (!d) GTEST_SKIP() << "no shared abba-mutex dump";
    // lb_mutex is the module's array; lb_mutex+0x20 is lb_mutex_B.
    auto r = run_lockhound({"search", "lb_mutex+0x20", d->vmcores.front(), "-q"});
    ASSERT_TRUE(r.status == 0 || r.status == 3) << r.err;
    EXPECT_NE(r.out.find("COMMAND: \"lb_abba_1\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("hold 0xffffffffc03a44c0"), std::string::npos) << r.out;
}

std::string temp_file(const std::string& name, const std::string& bytes) {
    auto p = std::filesystem::temp_directory_path() /
             ("lockhound-test-" + std::to_string(::getpid()) + "-" + name);
    std::ofstream(p, std::ios::binary) << bytes;
    return p.string();
}

void expect_one_clear_line(const testing::CommandResult& r) {
    EXPECT_EQ(r.status, 2) << r.out << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("lockhound: ", 0), 0u) << r.err;
}

TEST(BadInput, EmptyRandomAndTruncatedFilesFailWithOneLine) {
    std::string empty = temp_file("empty", "");
    expect_one_clear_line(run_lockhound({"tasks", empty}));
    std::mt19937 rng(42);
    std::string junk(1 << 16, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    std::string random = temp_file("random", junk);
    expect_one_clear_line(run_lockhound({"analyze", random}));
    std::string fake_kdump = temp_file("kdump", std::string("KDUMP   ") + junk.substr(0, 100));
    expect_one_clear_line(run_lockhound({"info", fake_kdump}));
    std::filesystem::remove(empty);
    std::filesystem::remove(random);
    std::filesystem::remove(fake_kdump);

    auto d = testing::shared_dump("abba-mutex");
    if (!d) GTEST_SKIP() << "no shared dump for the truncation case";
    std::ifstream in(d->vmcores.front(), std::ios::binary);
    std::string head(8192, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::string cut = temp_file("cut", head);
    expect_one_clear_line(run_lockhound({"analyze", cut}));
    std::filesystem::remove(cut);
}

TEST(BadInput, MismatchedVmlinuxIsRefused) {
    auto d = testing::shared_dump("abba-mutex");
    if (!d) GTEST_SKIP() << "no shared dump";
    // Any ELF with a different build-id stands in for the wrong vmlinux: the lockhound binary
    // itself.
    auto r = run_lockhound({"tasks", d->vmcores.front(), "--vmlinux", testing::lockhound_binary()});
    expect_one_clear_line(r);
    EXPECT_NE(r.err.find("build"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lockhound
