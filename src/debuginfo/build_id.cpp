#include "debuginfo/build_id.h"

#include <cctype>

#include <fmt/format.h>

#include "debuginfo/internal/elf_file.h"

namespace lockhound::debuginfo {

Result<std::string> read_build_id(const std::string& elf_path) {
    auto f = internal::ElfFile::open(elf_path);
    if (!f) return std::unexpected(f.error());
    return f->build_id();
}

std::string normalize_build_id(std::string_view id) {
    std::string out;
    out.reserve(id.size());
    for (char c : id) {
        if (std::isxdigit(static_cast<unsigned char>(c)))
            out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    return out;
}

Result<> check_build_id(const std::string& elf_path, std::string_view expected) {
    std::string want = normalize_build_id(expected);
    if (want.empty()) return {};
    auto have = read_build_id(elf_path);
    if (!have) return std::unexpected(have.error());
    if (*have != want)
        return fail(
            ErrorKind::kMismatch,
            fmt::format("{} has build-id {}, but the dump's kernel has {}", elf_path, *have, want));
    return {};
}

}  // namespace lockhound::debuginfo
