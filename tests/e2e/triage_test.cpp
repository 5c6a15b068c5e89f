// Triage on real dumps: `log` against the guest's console (serial.log), and on the project's own
// kdump captures (kexec + hung_task panic, made by ../shared/dumpfactory/make-kdump.sh into
// $LOCKHOUND_EXTRA_DUMPS, default ~/.cache/lh-dumps/REL/kdump-*) the panic message, task and CPU
// of `info` and the panicking task's backtrace through panic() in `cpus`. Those skip without the
// captures.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "report/escape.h"
#include "support/shared_dumps.h"

namespace lockhound {
namespace {

namespace fs = std::filesystem;
using testing::run_lockhound;

struct KdumpCapture {
    std::string dir, vmcore;
    nlohmann::json truth;
};

std::vector<KdumpCapture> kdump_captures() {
    std::string root;
    if (const char* e = std::getenv("LOCKHOUND_EXTRA_DUMPS"))
        root = e;
    else if (const char* h = std::getenv("HOME"))
        root = std::string(h) + "/.cache/lh-dumps";
    std::vector<KdumpCapture> out;
    std::error_code ec;
    if (root.empty() || !fs::is_directory(root, ec)) return out;
    for (const auto& rel : fs::directory_iterator(root, ec)) {
        for (const auto& scen : fs::directory_iterator(rel.path(), ec)) {
            fs::path truth = scen.path() / "truth.json";
            if (!fs::exists(truth, ec)) continue;
            std::ifstream in(truth);
            auto j = nlohmann::json::parse(in, nullptr, false);
            if (j.is_discarded() || !j.contains("capture") ||
                j["capture"].value("method", "") != "kdump")
                continue;
            for (const auto& f : fs::directory_iterator(scen.path(), ec)) {
                std::string name = f.path().filename().string();
                if (name.starts_with("vmcore.mkd"))
                    out.push_back({scen.path().string(), f.path().string(), j});
            }
        }
    }
    return out;
}

// The kernel's own lines of a console log: "[    1.234567] text" (not the guest's user output).
std::vector<std::pair<std::string, std::string>> console_lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::pair<std::string, std::string>> out;
    static const std::regex re(R"(^(\[ *[0-9]+\.[0-9]{6}\]) (.*)$)");
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::smatch m;
        if (std::regex_match(line, m, re)) out.emplace_back(m[1], m[2]);
    }
    return out;
}

void expect_log_matches_console(const std::string& vmcore, const std::string& serial) {
    SCOPED_TRACE(vmcore);
    auto r = run_lockhound({"log", vmcore, "--format", "json", "-q"}, 120);
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded());
    EXPECT_EQ(j["format"], "lockless ringbuffer");
    std::set<std::pair<std::string, std::string>> have;
    std::uint64_t first = ~0ull, last = 0;
    for (const auto& rec : j["records"]) {
        std::uint64_t ts = rec["ts_nsec"].get<std::uint64_t>();
        first = std::min(first, ts), last = std::max(last, ts);
        std::string stamp = fmt::format("[{:5}.{:06}]", ts / 1000000000, ts % 1000000000 / 1000);
        // JSON text is sanitized: control bytes (newline, tab) come as \xNN; undo that to
        // compare with the console, which printed the bytes.
        std::string raw = rec["text"], text;
        for (std::size_t i = 0; i < raw.size(); ++i) {
            if (raw.compare(i, 2, "\\x") == 0 && i + 3 < raw.size() &&
                std::isxdigit(static_cast<unsigned char>(raw[i + 2])) &&
                std::isxdigit(static_cast<unsigned char>(raw[i + 3]))) {
                text += static_cast<char>(std::stoi(raw.substr(i + 2, 2), nullptr, 16));
                i += 3;
            } else {
                text += raw[i];
            }
        }
        std::size_t pos = 0;
        while (true) {
            auto nl = text.find('\n', pos);
            have.emplace(stamp, text.substr(pos, nl == std::string::npos ? nl : nl - pos));
            if (nl == std::string::npos) break;
            pos = nl + 1;
        }
    }
    ASSERT_GT(have.size(), 100u);
    auto lines = console_lines(serial);
    ASSERT_GT(lines.size(), 100u);
    std::size_t checked = 0;
    for (const auto& [stamp, text] : lines) {
        double t = std::stod(stamp.substr(1));
        // Only the lines still in the buffer (its oldest record onwards, up to its newest).
        if (t * 1e9 + 1000 < static_cast<double>(first) ||
            t * 1e9 > static_cast<double>(last) + 1000)
            continue;
        ++checked;
        EXPECT_TRUE(have.count({stamp, text}))
            << "console line not in the log: " << stamp << " " << text;
    }
    EXPECT_GT(checked, 100u);
}

TEST(LogCommand, EqualsTheGuestConsoleOnEveryDump) {
    auto dumps = testing::all_truth_dumps();
    ASSERT_FALSE(dumps.empty()) << "sample_dumps/ ships with the project";
    for (const auto& d : dumps)
        for (const auto& v : d.vmcores) expect_log_matches_console(v, d.dir + "/serial.log");
    for (const auto& c : kdump_captures())
        expect_log_matches_console(c.vmcore, c.dir + "/serial.log");
}

