// Helpers for the ORC tests: encode entries in any format and build raw tables, the inverse of
// orc_entry.h / orc_table.h, so the tests go through the same decoding as real tables.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "kernel/orc_entry.h"
#include "kernel/orc_table.h"

namespace lockhound::kernel::orc_test {

inline unsigned reg_number(OrcReg r, OrcFormat f) {
    if (f == OrcFormat::kV4) {
        switch (r) {
            case OrcReg::kUndefined:
                return 0;
            case OrcReg::kAx:
                return 1;
            case OrcReg::kDx:
                return 2;
            case OrcReg::kSp:
                return 3;
            case OrcReg::kBp:
                return 4;
            case OrcReg::kDi:
                return 5;
            case OrcReg::kR10:
                return 6;
            case OrcReg::kR13:
                return 7;
            case OrcReg::kPrevSp:
                return 8;
            case OrcReg::kSpIndirect:
                return 9;
            case OrcReg::kBpIndirect:
                return 10;
            default:
                return 15;
        }
    }
    switch (r) {
        case OrcReg::kUndefined:
            return 0;
        case OrcReg::kPrevSp:
            return 1;
        case OrcReg::kDx:
            return 2;
        case OrcReg::kDi:
            return 3;
        case OrcReg::kBp:
            return 4;
        case OrcReg::kSp:
            return 5;
        case OrcReg::kR10:
            return 6;
        case OrcReg::kR13:
            return 7;
        case OrcReg::kBpIndirect:
            return 8;
        case OrcReg::kSpIndirect:
            return 9;
        case OrcReg::kAx:
            return 10;
        default:
            return 15;
    }
}

inline std::uint16_t encode_bits(const OrcEntry& e, OrcFormat f) {
    unsigned bits = reg_number(e.sp_reg, f) | (reg_number(e.bp_reg, f) << 4);
    switch (f) {
        case OrcFormat::kV1:
        case OrcFormat::kV2: {
            unsigned type = 0;
            if (e.type == OrcType::kRegs) type = 1;
            if (e.type == OrcType::kRegsPartial) type = 2;
            bits |= type << 8;
            bool end = e.type == OrcType::kEndOfStack;
            if (f == OrcFormat::kV1) {
                bits |= unsigned{end} << 10;
            } else {
                bits |= unsigned{e.signal} << 10;
                bits |= unsigned{end} << 11;
            }
            break;
        }
        case OrcFormat::kV3:
        case OrcFormat::kV4: {
            unsigned type = 0;
            switch (e.type) {
                case OrcType::kUndefined:
                    type = 0;
                    break;
                case OrcType::kEndOfStack:
                    type = 1;
                    break;
                case OrcType::kCall:
                    type = 2;
                    break;
                case OrcType::kRegs:
                    type = 3;
                    break;
                case OrcType::kRegsPartial:
                    type = 4;
                    break;
                default:
                    type = 7;
                    break;
            }
            bits |= type << 8;
            bits |= unsigned{e.signal} << 11;
            break;
        }
    }
    return static_cast<std::uint16_t>(bits);
}

inline void append_entry(std::vector<std::byte>& out, const OrcEntry& e, OrcFormat f) {
    std::uint16_t bits = encode_bits(e, f);
    std::byte b[6];
    std::memcpy(b, &e.sp_offset, 2);
    std::memcpy(b + 2, &e.bp_offset, 2);
    std::memcpy(b + 4, &bits, 2);
    out.insert(out.end(), b, b + 6);
}

inline OrcEntry call_entry(std::int16_t sp_offset,
                           OrcReg sp_reg = OrcReg::kSp,
                           OrcReg bp_reg = OrcReg::kUndefined,
                           std::int16_t bp_offset = 0) {
    return OrcEntry{sp_offset, bp_offset, sp_reg, bp_reg, OrcType::kCall, false};
}
inline OrcEntry regs_entry(std::int16_t sp_offset = 0) {
    return OrcEntry{sp_offset, 0, OrcReg::kSp, OrcReg::kUndefined, OrcType::kRegs, true};
}
inline OrcEntry end_entry() {
    return OrcEntry{0, 0, OrcReg::kUndefined, OrcReg::kUndefined, OrcType::kEndOfStack, false};
}
inline OrcEntry undefined_entry() {
    return OrcEntry{};
}

// Raw kernel-style tables for (ip, entry) pairs, placed at ip_table_addr.
struct RawTables {
    std::uint64_t ip_table_addr = 0;
    std::vector<std::byte> ips;
    std::vector<std::byte> orcs;
};

inline RawTables make_raw_tables(std::uint64_t ip_table_addr,
                                 const std::vector<std::pair<std::uint64_t, OrcEntry>>& rows,
                                 OrcFormat f) {
    RawTables t;
    t.ip_table_addr = ip_table_addr;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        auto rel = static_cast<std::int32_t>(static_cast<std::int64_t>(rows[i].first) -
                                             static_cast<std::int64_t>(ip_table_addr + i * 4));
        std::byte b[4];
        std::memcpy(b, &rel, 4);
        t.ips.insert(t.ips.end(), b, b + 4);
        append_entry(t.orcs, rows[i].second, f);
    }
    return t;
}

}  // namespace lockhound::kernel::orc_test
