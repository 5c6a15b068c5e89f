#include "kernel/orc_entry.h"

#include <array>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "base/byte_reader.h"
#include "debuginfo/type_info.h"

namespace lockhound::kernel {
namespace {

// Register numbers up to 7.0 (v1-v3).
OrcReg old_reg(unsigned n) {
    switch (n) {
        case 0:
            return OrcReg::kUndefined;
        case 1:
            return OrcReg::kPrevSp;
        case 2:
            return OrcReg::kDx;
        case 3:
            return OrcReg::kDi;
        case 4:
            return OrcReg::kBp;
        case 5:
            return OrcReg::kSp;
        case 6:
            return OrcReg::kR10;
        case 7:
            return OrcReg::kR13;
        case 8:
            return OrcReg::kBpIndirect;
        case 9:
            return OrcReg::kSpIndirect;
        case 10:
            return OrcReg::kAx;  // as drgn reads it
        default:
            return OrcReg::kInvalid;
    }
}

// Register numbers from 7.1 (v4).
OrcReg new_reg(unsigned n) {
    switch (n) {
        case 0:
            return OrcReg::kUndefined;
        case 1:
            return OrcReg::kAx;
        case 2:
            return OrcReg::kDx;
        case 3:
            return OrcReg::kSp;
        case 4:
            return OrcReg::kBp;
        case 5:
            return OrcReg::kDi;
        case 6:
            return OrcReg::kR10;
        case 7:
            return OrcReg::kR13;
        case 8:
            return OrcReg::kPrevSp;
        case 9:
            return OrcReg::kSpIndirect;
        case 10:
            return OrcReg::kBpIndirect;
        default:
            return OrcReg::kInvalid;
    }
}

// `.orc_header` hashes (sha256 of orc_types.h, first 20 bytes) of the known layouts.
constexpr std::array<std::uint8_t, kOrcHeaderSize> kHash63 = {
    0xdb, 0x84, 0xae, 0xd4, 0x10, 0x3b, 0x31, 0xdd, 0x51, 0xe0,
    0x17, 0xf8, 0xf7, 0x97, 0x83, 0xca, 0x98, 0x5c, 0x2c, 0x51};
constexpr std::array<std::uint8_t, kOrcHeaderSize> kHash64 = {
    0xfe, 0x5d, 0x32, 0xbf, 0x58, 0x1b, 0xd6, 0x3b, 0x2c, 0xa9,
    0xa5, 0xc6, 0x5b, 0xa5, 0xa6, 0x25, 0xea, 0xb3, 0xfe, 0x24};
constexpr std::array<std::uint8_t, kOrcHeaderSize> kHash71 = {
    0x13, 0x7c, 0x36, 0xad, 0x76, 0x27, 0xc4, 0xdd, 0x55, 0x93,
    0x21, 0x76, 0xbb, 0x0e, 0xcd, 0xbd, 0x50, 0x41, 0xfc, 0x82};

bool same_hash(std::span<const std::byte> header, const std::array<std::uint8_t, 20>& hash) {
    return std::memcmp(header.data(), hash.data(), hash.size()) == 0;
}

// Leading decimal number of s (advancing it); nullopt when there is none.
std::optional<unsigned> take_number(std::string_view& s) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p == s.data()) return std::nullopt;
    s.remove_prefix(static_cast<std::size_t>(p - s.data()));
    return v;
}

}  // namespace

OrcEntry decode_orc_entry(std::int16_t sp_offset,
                          std::int16_t bp_offset,
                          std::uint16_t bits,
                          OrcFormat format) {
    OrcEntry e;
    e.sp_offset = sp_offset;
    e.bp_offset = bp_offset;
    unsigned sp = bits & 0xf;
    unsigned bp = (bits >> 4) & 0xf;
    switch (format) {
        case OrcFormat::kV1:
        case OrcFormat::kV2: {
            e.sp_reg = old_reg(sp);
            e.bp_reg = old_reg(bp);
            unsigned type = (bits >> 8) & 3;
            bool end = format == OrcFormat::kV1 ? (bits >> 10) & 1 : (bits >> 11) & 1;
            e.signal = format == OrcFormat::kV2 && ((bits >> 10) & 1);
            if (e.sp_reg == OrcReg::kUndefined) {
                e.type = end ? OrcType::kEndOfStack : OrcType::kUndefined;
            } else {
                static constexpr std::array<OrcType, 4> kTypes = {
                    OrcType::kCall, OrcType::kRegs, OrcType::kRegsPartial, OrcType::kInvalid};
                e.type = kTypes[type];
            }
            // REGS entries describe an interrupted (exact) IP in v1 as well.
            if (format == OrcFormat::kV1 &&
                (e.type == OrcType::kRegs || e.type == OrcType::kRegsPartial))
                e.signal = true;
            break;
        }
        case OrcFormat::kV3:
        case OrcFormat::kV4: {
            e.sp_reg = format == OrcFormat::kV3 ? old_reg(sp) : new_reg(sp);
            e.bp_reg = format == OrcFormat::kV3 ? old_reg(bp) : new_reg(bp);
            static constexpr std::array<OrcType, 8> kTypes = {OrcType::kUndefined,
                                                              OrcType::kEndOfStack,
                                                              OrcType::kCall,
                                                              OrcType::kRegs,
                                                              OrcType::kRegsPartial,
                                                              OrcType::kInvalid,
                                                              OrcType::kInvalid,
                                                              OrcType::kInvalid};
            e.type = kTypes[(bits >> 8) & 7];
            e.signal = (bits >> 11) & 1;
            break;
        }
    }
    return e;
}

