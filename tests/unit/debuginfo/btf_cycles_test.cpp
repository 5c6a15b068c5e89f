// Regression (fuzz_btf timeout): member lookups in BTF whose anonymous members lead back to
// their own struct. Each level's anonymous members were searched again and again (k members per
// level, 64 levels deep: k^64 calls); now each aggregate is searched once per lookup.
#include <gtest/gtest.h>

#include <chrono>

#include "debuginfo/btf_types.h"
#include "support/btf_builder.h"

namespace lockhound::debuginfo {
namespace {

using testing::BtfBuilder;

TEST(BtfAnonymousMembers, CyclesAndFanOutEndQuickly) {
    BtfBuilder b;
    const auto t_int = b.integer("int", 4, 32, true);  // 1
    // 2: struct loop { int x; <anon> loop; <anon> loop; <anon> union 3; }
    b.type("loop", BtfBuilder::kStruct, 4, 16);
    b.member("x", t_int, 0);
    b.member("", 2, 32);
    b.member("", 2, 64);
    b.member("", 3, 96);
    // 3: union { <anon> loop; <anon> union 3; int y; }
    b.type("", BtfBuilder::kUnion, 3, 4);
    b.member("", 2, 0);
    b.member("", 3, 0);
    b.member("y", t_int, 0);
    // 4: struct outer { int a; <anon> struct 5; }  5: struct { int inner; }  (a legal nesting)
    b.type("outer", BtfBuilder::kStruct, 2, 8);
    b.member("a", t_int, 0);
    b.member("", 5, 32);
    b.type("", BtfBuilder::kStruct, 1, 4);
    b.member("inner", t_int, 0);
    auto raw = b.build();
    auto types = BtfTypes::from_bytes(raw, "test");
    ASSERT_TRUE(types) << types.error().describe();

    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE((*types)->member("loop", "missing"));
    EXPECT_FALSE((*types)->member("loop", "x.missing"));
    auto y = (*types)->member("loop", "y");  // through the anonymous union, at bit 96
    ASSERT_TRUE(y);
    EXPECT_EQ(y->offset, 12u);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));

    auto inner = (*types)->member("outer", "inner");
    ASSERT_TRUE(inner);
    EXPECT_EQ(inner->offset, 4u);
    EXPECT_EQ((*types)->member("outer", "a")->offset, 0u);
}

}  // namespace
}  // namespace lockhound::debuginfo
