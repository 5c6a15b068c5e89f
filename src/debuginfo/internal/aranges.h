// units_of_addresses: which compile units contain some addresses, from the raw bytes of a
// .debug_aranges section (DWARF 2-5, 32- and 64-bit DWARF, 4- or 8-byte addresses). Internal
// to the debuginfo layer (dwarf_types.cpp). The bytes are untrusted: every read is bounds-checked
// and parsing stops at the first malformed set.
//
//   for (std::uint64_t cu : units_of_addresses(aranges, {mutex_lock_addr})) ...  // .debug_info
//                                                                                // offsets
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace lockhound::debuginfo::internal {

// The .debug_info offset of each address range set with a range containing one of addresses
// (each unit once, in section order).
std::vector<std::uint64_t> units_of_addresses(std::span<const std::byte> aranges,
                                              const std::vector<std::uint64_t>& addresses);

}  // namespace lockhound::debuginfo::internal
