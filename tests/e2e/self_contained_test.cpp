// Self-contained mode when VMCOREINFO does not locate kallsyms (Linux < 6.0): the tables are
// found in the image; when they cannot be, a clear message names what to install, and a vmlinux
// given instead is used.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/shared_dumps.h"

namespace lockhound {
namespace {

using testing::run_lockhound;

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {(std::istreambuf_iterator<char>(in)), {}};
}

// Renames every VMCOREINFO "SYMBOL(kallsyms_" line (stored uncompressed in the file) to an
// unknown key: the dump no longer says where its kallsyms tables are, as before 6.0.
void hide_kallsyms_lines(std::string& bytes) {
    std::size_t n = 0;
    for (std::size_t p = bytes.find("SYMBOL(kallsyms_"); p != std::string::npos;
         p = bytes.find("SYMBOL(kallsyms_", p + 1)) {
        bytes[p + 7] = 'X';  // SYMBOL(Xallsyms_...)
        ++n;
    }
    EXPECT_GE(n, 5u) << "VMCOREINFO kallsyms lines not found";
}

// Moves init_uts_ns (the end of the scanned range) to one byte after _stext: the image has no
// room left to hold kallsyms, so the scan must fail.
void shrink_scan_range(std::string& bytes) {
    const std::string stext = "SYMBOL(_stext)=";
    const std::string uts = "SYMBOL(init_uts_ns)=";
    auto s = bytes.find(stext);
    auto u = bytes.find(uts);
    ASSERT_NE(s, std::string::npos);
    ASSERT_NE(u, std::string::npos);
    std::string value = bytes.substr(s + stext.size(), 16);  // ffffffff90000000
    value.back() = '1';
    bytes.replace(u + uts.size(), value.size(), value);
}

std::string write_temp(const std::string& bytes, const std::string& tag) {
    auto out = std::filesystem::temp_directory_path() /
               ("lockhound-" + tag + "-" + std::to_string(::getpid()));
    std::ofstream(out, std::ios::binary) << bytes;
    return out.string();
}

TEST(SelfContained, KallsymsNotInVmcoreinfoAreFoundInTheImage) {
    auto d = testing::shared_dump("abba-mutex");
    if (!d) GTEST_SKIP() << "no shared abba-mutex dump";
    std::string bytes = read_bytes(d->vmcores.front());
    hide_kallsyms_lines(bytes);
    std::string damaged = write_temp(bytes, "nokallsyms");
    auto r = run_lockhound({"analyze", "--no-vmlinux", "--format", "json", damaged});
    EXPECT_EQ(r.status, 3) << r.err;  // contention found
    EXPECT_NE(r.out.find("kallsyms found in the image"), std::string::npos) << r.out;
    for (const char* lock : {"\"0xffffffffc03a44a0\"", "\"0xffffffffc03a44c0\""})
        EXPECT_NE(r.out.find(lock), std::string::npos) << lock;
    std::filesystem::remove(damaged);
}

TEST(SelfContained, KallsymsNowhereFailsWithWhatToInstall) {
    auto d = testing::shared_dump("abba-mutex");
    if (!d) GTEST_SKIP() << "no shared abba-mutex dump";
    std::string bytes = read_bytes(d->vmcores.front());
    hide_kallsyms_lines(bytes);
    shrink_scan_range(bytes);
    std::string damaged = write_temp(bytes, "nokallsyms-anywhere");
    auto r = run_lockhound({"analyze", "--no-vmlinux", damaged});
    EXPECT_EQ(r.status, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("not found in the image"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("linux-image-6.1.0-56-amd64-dbg"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

    // With the vmlinux the same damaged dump is analysed in full.
    if (auto v = testing::vmlinux_for(d->release)) {
        auto ok = run_lockhound({"analyze", "--format", "json", damaged, *v, "-q"});
        EXPECT_EQ(ok.status, 3) << ok.err;
        EXPECT_NE(ok.out.find("\"0xffffffffc03a44a0\""), std::string::npos);
    }
    std::filesystem::remove(damaged);
}

}  // namespace
}  // namespace lockhound
