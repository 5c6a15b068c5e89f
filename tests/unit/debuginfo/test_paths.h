// Shared helpers for the debuginfo tests: the release the shared dumps were taken on and its
// DWARF vmlinux (tests skip when it is absent).
#pragma once

#include <optional>
#include <string>

#include "support/shared_dumps.h"

namespace lockhound::debuginfo::testing {

inline constexpr const char* kRelease = "6.1.0-56-amd64";
inline constexpr const char* kBuildId = "eb4fbcd037e7253717950bf2b93bd5566f47c56f";

inline std::optional<std::string> reference_vmlinux() {
    return lockhound::testing::vmlinux_for(kRelease);
}

}  // namespace lockhound::debuginfo::testing
