// VirtualMemory::read_readable: the bytes up to the first page a dump does not hold.
#include <gtest/gtest.h>

#include "support/fake_memory.h"

namespace lockhound::dump {
namespace {

TEST(ReadReadable, StopsAtTheFirstMissingPage) {
    testing::FakeMemory mem;
    mem.map(0x10000, 4096);
    mem.map(0x11000, 4096);  // 0x12000 is not in the dump
    mem.map(0x13000, 4096);
    mem.put_u32(0x10ff0, 0xdeadbeef);
    auto b = mem.read_readable(0x10ff0, 0x4000);
    ASSERT_EQ(b.size(), 0x12000u - 0x10ff0u) << "a prefix up to the hole, not past it";
    EXPECT_EQ(std::to_integer<int>(b[0]), 0xef);
    EXPECT_EQ(mem.read_readable(0x10ff0, 0x20).size(), 0x20u) << "within the readable pages";
    EXPECT_TRUE(mem.read_readable(0x12010, 0x100).empty()) << "starts in the hole";
    EXPECT_TRUE(mem.read_readable(0x10000, 0).empty());
}

}  // namespace
}  // namespace lockhound::dump
