// ElfFile: an open ELF file (fd + libelf handle, both released on destruction). Internal to the
// debuginfo layer: include only from .cpp files, so libelf stays out of the public headers.
//
//   auto f = ElfFile::open("/usr/lib/debug/boot/vmlinux-6.1.0-56-amd64");
//   auto id = f->build_id();              // "eb4fbcd0..."
//   auto btf = f->section_data(".BTF");   // bytes of a section (mapped)
#pragma once

#include <libelf.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"

namespace lockhound::debuginfo::internal {

class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd();
    int get() const { return fd_; }
    int release() {
        int f = fd_;
        fd_ = -1;
        return f;
    }

  private:
    int fd_ = -1;
};

struct ElfDeleter {
    void operator()(Elf* e) const { elf_end(e); }
};
using UniqueElf = std::unique_ptr<Elf, ElfDeleter>;

class ElfFile {
  public:
    [[nodiscard]] static Result<ElfFile> open(const std::string& path);

    Elf* elf() const { return elf_.get(); }
    int fd() const { return fd_.get(); }
    const std::string& path() const { return path_; }

    // Lowercase hex of the NT_GNU_BUILD_ID note; kNotFound when the file has none.
    [[nodiscard]] Result<std::string> build_id() const;
    // The bytes of the first section called `name` (valid as long as this ElfFile lives).
    [[nodiscard]] Result<std::span<const std::byte>> section_data(std::string_view name) const;

  private:
    std::string path_;
    UniqueFd fd_;
    UniqueElf elf_;
};

// "no such file" / libelf's message, for error texts.
std::string elf_error_text();

}  // namespace lockhound::debuginfo::internal
