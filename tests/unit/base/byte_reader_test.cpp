#include "base/byte_reader.h"

#include <gtest/gtest.h>

#include <array>

namespace lockhound {
namespace {

TEST(ByteReader, ReadsInsideAndRefusesOutside) {
    std::array<std::byte, 10> raw{};
    for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = std::byte(i + 1);
    ByteReader r(raw);
    EXPECT_EQ(r.u8(0), 1);
    EXPECT_EQ(r.u16(0), 0x0201);
    EXPECT_EQ(r.u64(2), 0x0a09080706050403ull);
    EXPECT_FALSE(r.u64(3).has_value());
    EXPECT_FALSE(r.u32(~0ull - 1).has_value());
    EXPECT_EQ(r.be<std::uint16_t>(0), 0x0102);
    EXPECT_EQ(r.sub(8, 2).size(), 2u);
    EXPECT_EQ(r.sub(9, 2).size(), 0u);
}

TEST(ByteReader, CStringStopsAtNulOrBound) {
    const char text[] = "abc\0def";
    ByteReader r(std::as_bytes(std::span(text)));
    EXPECT_EQ(r.cstring(0, 100), "abc");
    EXPECT_EQ(r.cstring(4, 2), "de");
    EXPECT_EQ(r.cstring(100, 5), "");
}

}  // namespace
}  // namespace lockhound
