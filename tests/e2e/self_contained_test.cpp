// Self-contained mode when the dump cannot provide its own debug info: a clear message naming
// what to install, and the fallback to a vmlinux when one is given.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/shared_dumps.h"

namespace lockhound {
namespace {

using testing::run_lockhound;

// A copy of a kdump-compressed dump whose VMCOREINFO (stored uncompressed in the file) no longer
// locates the kallsyms tables: the dump cannot describe itself any more.
std::string copy_without_kallsyms(const std::string& src) {
    std::ifstream in(src, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::size_t n = 0;
    for (std::size_t p = bytes.find("SYMBOL(kallsyms_"); p != std::string::npos;
         p = bytes.find("SYMBOL(kallsyms_", p + 1)) {
        bytes[p + 7] = 'X';  // SYMBOL(Xallsyms_...): an unknown key
        ++n;
    }
    EXPECT_GE(n, 5u) << "VMCOREINFO kallsyms lines not found in " << src;
    auto out = std::filesystem::temp_directory_path() /
               ("lockhound-nokallsyms-" + std::to_string(::getpid()));
    std::ofstream(out, std::ios::binary) << bytes;
    return out.string();
}

TEST(SelfContained, DumpWithoutKallsymsFailsWithWhatToInstall) {
    auto d = testing::shared_dump("abba-mutex");
    if (!d) GTEST_SKIP() << "no shared abba-mutex dump";
    std::string damaged = copy_without_kallsyms(d->vmcores.front());
    auto r = run_lockhound({"analyze", "--no-vmlinux", damaged});
    EXPECT_EQ(r.status, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("kallsyms"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("linux-image-6.1.0-56-amd64-dbg"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

    // With the vmlinux the same damaged dump is analysed in full.
    if (auto v = testing::vmlinux_for(d->release)) {
        auto ok = run_lockhound({"analyze", "--format", "json", damaged, *v, "-q"});
        EXPECT_TRUE(ok.status == 0 || ok.status == 3) << ok.err;
        EXPECT_NE(ok.out.find("\"0xffffffffc03a44a0\""), std::string::npos);
    }
    std::filesystem::remove(damaged);
}

}  // namespace
}  // namespace lockhound
