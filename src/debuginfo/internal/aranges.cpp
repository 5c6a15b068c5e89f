#include "debuginfo/internal/aranges.h"

#include <algorithm>

#include "base/byte_reader.h"

namespace lockhound::debuginfo::internal {

std::vector<std::uint64_t> units_of_addresses(std::span<const std::byte> aranges,
                                              const std::vector<std::uint64_t>& addresses) {
    std::vector<std::uint64_t> units;
    ByteReader r(aranges);
    std::uint64_t pos = 0;
    while (pos < r.size()) {
        // Set header: unit_length (4, or 0xffffffff + 8), version 2, debug_info_offset (4 or 8),
        // address_size, segment_selector_size; tuples start at a multiple of 2 * address_size.
        auto len32 = r.u32(pos);
        if (!len32) break;
        bool dwarf64 = *len32 == 0xffffffffu;
        std::uint64_t length = *len32;
        std::uint64_t at = pos + 4;
        if (dwarf64) {
            auto len64 = r.u64(pos + 4);
            if (!len64) break;
            length = *len64;
            at = pos + 12;
        }
        if (length == 0 || !r.has(at, length)) break;
        const std::uint64_t end = at + length;
        auto version = r.u16(at);
        if (!version || *version != 2) break;
        std::optional<std::uint64_t> unit;
        if (dwarf64) {
            unit = r.u64(at + 2);
            at += 10;
        } else {
            auto u = r.u32(at + 2);
            if (u) unit = *u;
            at += 6;
        }
        auto address_size = r.u8(at);
        auto segment_size = r.u8(at + 1);
        at += 2;
        if (!unit || !address_size || !segment_size || *segment_size != 0 ||
            (*address_size != 4 && *address_size != 8))
            break;
        const std::uint64_t tuple = 2ull * *address_size;
        const std::uint64_t header_end = at - pos;
        at = pos + (header_end + tuple - 1) / tuple * tuple;
        bool hit = false;
        for (; at + tuple <= end && !hit; at += tuple) {
            std::uint64_t start = 0;
            std::uint64_t size = 0;
            if (*address_size == 8) {
                start = *r.u64(at);
                size = *r.u64(at + 8);
            } else {
                start = *r.u32(at);
                size = *r.u32(at + 4);
            }
            if (start == 0 && size == 0) break;
            hit = std::ranges::any_of(
                addresses, [&](std::uint64_t a) { return a >= start && a - start < size; });
        }
        if (hit && std::ranges::find(units, *unit) == units.end()) units.push_back(*unit);
        pos = end;
    }
    return units;
}

}  // namespace lockhound::debuginfo::internal
