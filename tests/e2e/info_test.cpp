// `lockhound info` on every real dump, with the dump's types from DWARF (when cached) and from its
// BTF: the release is truth's, and the uptime agrees with the guest's own last words. Its init
// prints "…init: uptime SECONDS IDLE" from /proc/uptime just before the host stops it to dump.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "support/shared_dumps.h"

namespace lockhound {
namespace {

using testing::all_truth_dumps;
using testing::run_lockhound;

// The last "init: uptime 7.77 9.78" of the guest's serial log, in seconds.
std::optional<double> guest_uptime(const std::string& dir) {
    std::ifstream in(dir + "/serial.log");
    std::string line;
    std::optional<double> last;
    static const std::regex re(R"(init: uptime ([0-9]+\.[0-9]+) )");
    while (std::getline(in, line)) {
        std::smatch m;
        if (std::regex_search(line, m, re)) last = std::stod(m[1]);
    }
    return last;
}

TEST(InfoCommand, ReleaseAndUptimeMatchTheGuest) {
    auto dumps = all_truth_dumps();
    ASSERT_FALSE(dumps.empty()) << "sample_dumps/ ships with the project";
    for (const auto& d : dumps) {
        auto guest = guest_uptime(d.dir);
        ASSERT_TRUE(guest) << d.dir << "/serial.log has no uptime line";
        std::vector<std::vector<std::string>> modes = {{"--no-vmlinux"}};
        if (auto v = testing::vmlinux_for(d.release)) modes.push_back({"--vmlinux", *v});
        for (const auto& mode : modes) {
            SCOPED_TRACE(d.vmcores.front() + " " + mode.front());
            std::vector<std::string> args = {"info", d.vmcores.front(), "-q"};
            args.insert(args.end(), mode.begin(), mode.end());
            auto r = run_lockhound(args);
            ASSERT_TRUE(r.status == 0 || r.status == 3) << r.err;
            std::smatch m;
            ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(RELEASE: (\S+))")));
            EXPECT_EQ(m[1], d.truth["kernel_release"].get<std::string>());
            ASSERT_TRUE(
                std::regex_search(r.out, m, std::regex(R"(UPTIME: ([0-9]+):([0-9]+):([0-9]+))")))
                << r.out;
            double uptime = std::stoi(m[1]) * 3600 + std::stoi(m[2]) * 60 + std::stoi(m[3]);
            // Whole seconds in the dump; the dump is taken a few seconds after the last line.
            EXPECT_GE(uptime, *guest - 1);
            EXPECT_LE(uptime, *guest + 30);
        }
    }
}

}  // namespace
}  // namespace lockhound
