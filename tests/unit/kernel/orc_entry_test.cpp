#include "kernel/orc_entry.h"

#include <gtest/gtest.h>

#include <map>

#include "debuginfo/type_info.h"
#include "unit/kernel/orc_test_util.h"

namespace lockhound::kernel {
namespace {

using orc_test::append_entry;
using orc_test::call_entry;
using orc_test::encode_bits;

std::vector<std::byte> bytes_of(std::initializer_list<int> v) {
    std::vector<std::byte> out;
    for (int b : v) out.push_back(static_cast<std::byte>(b));
    return out;
}

TEST(OrcEntry, DecodesV1CallFromRawBytes) {
    // sp_offset 16, bp_offset -16, sp_reg 5 (SP), bp_reg 1 (PREV_SP), type 0 (CALL).
    auto b = bytes_of({0x10, 0x00, 0xf0, 0xff, 0x15, 0x00});
    OrcEntry e = decode_orc_entry(b, OrcFormat::kV1);
    EXPECT_EQ(e.sp_offset, 16);
    EXPECT_EQ(e.bp_offset, -16);
    EXPECT_EQ(e.sp_reg, OrcReg::kSp);
    EXPECT_EQ(e.bp_reg, OrcReg::kPrevSp);
    EXPECT_EQ(e.type, OrcType::kCall);
    EXPECT_FALSE(e.signal);
}

TEST(OrcEntry, V1EndBitAndUndefined) {
    // sp_reg undefined with end (bit 10): the end of a kernel thread's stack.
    EXPECT_EQ(decode_orc_entry(0, 0, 0x0400, OrcFormat::kV1).type, OrcType::kEndOfStack);
    // sp_reg undefined without end: a terminator / no information.
    EXPECT_EQ(decode_orc_entry(0, 0, 0x0000, OrcFormat::kV1).type, OrcType::kUndefined);
    // REGS (type 1) and REGS_IRET (type 2) with SP.
    OrcEntry regs = decode_orc_entry(0, 0, 0x0105, OrcFormat::kV1);
    EXPECT_EQ(regs.type, OrcType::kRegs);
    EXPECT_TRUE(regs.signal);
    EXPECT_EQ(decode_orc_entry(8, 0, 0x0205, OrcFormat::kV1).type, OrcType::kRegsPartial);
}

TEST(OrcEntry, V2SignalAndEndBits) {
    OrcEntry e = decode_orc_entry(8, 0, 0x0405, OrcFormat::kV2);  // CALL, signal
    EXPECT_EQ(e.type, OrcType::kCall);
    EXPECT_TRUE(e.signal);
    EXPECT_EQ(decode_orc_entry(0, 0, 0x0800, OrcFormat::kV2).type, OrcType::kEndOfStack);
    // In v2, bit 10 alone on an undefined entry is not "end".
    EXPECT_EQ(decode_orc_entry(0, 0, 0x0400, OrcFormat::kV2).type, OrcType::kUndefined);
}

TEST(OrcEntry, V3TypesAndV4Registers) {
    EXPECT_EQ(decode_orc_entry(0, 0, 0x0000, OrcFormat::kV3).type, OrcType::kUndefined);
    EXPECT_EQ(decode_orc_entry(0, 0, 0x0100, OrcFormat::kV3).type, OrcType::kEndOfStack);
    OrcEntry call = decode_orc_entry(8, 0, 0x0205, OrcFormat::kV3);
    EXPECT_EQ(call.type, OrcType::kCall);
    EXPECT_EQ(call.sp_reg, OrcReg::kSp);
    EXPECT_EQ(decode_orc_entry(0, 0, 0x0305, OrcFormat::kV3).type, OrcType::kRegs);
    EXPECT_EQ(decode_orc_entry(0, 0, 0x0405, OrcFormat::kV3).type, OrcType::kRegsPartial);
    EXPECT_EQ(decode_orc_entry(0, 0, 0x0505, OrcFormat::kV3).type, OrcType::kInvalid);
    EXPECT_TRUE(decode_orc_entry(0, 0, 0x0b05, OrcFormat::kV3).signal);
    // v4: 3 is SP, 5 is DI, 8 is PREV_SP.
    OrcEntry v4 = decode_orc_entry(16, -16, 0x0283, OrcFormat::kV4);
    EXPECT_EQ(v4.sp_reg, OrcReg::kSp);
    EXPECT_EQ(v4.bp_reg, OrcReg::kPrevSp);
    EXPECT_EQ(decode_orc_entry(0, 0, 0x0205, OrcFormat::kV4).sp_reg, OrcReg::kDi);
    EXPECT_EQ(decode_orc_entry(0, 0, 0x020a, OrcFormat::kV4).sp_reg, OrcReg::kBpIndirect);
    EXPECT_EQ(decode_orc_entry(0, 0, 0x020a, OrcFormat::kV3).sp_reg, OrcReg::kAx);
    EXPECT_EQ(decode_orc_entry(0, 0, 0x020c, OrcFormat::kV3).sp_reg, OrcReg::kInvalid);
}

TEST(OrcEntry, EncoderRoundTripsInEveryFormat) {
    std::vector<OrcEntry> samples = {
        call_entry(8),
        call_entry(16, OrcReg::kSp, OrcReg::kPrevSp, -16),
        call_entry(16, OrcReg::kBp, OrcReg::kBp, 0),
        call_entry(8, OrcReg::kSpIndirect),
        orc_test::regs_entry(0),
        orc_test::end_entry(),
        orc_test::undefined_entry(),
    };
    for (auto f : {OrcFormat::kV1, OrcFormat::kV2, OrcFormat::kV3, OrcFormat::kV4}) {
        for (const auto& e : samples) {
            OrcEntry d = decode_orc_entry(e.sp_offset, e.bp_offset, encode_bits(e, f), f);
            EXPECT_EQ(d.type, e.type) << to_string(f) << " " << describe(e);
            EXPECT_EQ(d.sp_reg, e.sp_reg) << to_string(f) << " " << describe(e);
            EXPECT_EQ(d.bp_reg, e.bp_reg) << to_string(f) << " " << describe(e);
            EXPECT_EQ(d.sp_offset, e.sp_offset);
            EXPECT_EQ(d.bp_offset, e.bp_offset);
        }
    }
}

TEST(OrcEntry, ShortInputDecodesAsUndefined) {
    auto b = bytes_of({0x10, 0x00, 0xf0});
    EXPECT_EQ(decode_orc_entry(b, OrcFormat::kV3).type, OrcType::kUndefined);
}

TEST(OrcFormat, FromHeaderHash) {
    auto h64 = bytes_of({0xfe, 0x5d, 0x32, 0xbf, 0x58, 0x1b, 0xd6, 0x3b, 0x2c, 0xa9,
                         0xa5, 0xc6, 0x5b, 0xa5, 0xa6, 0x25, 0xea, 0xb3, 0xfe, 0x24});
    auto h63 = bytes_of({0xdb, 0x84, 0xae, 0xd4, 0x10, 0x3b, 0x31, 0xdd, 0x51, 0xe0,
                         0x17, 0xf8, 0xf7, 0x97, 0x83, 0xca, 0x98, 0x5c, 0x2c, 0x51});
    auto h71 = bytes_of({0x13, 0x7c, 0x36, 0xad, 0x76, 0x27, 0xc4, 0xdd, 0x55, 0x93,
                         0x21, 0x76, 0xbb, 0x0e, 0xcd, 0xbd, 0x50, 0x41, 0xfc, 0x82});
    EXPECT_EQ(orc_format_from_header(h64), OrcFormat::kV3);
    EXPECT_EQ(orc_format_from_header(h63), OrcFormat::kV2);
    EXPECT_EQ(orc_format_from_header(h71), OrcFormat::kV4);
    auto other = h64;
    other[19] = std::byte{0};
    EXPECT_EQ(orc_format_from_header(other), std::nullopt);
    EXPECT_EQ(orc_format_from_header(std::span(h64).first(19)), std::nullopt);
}

TEST(OrcFormat, FromRelease) {
    EXPECT_EQ(orc_format_from_release("6.1.0-56-amd64"), OrcFormat::kV1);
    EXPECT_EQ(orc_format_from_release("4.19.0-27-amd64"), OrcFormat::kV1);
    EXPECT_EQ(orc_format_from_release("6.3.0"), OrcFormat::kV2);
    EXPECT_EQ(orc_format_from_release("6.4.2-arch1"), OrcFormat::kV3);
    EXPECT_EQ(orc_format_from_release("6.19.0"), OrcFormat::kV3);
    EXPECT_EQ(orc_format_from_release("7.1.0-rc1"), OrcFormat::kV4);
    EXPECT_EQ(orc_format_from_release("5.14.0-503.el9.x86_64"), OrcFormat::kV1);
    EXPECT_EQ(orc_format_from_release("5.14.0-570.12.1.el9_6.x86_64"), OrcFormat::kV3);
    EXPECT_EQ(orc_format_from_release(""), OrcFormat::kV1);
    EXPECT_EQ(orc_format_from_release("garbage"), OrcFormat::kV1);
}

std::vector<std::byte> shaped_table(OrcFormat f, bool with_end) {
    std::vector<std::byte> out;
    for (int i = 0; i < 100; ++i)
        append_entry(out, call_entry(static_cast<std::int16_t>(8 + 8 * (i % 5))), f);
    for (int i = 0; i < 5; ++i) append_entry(out, orc_test::regs_entry(0), f);
    append_entry(out, orc_test::undefined_entry(), f);
    if (with_end) append_entry(out, orc_test::end_entry(), f);
    return out;
}

TEST(OrcFormat, FromShape) {
    EXPECT_EQ(orc_format_from_shape(shaped_table(OrcFormat::kV1, true)), OrcFormat::kV1);
    EXPECT_EQ(orc_format_from_shape(shaped_table(OrcFormat::kV2, true)), OrcFormat::kV2);
    EXPECT_EQ(orc_format_from_shape(shaped_table(OrcFormat::kV3, true)), OrcFormat::kV3);
    EXPECT_EQ(orc_format_from_shape(shaped_table(OrcFormat::kV4, true)), OrcFormat::kV4);
    // v2 without any end entry looks like v1 (the release decides then).
    EXPECT_EQ(orc_format_from_shape(shaped_table(OrcFormat::kV2, false)), OrcFormat::kV1);
    // Too small a sample.
    std::vector<std::byte> few;
    append_entry(few, call_entry(8), OrcFormat::kV3);
    EXPECT_EQ(orc_format_from_shape(few), std::nullopt);
    // Bits no format uses.
    std::vector<std::byte> junk(600, std::byte{0xff});
    EXPECT_EQ(orc_format_from_shape(junk), std::nullopt);
}

class FakeTypes final : public debuginfo::TypeInfo {
  public:
    std::map<std::string, debuginfo::MemberInfo> members;
    std::string describe() const override { return "fake"; }
    std::optional<std::uint64_t> struct_size(std::string_view) override { return std::nullopt; }
    std::optional<debuginfo::MemberInfo> member(std::string_view s, std::string_view p) override {
        auto it = members.find(std::string(s) + "." + std::string(p));
        if (it == members.end()) return std::nullopt;
        return it->second;
    }
    std::optional<std::int64_t> enumerator(std::string_view) override { return std::nullopt; }
};

TEST(OrcFormat, FromTypes) {
    FakeTypes t;
    EXPECT_EQ(orc_format_from_types(t), std::nullopt);
    t.members["orc_entry.type"] = {.offset = 5, .size = 2, .bit_offset = 0, .bit_size = 2};
    t.members["orc_entry.end"] = {.offset = 5, .size = 2, .bit_offset = 2, .bit_size = 1};
    EXPECT_EQ(orc_format_from_types(t), OrcFormat::kV1);
    t.members["orc_entry.signal"] = {.offset = 5, .size = 2, .bit_offset = 2, .bit_size = 1};
    EXPECT_EQ(orc_format_from_types(t), OrcFormat::kV2);
    t.members["orc_entry.type"].bit_size = 3;
    EXPECT_EQ(orc_format_from_types(t), OrcFormat::kV3);
}

}  // namespace
}  // namespace lockhound::kernel
