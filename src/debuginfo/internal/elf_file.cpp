#include "debuginfo/internal/elf_file.h"

#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

namespace lockhound::debuginfo::internal {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.release();
    }
    return *this;
}

UniqueFd::~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
}

std::string elf_error_text() {
    const char* msg = elf_errmsg(-1);
    return msg ? msg : "unknown libelf error";
}

Result<ElfFile> ElfFile::open(const std::string& path) {
    static std::once_flag once;
    std::call_once(once, [] { elf_version(EV_CURRENT); });

    ElfFile f;
    f.path_ = path;
    f.fd_ = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (f.fd_.get() < 0)
        return fail(ErrorKind::kIo, fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    f.elf_.reset(elf_begin(f.fd_.get(), ELF_C_READ_MMAP, nullptr));
    if (!f.elf_)
        return fail(ErrorKind::kBadData,
                    fmt::format("{}: not an ELF file ({})", path, elf_error_text()));
    if (elf_kind(f.elf_.get()) != ELF_K_ELF)
        return fail(ErrorKind::kBadData, fmt::format("{}: not an ELF file", path));
    return f;
}

static std::string to_hex(const unsigned char* p, std::size_t n) {
    static constexpr std::string_view kDigits = "0123456789abcdef";
    std::string s;
    s.reserve(2 * n);
    for (std::size_t i = 0; i < n; ++i) {
        s.push_back(kDigits[p[i] >> 4]);
        s.push_back(kDigits[p[i] & 15]);
    }
    return s;
}

Result<std::string> ElfFile::build_id() const {
    Elf_Scn* scn = nullptr;
    while ((scn = elf_nextscn(elf_.get(), scn)) != nullptr) {
        GElf_Shdr shdr;
        if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE) continue;
        Elf_Data* data = elf_getdata(scn, nullptr);
        if (!data || !data->d_buf) continue;
        std::size_t off = 0;
        GElf_Nhdr nhdr;
        std::size_t name_off = 0;
        std::size_t desc_off = 0;
        while (off < data->d_size &&
               (off = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0) {
            const char* name = static_cast<const char*>(data->d_buf) + name_off;
            if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4 &&
                std::memcmp(name, "GNU", 4) == 0 && nhdr.n_descsz > 0) {
                return to_hex(static_cast<const unsigned char*>(data->d_buf) + desc_off,
                              nhdr.n_descsz);
            }
        }
    }
    return fail(ErrorKind::kNotFound, fmt::format("{} has no GNU build-id note", path_));
}

Result<std::span<const std::byte>> ElfFile::section_data(std::string_view name) const {
    std::size_t shstrndx = 0;
    if (elf_getshdrstrndx(elf_.get(), &shstrndx) != 0)
        return fail(ErrorKind::kBadData, fmt::format("{}: no section name table", path_));
    Elf_Scn* scn = nullptr;
    while ((scn = elf_nextscn(elf_.get(), scn)) != nullptr) {
        GElf_Shdr shdr;
        if (!gelf_getshdr(scn, &shdr)) continue;
        const char* n = elf_strptr(elf_.get(), shstrndx, shdr.sh_name);
        if (!n || name != n) continue;
        if (shdr.sh_type == SHT_NOBITS)
            return fail(ErrorKind::kNotFound,
                        fmt::format("{}: section {} has no bytes", path_, name));
        Elf_Data* data = elf_rawdata(scn, nullptr);
        if (!data || (!data->d_buf && data->d_size))
            return fail(
                ErrorKind::kBadData,
                fmt::format("{}: cannot read section {} ({})", path_, name, elf_error_text()));
        return std::span<const std::byte>(static_cast<const std::byte*>(data->d_buf), data->d_size);
    }
    return fail(ErrorKind::kNotFound, fmt::format("{}: no section {}", path_, name));
}

}  // namespace lockhound::debuginfo::internal