OrcEntry decode_orc_entry(std::span<const std::byte> bytes, OrcFormat format) {
    ByteReader r(bytes);
    auto sp = r.le<std::int16_t>(0);
    auto bp = r.le<std::int16_t>(2);
    auto bits = r.u16(4);
    if (!sp || !bp || !bits) return OrcEntry{};
    return decode_orc_entry(*sp, *bp, *bits, format);
}

std::optional<OrcFormat> orc_format_from_header(std::span<const std::byte> header) {
    if (header.size() != kOrcHeaderSize) return std::nullopt;
    if (same_hash(header, kHash71)) return OrcFormat::kV4;
    if (same_hash(header, kHash64)) return OrcFormat::kV3;
    if (same_hash(header, kHash63)) return OrcFormat::kV2;
    return std::nullopt;
}

OrcFormat orc_format_from_release(std::string_view release) {
    std::string_view s = release;
    auto major = take_number(s);
    if (!major || s.empty() || s.front() != '.') return OrcFormat::kV1;
    s.remove_prefix(1);
    auto minor = take_number(s);
    if (!minor) return OrcFormat::kV1;
    unsigned version = (*major * 1000) + *minor;
    if (version >= 7001) return OrcFormat::kV4;
    if (version >= 6004) return OrcFormat::kV3;
    if (version == 6003) return OrcFormat::kV2;
    // RHEL 9.6 (5.14.0-517.el9) and later carry the 6.4 layout without a header.
    if (version == 5014 && release.find(".el9") != std::string_view::npos) {
        auto dash = release.find('-');
        if (dash != std::string_view::npos) {
            std::string_view rest = release.substr(dash + 1);
            if (auto build = take_number(rest); build && *build >= 517) return OrcFormat::kV3;
        }
    }
    return OrcFormat::kV1;
}

std::optional<OrcFormat> orc_format_from_types(debuginfo::TypeInfo& types) {
    auto type = types.member("orc_entry", "type");
    if (!type) return std::nullopt;
    if (type->bit_size == 3) return OrcFormat::kV3;
    if (type->bit_size == 2) {
        return types.has_member("orc_entry", "signal") ? OrcFormat::kV2 : OrcFormat::kV1;
    }
    return std::nullopt;
}

std::optional<OrcFormat> orc_format_from_shape(std::span<const std::byte> entries) {
    const std::size_t n = entries.size() / kOrcEntrySize;
    ByteReader r(entries);
    // Every entry is looked at: the end-of-stack entries that tell v1 from v2 are rare.
    std::size_t with_sp = 0;
    std::size_t type_low = 0;
    std::size_t type_two = 0;
    std::size_t sp_five = 0;
    std::size_t sp_three = 0;
    bool bit11 = false;
    bool high_bits = false;
    for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t bits = r.u16((i * kOrcEntrySize) + 4).value_or(0);
        unsigned sp = bits & 0xf;
        if (bits & 0x800) bit11 = true;
        if (bits & 0xf000) high_bits = true;
        if (sp == 0) continue;
        ++with_sp;
        unsigned t3 = (bits >> 8) & 7;
        if ((t3 & 3) == 0) ++type_low;  // v1/v2 CALL (bit 10 may be signal in v2)
        if (t3 == 2) {
            ++type_two;
            if (sp == 5) ++sp_five;
            if (sp == 3) ++sp_three;
        }
    }
    if (with_sp < 16 || high_bits) return std::nullopt;
    if (type_two * 2 > with_sp) {
        // v3/v4: CALL entries mostly use SP as the CFA base; SP is 5 in v3 and 3 in v4.
        if (sp_five > sp_three * 2) return OrcFormat::kV3;
        if (sp_three > sp_five * 2) return OrcFormat::kV4;
        return std::nullopt;
    }
    if (type_low * 2 > with_sp) return bit11 ? OrcFormat::kV2 : OrcFormat::kV1;
    return std::nullopt;
}

const char* to_string(OrcFormat format) {
    switch (format) {
        case OrcFormat::kV1:
            return "v1 (4.14-6.2)";
        case OrcFormat::kV2:
            return "v2 (6.3)";
        case OrcFormat::kV3:
            return "v3 (6.4-7.0)";
        case OrcFormat::kV4:
            return "v4 (7.1+)";
    }
    return "?";
}

const char* to_string(OrcReg reg) {
    switch (reg) {
        case OrcReg::kUndefined:
            return "undef";
        case OrcReg::kPrevSp:
            return "prev_sp";
        case OrcReg::kSp:
            return "sp";
        case OrcReg::kBp:
            return "bp";
        case OrcReg::kSpIndirect:
            return "(sp)";
        case OrcReg::kBpIndirect:
            return "(bp)";
        case OrcReg::kAx:
            return "ax";
        case OrcReg::kDx:
            return "dx";
        case OrcReg::kDi:
            return "di";
        case OrcReg::kR10:
            return "r10";
        case OrcReg::kR13:
            return "r13";
        case OrcReg::kInvalid:
            return "invalid";
    }
    return "?";
}

const char* to_string(OrcType type) {
    switch (type) {
        case OrcType::kUndefined:
            return "undefined";
        case OrcType::kEndOfStack:
            return "end";
        case OrcType::kCall:
            return "call";
        case OrcType::kRegs:
            return "regs";
        case OrcType::kRegsPartial:
            return "regs_partial";
        case OrcType::kInvalid:
            return "invalid";
    }
    return "?";
}

std::string describe(const OrcEntry& e) {
    return fmt::format("sp:{}{:+} bp:{}{:+} type:{}{}",
                       to_string(e.sp_reg),
                       e.sp_offset,
                       to_string(e.bp_reg),
                       e.bp_offset,
                       to_string(e.type),
                       e.signal ? " signal" : "");
}

}  // namespace lockhound::kernel
