// Build-ids: refuse a vmlinux that does not belong to the dump.
//
//   auto id = read_build_id("/usr/lib/debug/boot/vmlinux-6.1.0-56-amd64");   // "eb4fbcd0..."
//   auto ok = check_build_id(path, dump.vmcoreinfo.build_id());   // kMismatch when they differ
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace lockhound::debuginfo {

// Lowercase hex of the ELF file's NT_GNU_BUILD_ID note. kIo / kBadData / kNotFound (no note).
[[nodiscard]] Result<std::string> read_build_id(const std::string& elf_path);

// Lowercase hex digits only (VMCOREINFO's BUILD-ID may carry whitespace or upper case).
std::string normalize_build_id(std::string_view id);

// Ok when the file's build-id equals `expected` (normalized), or when `expected` is empty
// (nothing to compare with). kMismatch names both ids.
[[nodiscard]] Result<> check_build_id(const std::string& elf_path, std::string_view expected);

}  // namespace lockhound::debuginfo
