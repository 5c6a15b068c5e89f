// `lockhound bt` on the shared dumps: the printed frames of each blocked task contain its
// /proc/PID/stack lines verbatim, after the scheduler frames /proc hides.
#include <gtest/gtest.h>

#include <sstream>

#include <fmt/format.h>

#include "support/shared_dumps.h"

namespace lockhound {
namespace {

using testing::run_lockhound;

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

// " #4  [ffffcd9b8039bee8] lb_thread.cold+0x114/0x11d [lockbomb]" -> "lb_thread.cold+0x114/0x11d
// [lockbomb]"
std::optional<std::string> frame_text(const std::string& line) {
    if (!line.starts_with(" #")) return std::nullopt;
    auto close = line.find("] ");
    if (close == std::string::npos) return std::nullopt;
    return line.substr(close + 2);
}

struct Fixture {
    testing::SharedDump dump;
    std::string vmlinux;
};

std::optional<Fixture> abba() {
    auto d = testing::shared_dump("abba-mutex");
    if (!d) return std::nullopt;
    auto v = testing::vmlinux_for(d->release);
    if (!v) return std::nullopt;
    return Fixture{*d, *v};
}

TEST(BtCommand, BlockedTasksOfEveryDumpShowTheirProcStack) {
    auto dumps = testing::all_truth_dumps();
    if (dumps.empty()) GTEST_SKIP() << "no shared or sample dumps";
    for (const auto& d : dumps) {
        SCOPED_TRACE(d.name());
        auto v = testing::vmlinux_for(d.release);
        if (!v) GTEST_SKIP() << "no vmlinux for " << d.release;
        auto r = run_lockhound({"bt", "-q", "--state", "D", d.vmcores.front(), *v});
        ASSERT_TRUE(r.status == 0 || r.status == 3) << r.status << r.err;
        // Split the output per task: "PID: 93      TASK: ..." starts each one.
        std::map<int, std::vector<std::string>> frames;
        int pid = -1;
        for (const auto& l : lines_of(r.out)) {
            if (l.starts_with("PID: ")) {
                pid = std::stoi(l.substr(5));
                frames[pid];
            } else if (auto f = frame_text(l); f && pid >= 0) {
                frames[pid].push_back(*f);
            }
            EXPECT_EQ(l.find("backtrace stopped"), std::string::npos) << l;
        }
        const auto& blocked = d.truth["blocked_tasks"];
        EXPECT_GE(frames.size(), blocked.size());
        for (const auto& b : blocked) {
            int p = b["pid"].get<int>();
            SCOPED_TRACE(fmt::format("pid {}", p));
            ASSERT_TRUE(frames.count(p));
            const auto& got = frames[p];
            ASSERT_GE(got.size(), 3u);
            EXPECT_TRUE(got[0].starts_with("__schedule+0x")) << got[0];
            EXPECT_TRUE(got[1].starts_with("schedule+0x")) << got[1];
            if (!b.contains("stack")) continue;
            // /proc's lines in order, printed identically (name+off/size [module]).
            std::size_t pos = 0;
            for (const auto& s : b["stack"]) {
                while (pos < got.size() && got[pos] != s.get<std::string>()) ++pos;
                ASSERT_LT(pos, got.size()) << "missing " << s;
                ++pos;
            }
            EXPECT_EQ(pos, got.size()) << "frames after /proc's last one";
        }
    }
}

TEST(BtCommand, OneTaskByPidAndByAddressWithRawWords) {
    auto f = abba();
    if (!f) GTEST_SKIP() << "no abba-mutex dump or vmlinux";
    auto r = run_lockhound({"bt", "-q", f->dump.vmcores.front(), f->vmlinux, "93"});
    ASSERT_TRUE(r.status == 0 || r.status == 3) << r.err;
    auto lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), 8u) << r.out;
    EXPECT_TRUE(lines[0].starts_with("PID: 93 ")) << lines[0];
    EXPECT_NE(lines[0].find("COMMAND: \"lb_abba_1\""), std::string::npos) << lines[0];
    EXPECT_EQ(frame_text(lines[1]), "__schedule+0x34d/0xa00");
    EXPECT_EQ(frame_text(lines[4]), "__mutex_lock.constprop.0+0x39d/0x720");
    EXPECT_EQ(frame_text(lines[5]), "lb_thread.cold+0x114/0x11d [lockbomb]");
    EXPECT_EQ(frame_text(lines[7]), "ret_from_fork+0x22/0x30");

    // The same task by its task_struct address.
    auto task = lines[0].substr(lines[0].find("TASK: ") + 6, 16);
    auto by_addr = run_lockhound({"bt", "-q", f->dump.vmcores.front(), f->vmlinux, "0x" + task});
    EXPECT_EQ(by_addr.out, r.out);

    // -f: raw words under each frame; the first is the saved frame at thread.sp.
    auto words = run_lockhound({"bt", "-q", "-f", f->dump.vmcores.front(), f->vmlinux, "93"});
    auto wl = lines_of(words.out);
    ASSERT_GT(wl.size(), lines.size() + 7);
    EXPECT_TRUE(wl[2].starts_with("    ffff")) << wl[2];
    EXPECT_NE(wl[2].find(": "), std::string::npos);

    // ORC from the dump alone gives the same backtrace.
    auto mem =
        run_lockhound({"bt", "-q", "--orc", "memory", f->dump.vmcores.front(), f->vmlinux, "93"});
    EXPECT_EQ(mem.out, r.out);
}

TEST(BtCommand, UnknownTaskIsAUsageError) {
    auto f = abba();
    if (!f) GTEST_SKIP() << "no abba-mutex dump or vmlinux";
    auto r = run_lockhound({"bt", "-q", f->dump.vmcores.front(), f->vmlinux, "99999"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("no task with PID or address 99999"), std::string::npos) << r.err;
    auto none = run_lockhound({"bt", "-q", f->dump.vmcores.front(), f->vmlinux});
    EXPECT_EQ(none.status, 1);
}

}  // namespace
}  // namespace lockhound
