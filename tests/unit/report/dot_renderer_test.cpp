#include "report/dot_renderer.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "report/escape.h"
#include "report/svg.h"
#include "report_fixtures.h"

namespace lockhound::testing {
namespace {

std::string render(const report::Report& r) {
    std::ostringstream out;
    report::render_dot(out, r);
    return out.str();
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

// The line of the edge "from" -> "to" (ids as the renderer writes them), or "".
std::string edge_line(const std::string& dot, const std::string& from, const std::string& to) {
    std::istringstream in(dot);
    std::string line;
    while (std::getline(in, line))
        if (contains(line, from + " -> " + to + " ")) return line;
    return "";
}

TEST(DotRenderer, CycleMembersAndEdgesAreRed) {
    std::string dot = render(make_report(mixed_cycle()));
    EXPECT_TRUE(dot.starts_with("digraph lockhound {"));
    EXPECT_TRUE(contains(dot, "rankdir=LR;"));
    // 96 waits (write) for table_rwsem, held (read) by 97, who waits for cfg_mutex held by 96.
    std::string w96 = edge_line(dot, "\"t96\"", "\"lffffffffc057a6c0\"");
    std::string h97 = edge_line(dot, "\"lffffffffc057a6c0\"", "\"t97\"");
    std::string w97 = edge_line(dot, "\"t97\"", "\"lffffffffc057a700\"");
    std::string h96 = edge_line(dot, "\"lffffffffc057a700\"", "\"t96\"");
    for (const auto& e : {w96, h97, w97, h96}) {
        ASSERT_FALSE(e.empty()) << dot;
        EXPECT_TRUE(contains(e, "color=red")) << e;
    }
    EXPECT_TRUE(contains(w96, "label=\"write\""));
    EXPECT_TRUE(contains(h97, "label=\"read, likely\""));
    EXPECT_TRUE(contains(h97, "style=dashed"));
    // Bystanders' edges are not red.
    std::string w98 = edge_line(dot, "\"t98\"", "\"lffffffffc057a6c0\"");
    ASSERT_FALSE(w98.empty());
    EXPECT_FALSE(contains(w98, "color=red"));
    EXPECT_TRUE(contains(dot, "shape=octagon"));
    EXPECT_TRUE(contains(dot, "subgraph cluster_legend"));
}

TEST(DotRenderer, IdenticalWaitersCollapse) {
    std::string dot = render(make_report(mmap_pileup()));
    EXPECT_TRUE(contains(dot, "11 × cat")) << dot;
    EXPECT_FALSE(contains(dot, "\"t120\""));  // a collapsed cat has no node of its own
    EXPECT_TRUE(contains(dot, "\"t142\""));   // ps is alone
    EXPECT_TRUE(contains(dot, "\"t97\""));    // the writer
    EXPECT_TRUE(contains(dot, "stuck in io_schedule"));

    std::string many = render(make_report(many_waiters(2000)));
    EXPECT_TRUE(contains(many, "2000 × lb_mw_*")) << many.substr(0, 2000);
    EXPECT_TRUE(contains(many, "read ×1334, write ×666"));
    EXPECT_LT(many.size(), 8000u);
}

TEST(DotRenderer, CraftedCommsAreEscaped) {
    AnalysisBuilder b;
    std::string evil = "evil\"\n<b>{x}";
    std::string clear = "\x1b[2J";
    b.lock(0x3000, locks::LockKind::kMutex, std::string("lock\"]; x -> y; //"));
    b.hold(0x3000, b.task(7, evil));
    b.wait(0x3000, b.task(8, clear));
    report::Report r = make_report(std::move(b));
    std::string dot = render(r);
    EXPECT_TRUE(contains(dot, report::escape_dot(evil))) << dot;
    EXPECT_TRUE(contains(dot, report::escape_dot(clear)));
    EXPECT_FALSE(contains(dot, "evil\""));
    EXPECT_FALSE(contains(dot, "<b>"));
    EXPECT_FALSE(contains(dot, "lock\"]"));
    EXPECT_EQ(dot.find('\x1b'), std::string::npos);
    EXPECT_EQ(dot.find("evil\n"), std::string::npos);

    // Graphviz itself accepts it (when installed).
    if (!report::find_on_path("dot")) GTEST_SKIP() << "graphviz not installed";
    auto svg = std::filesystem::temp_directory_path() /
               ("lh_dot_test_" + std::to_string(::getpid()) + ".svg");
    auto ok = report::write_svg(dot, svg.string());
    ASSERT_TRUE(ok) << ok.error().describe();
    std::ifstream in(svg);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(contains(text, "<svg"));
    std::filesystem::remove(svg);
}

}  // namespace
}  // namespace lockhound::testing