TEST(LogCommand, LevelAndSinceFilter) {
    auto dumps = testing::all_truth_dumps();
    ASSERT_FALSE(dumps.empty());
    const std::string& v = dumps.front().vmcores.front();
    auto all = run_lockhound({"log", v, "-q"});
    auto warn = run_lockhound({"log", v, "-q", "--level", "4"});
    auto late = run_lockhound({"log", v, "-q", "--since", "1"});
    ASSERT_EQ(all.status, 0);
    std::regex line_re(R"(^<([0-7])>\[ *([0-9]+)\.[0-9]{6}\])");
    auto check = [&](const std::string& out, auto pred) -> std::size_t {
        std::istringstream in(out);
        std::string l;
        std::size_t n = 0;
        while (std::getline(in, l)) {
            std::smatch m;
            if (!std::regex_search(l, m, line_re)) {
                ADD_FAILURE() << "not a log line: " << l;
                continue;
            }
            EXPECT_TRUE(pred(std::stoi(m[1]), std::stoi(m[2]))) << l;
            ++n;
        }
        return n;
    };
    std::size_t n_all = check(all.out, [](int, int) { return true; });
    std::size_t n_warn = check(warn.out, [](int level, int) { return level <= 4; });
    std::size_t n_late = check(late.out, [](int, int sec) { return sec >= 1; });
    EXPECT_GT(n_warn, 0u);
    EXPECT_LT(n_warn, n_all);
    EXPECT_GT(n_late, 0u);
    EXPECT_LT(n_late, n_all);
}

TEST(InfoCommand, QemuDumpsWereNotTakenByAPanic) {
    for (const auto& d : testing::all_truth_dumps()) {
        auto r = run_lockhound({"info", d.vmcores.front(), "-q"});
        ASSERT_TRUE(r.status == 0 || r.status == 3) << r.err;
        EXPECT_NE(r.out.find("PANIC: (none"), std::string::npos) << r.out;
        // QEMU's dump-guest-memory writes no CRASHTIME: no DATE line to check here (the kdump
        // capture test checks it).
        EXPECT_NE(r.out.find("LOAD AVERAGE: "), std::string::npos);
    }
}

TEST(KdumpCapture, InfoNamesThePanicItsTaskAndCpu) {
    auto caps = kdump_captures();
    if (caps.empty())
        GTEST_SKIP() << "no kdump capture under $LOCKHOUND_EXTRA_DUMPS (make-kdump.sh)";
    for (const auto& c : caps) {
        SCOPED_TRACE(c.vmcore);
        const auto& cap = c.truth["capture"];
        auto r = run_lockhound({"info", c.vmcore, "-q"});
        ASSERT_EQ(r.status, 0) << r.err;
        EXPECT_NE(r.out.find(fmt::format("PANIC: \"{}\"", cap["panic_message"].get<std::string>())),
                  std::string::npos)
            << r.out;
        EXPECT_NE(r.out.find(fmt::format("PID: {}\n", cap["panic_task"]["pid"].get<int>())),
                  std::string::npos)
            << r.out;
        EXPECT_NE(r.out.find(
                      fmt::format("COMMAND: \"{}\"", cap["panic_task"]["comm"].get<std::string>())),
                  std::string::npos)
            << r.out;
        EXPECT_NE(r.out.find(fmt::format("CPU: {}\n", cap["panic_task"]["cpu"].get<int>())),
                  std::string::npos)
            << r.out;
    }
}

TEST(KdumpCapture, CpusShowThePanickingTaskWithABacktraceThroughPanic) {
    auto caps = kdump_captures();
    if (caps.empty())
        GTEST_SKIP() << "no kdump capture under $LOCKHOUND_EXTRA_DUMPS (make-kdump.sh)";
    for (const auto& c : caps) {
        SCOPED_TRACE(c.vmcore);
        const auto& pt = c.truth["capture"]["panic_task"];
        auto r = run_lockhound({"cpus", c.vmcore, "-q"});
        ASSERT_EQ(r.status, 0) << r.err;
        std::string head =
            fmt::format("CPU {}: PID {} {} (kernel, from NT_PRSTATUS) — panicked here",
                        pt["cpu"].get<int>(),
                        pt["pid"].get<int>(),
                        pt["comm"].get<std::string>());
        auto at = r.out.find(head);
        ASSERT_NE(at, std::string::npos) << r.out;
        auto next = r.out.find("\nCPU ", at);
        std::string block = r.out.substr(at, next == std::string::npos ? next : next - at);
        EXPECT_TRUE(std::regex_search(block, std::regex(R"(\] (\? )?panic\+0x)"))) << block;
        EXPECT_NE(block.find("ret_from_fork"), std::string::npos) << block;
    }
}

}  // namespace
}  // namespace lockhound
