// units_of_addresses over hand-built .debug_aranges bytes: which unit holds an address, 32- and
// 64-bit DWARF, 4-byte addresses, and malformed input (cut, wrong version, absurd lengths).
#include "debuginfo/internal/aranges.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace lockhound::debuginfo::internal {
namespace {

using Bytes = std::vector<std::byte>;

template <typename T>
void put(Bytes& b, T v) {
    std::byte raw[sizeof(T)];
    std::memcpy(raw, &v, sizeof(T));
    b.insert(b.end(), raw, raw + sizeof(T));
}

struct Range {
    std::uint64_t start, size;
};

// One set: header, padding to 2 * address_size, the ranges, the terminating (0, 0).
Bytes set(std::uint64_t unit,
          const std::vector<Range>& ranges,
          bool dwarf64 = false,
          std::uint8_t address_size = 8,
          std::uint16_t version = 2) {
    Bytes body;
    put<std::uint16_t>(body, version);
    if (dwarf64)
        put<std::uint64_t>(body, unit);
    else
        put<std::uint32_t>(body, static_cast<std::uint32_t>(unit));
    body.push_back(std::byte{address_size});
    body.push_back(std::byte{0});
    const std::size_t length_field = dwarf64 ? 12 : 4;
    while ((length_field + body.size()) % (2u * address_size)) body.push_back(std::byte{0});
    auto addr = [&](std::uint64_t v) {
        if (address_size == 8)
            put<std::uint64_t>(body, v);
        else
            put<std::uint32_t>(body, static_cast<std::uint32_t>(v));
    };
    for (const auto& r : ranges) addr(r.start), addr(r.size);
    addr(0), addr(0);
    Bytes out;
    if (dwarf64) {
        put<std::uint32_t>(out, 0xffffffffu);
        put<std::uint64_t>(out, body.size());
    } else {
        put<std::uint32_t>(out, static_cast<std::uint32_t>(body.size()));
    }
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

constexpr std::uint64_t kText = 0xffffffff81000000ull;

TEST(Aranges, UnitsHoldingTheAddresses) {
    Bytes b = cat({set(0x0, {{kText, 0x1000}}),
                   set(0x500, {{kText + 0x1000, 0x800}, {kText + 0x9000, 0x10}}),
                   set(0x900, {{kText + 0x2000, 0x100}})});
    EXPECT_EQ(units_of_addresses(b, {kText + 0x9008}), std::vector<std::uint64_t>{0x500});
    EXPECT_EQ(units_of_addresses(b, {kText + 0x2000, kText}),
              (std::vector<std::uint64_t>{0x0, 0x900}));
    EXPECT_EQ(units_of_addresses(b, {kText + 0x1800}), std::vector<std::uint64_t>{})
        << "one past a range's end";
    EXPECT_EQ(units_of_addresses(b, {kText + 0x10, kText + 0x20}), std::vector<std::uint64_t>{0x0})
        << "each unit once";
}

TEST(Aranges, Dwarf64AndFourByteAddresses) {
    Bytes b = cat({set(0x1234567890ull, {{kText, 0x100}}, /*dwarf64=*/true),
                   set(0x40, {{0x1000, 0x100}}, false, /*address_size=*/4)});
    EXPECT_EQ(units_of_addresses(b, {kText + 1}), std::vector<std::uint64_t>{0x1234567890ull});
    EXPECT_EQ(units_of_addresses(b, {0x10ff}), std::vector<std::uint64_t>{0x40});
}

TEST(Aranges, MalformedInputStopsTheParse) {
    Bytes good = set(0x10, {{kText, 0x100}});
    Bytes later = set(0x20, {{kText + 0x100, 0x100}});
    // A wrong version, a zero length, a length past the end: that set and those after are
    // ignored; the sets before still count.
    Bytes bad_version = set(0x30, {{kText + 0x100, 0x100}}, false, 8, 3);
    EXPECT_EQ(units_of_addresses(cat({good, bad_version, later}), {kText, kText + 0x150}),
              std::vector<std::uint64_t>{0x10});
    Bytes zero(4, std::byte{0});
    EXPECT_EQ(units_of_addresses(cat({good, zero, later}), {kText + 0x150}),
              std::vector<std::uint64_t>{});
    Bytes huge = good;
    huge[0] = std::byte{0xf0};
    huge[1] = std::byte{0xff};
    EXPECT_TRUE(units_of_addresses(huge, {kText}).empty());
    Bytes bad_size = set(0x10, {{kText, 0x100}}, false, 8);
    bad_size[10] = std::byte{3};  // address_size 3
    EXPECT_TRUE(units_of_addresses(bad_size, {kText}).empty());
    // Every prefix of a valid section: never a read past the end.
    Bytes two = cat({good, later});
    for (std::size_t n = 0; n <= two.size(); ++n)
        (void)units_of_addresses(std::span(two).first(n), {kText, kText + 0x180});
    EXPECT_TRUE(units_of_addresses({}, {kText}).empty());
}

}  // namespace
}  // namespace lockhound::debuginfo::internal
