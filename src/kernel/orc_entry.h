// ORC entries: the four on-disk formats of x86_64 `struct orc_entry` decoded into one form.
//
//   OrcFormat f = orc_format_from_header(header_bytes).value_or(orc_format_from_release(rel));
//   OrcEntry e = decode_orc_entry(bytes_of_one_entry, f);      // 6 bytes, little-endian
//   if (e.type == OrcType::kCall && e.sp_reg == OrcReg::kSp) cfa = sp + e.sp_offset;
//
// Formats (numbered as drgn does): v1 4.14-6.2, v2 6.3 (signal bit), v3 6.4+ (type:3 with
// explicit UNDEFINED / END_OF_STACK), v4 7.1+ (v3 bits, registers renumbered). The decoded form
// is format-independent, so the unwinder never looks at a version number.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace lockhound::debuginfo {
class TypeInfo;
}

namespace lockhound::kernel {

enum class OrcFormat : std::uint8_t { kV1 = 1, kV2 = 2, kV3 = 3, kV4 = 4 };

// Base registers of the CFA (sp_reg) and of the saved frame pointer (bp_reg).
enum class OrcReg : std::uint8_t {
    kUndefined,
    kPrevSp,  // bp_reg only: BP saved at CFA + bp_offset
    kSp,
    kBp,
    kSpIndirect,  // CFA = *SP + sp_offset
    kBpIndirect,  // CFA = *(BP + sp_offset)
    kAx,          // the next five only from a pt_regs already crossed
    kDx,
    kDi,
    kR10,
    kR13,
    kInvalid,  // a number no format defines
};

enum class OrcType : std::uint8_t {
    kUndefined,    // no unwind information here (v1/v2: sp_reg undefined, end clear)
    kEndOfStack,   // a deliberate end (ret_from_fork of a kernel thread, entry code)
    kCall,         // return address at CFA - 8, SP after return = CFA
    kRegs,         // a full struct pt_regs at CFA
    kRegsPartial,  // an iret frame (ip, cs, flags, sp, ss) at CFA
    kInvalid,
};

struct OrcEntry {
    std::int16_t sp_offset = 0;
    std::int16_t bp_offset = 0;
    OrcReg sp_reg = OrcReg::kUndefined;
    OrcReg bp_reg = OrcReg::kUndefined;
    OrcType type = OrcType::kUndefined;
    bool signal = false;  // the IP is exact (not a return address) in the frame above this one

    bool operator==(const OrcEntry&) const = default;
};

inline constexpr std::size_t kOrcEntrySize = 6;
inline constexpr std::size_t kOrcHeaderSize = 20;

// Decodes the three fields of one entry. Never fails: unknown numbers become kInvalid.
OrcEntry decode_orc_entry(std::int16_t sp_offset,
                          std::int16_t bp_offset,
                          std::uint16_t bits,
                          OrcFormat format);
// The same from the 6 raw bytes (fewer bytes: an all-undefined entry).
OrcEntry decode_orc_entry(std::span<const std::byte> bytes, OrcFormat format);

// The format named by a 20-byte `.orc_header` hash (6.3.10+, 6.4+, 7.1+); nullopt if unknown.
std::optional<OrcFormat> orc_format_from_header(std::span<const std::byte> header);
// The format a kernel release string implies ("6.1.0-56-amd64" -> v1); v3 for RHEL 9.6+
// ("5.14.0-517.el9" and later). Unparseable strings give v1.
OrcFormat orc_format_from_release(std::string_view release);
// The format the `struct orc_entry` type says: a `signal` member means v2+, a 3-bit `type`
// means v3+. nullopt when the type is unknown. v3 and v4 look alike here (v3 is returned).
std::optional<OrcFormat> orc_format_from_types(debuginfo::TypeInfo& types);
// The format the raw entries themselves suggest (CALL entries are the vast majority): where the
// type field sits and which number the CFA register of CALL entries uses. nullopt when the
// sample is too small or ambiguous. `entries` is a packed array of 6-byte entries.
std::optional<OrcFormat> orc_format_from_shape(std::span<const std::byte> entries);

const char* to_string(OrcFormat format);
const char* to_string(OrcReg reg);
const char* to_string(OrcType type);
// "sp:sp+16 bp:prev_sp-16 type:call" for diagnostics.
std::string describe(const OrcEntry& entry);

}  // namespace lockhound::kernel
