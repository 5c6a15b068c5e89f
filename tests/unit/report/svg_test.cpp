#include "report/svg.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

namespace lockhound::report {
namespace {

TEST(Svg, FindOnPath) {
    EXPECT_FALSE(find_on_path("dot", std::string("/nonexistent-dir")));
    EXPECT_TRUE(find_on_path("sh", std::string("/nonexistent-dir:/bin:/usr/bin")));
}

TEST(Svg, DotFailureIsReported) {
    if (!find_on_path("dot")) GTEST_SKIP() << "graphviz not installed";
    auto path = std::filesystem::temp_directory_path() /
                ("lh_svg_test_" + std::to_string(::getpid()) + ".svg");
    auto bad = write_svg("digraph { this is not dot", path.string());
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().kind, ErrorKind::kIo);
    auto good = write_svg("digraph { a -> b }", path.string());
    EXPECT_TRUE(good) << good.error().describe();
    EXPECT_TRUE(std::filesystem::exists(path));
    std::filesystem::remove(path);
}

TEST(Svg, UnwritableOutputFails) {
    if (!find_on_path("dot")) GTEST_SKIP() << "graphviz not installed";
    auto r = write_svg("digraph { a }", "/nonexistent-dir/x.svg");
    EXPECT_FALSE(r);
}

}  // namespace
}  // namespace lockhound::report
