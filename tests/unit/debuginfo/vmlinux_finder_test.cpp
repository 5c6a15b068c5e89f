#include "debuginfo/vmlinux_finder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "debuginfo/build_id.h"
#include "support/shared_dumps.h"

namespace lockhound::debuginfo {
namespace {

namespace fs = std::filesystem;

// A fake root with files at the standard places: the test binary itself serves as an ELF file
// with a known build-id (Debian's gcc links with --build-id).
class VmlinuxFinderTest : public ::testing::Test {
  protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() / ("lh-finder-" + std::to_string(::getpid()));
        fs::remove_all(root_);
        fs::create_directories(root_);
        self_ = fs::read_symlink("/proc/self/exe").string();
        auto id = read_build_id(self_);
        if (!id) GTEST_SKIP() << "test binary has no build-id: " << id.error().describe();
        id_ = *id;
    }
    void TearDown() override { fs::remove_all(root_); }
    void place(const std::string& rel, const std::string& target) {
        fs::path p = root_ / rel;
        fs::create_directories(p.parent_path());
        fs::create_symlink(target, p);
    }
    VmlinuxFinderOptions opts() const { return {.root = root_.string()}; }

    fs::path root_;
    std::string self_;
    std::string id_;
};

TEST_F(VmlinuxFinderTest, CandidateOrder) {
    auto c = vmlinux_candidates("EB4FBCD037E7253717950BF2B93BD5566F47C56F",
                                "6.1.0-56-amd64",
                                {.extra_paths = {"/x/vmlinux"}});
    ASSERT_EQ(c.size(), 5u);
    EXPECT_EQ(c[0], "/x/vmlinux");
    EXPECT_EQ(c[1], "/usr/lib/debug/.build-id/eb/4fbcd037e7253717950bf2b93bd5566f47c56f.debug");
    EXPECT_EQ(c[2], "/usr/lib/debug/boot/vmlinux-6.1.0-56-amd64");
    EXPECT_EQ(c[3], "/usr/lib/debug/lib/modules/6.1.0-56-amd64/vmlinux");
    EXPECT_EQ(c[4], "/lib/modules/6.1.0-56-amd64/build/vmlinux");
    // A release from an untrusted dump must not escape the directories.
    EXPECT_EQ(vmlinux_candidates("", "../../etc").size(), 0u);
}

TEST_F(VmlinuxFinderTest, FirstMatchingBuildIdWins) {
    const std::string rel = "9.9.9-test";
    // A wrong file in /usr/lib/debug/boot, the right one further down.
    place("usr/lib/debug/boot/vmlinux-" + rel, "/bin/sh");
    place("lib/modules/" + rel + "/build/vmlinux", self_);
    auto s = find_vmlinux(id_, rel, opts());
    ASSERT_TRUE(s.found) << s.describe_tried();
    EXPECT_EQ(*s.found, (root_ / "lib/modules" / rel / "build/vmlinux").string());
    ASSERT_EQ(s.tried.size(), 4u);
    EXPECT_EQ(s.tried[0].verdict, "missing");  // .build-id link
    EXPECT_NE(s.tried[1].verdict.find("does not match"), std::string::npos) << s.tried[1].verdict;
    EXPECT_FALSE(s.tried[1].accepted);
    EXPECT_EQ(s.tried[2].verdict, "missing");
    EXPECT_EQ(s.tried[3].verdict, "matches");
    EXPECT_TRUE(s.tried[3].accepted);
}

TEST_F(VmlinuxFinderTest, BuildIdLinkIsTriedFirst) {
    place("usr/lib/debug/.build-id/" + id_.substr(0, 2) + "/" + id_.substr(2) + ".debug", self_);
    place("usr/lib/debug/boot/vmlinux-r", self_);
    auto s = find_vmlinux(id_, "r", opts());
    ASSERT_TRUE(s.found);
    EXPECT_NE(s.found->find(".build-id"), std::string::npos);
    EXPECT_EQ(s.tried.size(), 1u);
}

TEST_F(VmlinuxFinderTest, NothingFoundListsEveryPath) {
    place("usr/lib/debug/boot/vmlinux-r", "/bin/sh");
    auto s = find_vmlinux("00112233445566778899aabbccddeeff00112233", "r", opts());
    EXPECT_FALSE(s.found);
    ASSERT_EQ(s.tried.size(), 4u);
    std::string text = s.describe_tried();
    EXPECT_NE(text.find("vmlinux-r (build-id"), std::string::npos) << text;
    EXPECT_NE(text.find("/lib/modules/r/build/vmlinux (missing)"), std::string::npos) << text;
    EXPECT_EQ(VmlinuxSearch{}.describe_tried(), "no path to search (no build-id and no release)");
}

TEST_F(VmlinuxFinderTest, WithoutBuildIdTheFirstElfIsAccepted) {
    place("usr/lib/debug/lib/modules/r/vmlinux", self_);
    place("lib/modules/r/build/vmlinux", "/etc/hostname");
    auto s = find_vmlinux("", "r", opts());
    ASSERT_TRUE(s.found);
    EXPECT_EQ(*s.found, (root_ / "usr/lib/debug/lib/modules/r/vmlinux").string());
    // Not an ELF file: refused with the reason.
    fs::remove(root_ / "usr/lib/debug/lib/modules/r/vmlinux");
    auto t = find_vmlinux("", "r", opts());
    EXPECT_FALSE(t.found);
    EXPECT_NE(t.tried.back().verdict.find("not an ELF"), std::string::npos) << t.describe_tried();
}

}  // namespace
}  // namespace lockhound::debuginfo

namespace lockhound::debuginfo {
namespace {

TEST(VmlinuxFinderReal, ReferenceVmlinuxMatchesItsBuildId) {
    auto path = lockhound::testing::vmlinux_for("6.1.0-56-amd64");
    if (!path) GTEST_SKIP() << "no DWARF vmlinux for 6.1.0-56-amd64";
    auto s = find_vmlinux("eb4fbcd037e7253717950bf2b93bd5566f47c56f",
                          "6.1.0-56-amd64",
                          {.extra_paths = {*path}, .root = "/nonexistent-root"});
    ASSERT_TRUE(s.found) << s.describe_tried();
    EXPECT_EQ(*s.found, *path);
    auto other = find_vmlinux("00112233445566778899aabbccddeeff00112233",
                              "6.1.0-56-amd64",
                              {.extra_paths = {*path}, .root = "/nonexistent-root"});
    EXPECT_FALSE(other.found);
    EXPECT_NE(other.tried[0].verdict.find("build-id eb4fbcd037e7"), std::string::npos)
        << other.describe_tried();
}

}  // namespace
}  // namespace lockhound::debuginfo
