#include "kernel/orc_loader.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include <fmt/format.h>

namespace lockhound::kernel {
namespace {

constexpr std::uint64_t kMaxTableBytes = 64ull << 20;  // far above any real kernel's table
constexpr std::uint64_t kMaxModuleOrcs = 1u << 20;

struct ElfCloser {
    void operator()(Elf* e) const { elf_end(e); }
};

class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }

  private:
    int fd_;
};

struct Section {
    std::uint64_t address = 0;
    std::span<const std::byte> bytes;
};

std::optional<Section> find_section(Elf* elf, std::string_view name) {
    std::size_t shstrndx = 0;
    if (elf_getshdrstrndx(elf, &shstrndx) != 0) return std::nullopt;
    Elf_Scn* scn = nullptr;
    while ((scn = elf_nextscn(elf, scn)) != nullptr) {
        GElf_Shdr shdr;
        if (!gelf_getshdr(scn, &shdr)) continue;
        const char* n = elf_strptr(elf, shstrndx, shdr.sh_name);
        if (!n || name != n) continue;
        Section s;
        s.address = shdr.sh_addr;
        if (shdr.sh_type == SHT_NOBITS) return s;
        Elf_Data* data = elf_rawdata(scn, nullptr);
        if (!data || !data->d_buf) return s;
        s.bytes =
            std::span<const std::byte>(static_cast<const std::byte*>(data->d_buf), data->d_size);
        return s;
    }
    return std::nullopt;
}

std::string elf_message() {
    const char* m = elf_errmsg(-1);
    return m ? m : "unknown libelf error";
}

}  // namespace

std::optional<OrcFormatChoice> choose_orc_format_without_entries(
    std::optional<std::span<const std::byte>> header, const OrcFormatHints& hints) {
    if (hints.forced) return OrcFormatChoice{*hints.forced, "as requested"};
    if (header) {
        if (auto f = orc_format_from_header(*header))
            return OrcFormatChoice{*f, "by the .orc_header hash"};
    }
    if (hints.types) {
        auto by_type = orc_format_from_types(*hints.types);
        if (by_type && *by_type != OrcFormat::kV3)
            return OrcFormatChoice{*by_type, "by struct orc_entry"};
    }
    return std::nullopt;
}

OrcFormatChoice choose_orc_format(std::optional<std::span<const std::byte>> header,
                                  std::span<const std::byte> entries,
                                  const OrcFormatHints& hints) {
    if (auto choice = choose_orc_format_without_entries(header, hints)) return *choice;
    // What is left: struct orc_entry says v3 (or nothing), and only the entries can tell more.
    std::optional<OrcFormat> by_type;
    if (hints.types) by_type = orc_format_from_types(*hints.types);
    std::optional<OrcFormat> by_shape = orc_format_from_shape(entries);
    if (by_type) {
        // The type cannot tell v3 from v4 (only register numbers differ): the shape can.
        if (by_shape && (*by_shape == OrcFormat::kV3 || *by_shape == OrcFormat::kV4))
            return {*by_shape, "by struct orc_entry and the entries' shape"};
        return {*by_type, "by struct orc_entry"};
    }
    if (by_shape) return {*by_shape, "by the entries' shape"};
    return {orc_format_from_release(hints.release),
            fmt::format("by the kernel release \"{}\"", hints.release)};
}

Result<std::vector<std::byte>> read_bulk(dump::VirtualMemory& memory,
                                         std::uint64_t address,
                                         std::uint64_t len) {
    if (len > kMaxTableBytes)
        return fail_at(
            ErrorKind::kLimit, address, fmt::format("{} bytes is too much to read", len));
    std::vector<std::byte> out(len);
    constexpr std::uint64_t kChunk = 1ull << 20;
    for (std::uint64_t done = 0; done < len; done += kChunk) {
        std::uint64_t n = std::min(kChunk, len - done);
        auto r = memory.read(address + done, std::span(out).subspan(done, n));
        if (!r) return std::unexpected(r.error());
    }
    return out;
}

Result<OrcTable> load_vmlinux_orc(const std::string& path,
                                  std::uint64_t load_offset,
                                  const OrcFormatHints& hints) {
    static std::once_flag once;
    std::call_once(once, [] { elf_version(EV_CURRENT); });
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0)
        return fail(ErrorKind::kIo, fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    std::unique_ptr<Elf, ElfCloser> elf(elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr));
    if (!elf || elf_kind(elf.get()) != ELF_K_ELF)
        return fail(ErrorKind::kBadData,
                    fmt::format("{}: not an ELF file ({})", path, elf_message()));
    auto ip = find_section(elf.get(), ".orc_unwind_ip");
    auto orc = find_section(elf.get(), ".orc_unwind");
    if (!ip || !orc || ip->bytes.empty() || orc->bytes.empty())
        return fail(ErrorKind::kNotFound,
                    fmt::format("{} has no .orc_unwind_ip/.orc_unwind sections", path));
    std::optional<std::span<const std::byte>> header;
    if (auto h = find_section(elf.get(), ".orc_header"); h && !h->bytes.empty()) header = h->bytes;
    OrcFormatChoice choice = choose_orc_format(header, orc->bytes, hints);
    auto table = OrcTable::from_raw(
        ip->address + load_offset, ip->bytes, orc->bytes, choice.format, "vmlinux");
    if (!table) return std::unexpected(table.error());
    if (auto text = find_section(elf.get(), ".text"); text && !text->bytes.empty())
        table->set_lookup_blocks(text->address + load_offset,
                                 text->address + load_offset + text->bytes.size());
    table->set_description(fmt::format("ORC tables from {} ({} entries, format {}, {})",
                                       path,
                                       table->size(),
                                       to_string(choice.format),
                                       choice.how));
    return table;
}

Result<OrcTable> load_kernel_orc_from_memory(dump::VirtualMemory& memory,
                                             const debuginfo::SymbolTable& symbols,
                                             const OrcFormatHints& hints) {
    auto start_ip = symbols.address_of("__start_orc_unwind_ip");
    auto stop_ip = symbols.address_of("__stop_orc_unwind_ip");
    auto start_orc = symbols.address_of("__start_orc_unwind");
    if (!start_ip || !stop_ip || !start_orc)
        return fail(ErrorKind::kNotFound,
                    "no __start_orc_unwind_ip/__stop_orc_unwind_ip/__start_orc_unwind symbols "
                    "(kernel without ORC?)");
    if (*stop_ip <= *start_ip || (*stop_ip - *start_ip) % 4 != 0)
        return fail_at(ErrorKind::kBadData,
                       *start_ip,
                       fmt::format("implausible ORC IP table 0x{:x}..0x{:x}", *start_ip, *stop_ip));
    const std::uint64_t n = (*stop_ip - *start_ip) / 4;
    if (auto stop_orc = symbols.address_of("__stop_orc_unwind");
        stop_orc && *stop_orc != *start_orc + n * kOrcEntrySize)
        return fail_at(
            ErrorKind::kBadData,
            *start_orc,
            fmt::format(
                "ORC tables disagree: {} IPs but {} bytes of entries", n, *stop_orc - *start_orc));
    std::optional<std::vector<std::byte>> header_bytes;
    auto hs = symbols.address_of("__start_orc_header");
    auto he = symbols.address_of("__stop_orc_header");
    if (hs && he && *he - *hs == kOrcHeaderSize) {
        if (auto h = read_bulk(memory, *hs, kOrcHeaderSize)) header_bytes = std::move(*h);
    }
    std::optional<std::span<const std::byte>> header;
    if (header_bytes) header = std::span<const std::byte>(*header_bytes);
    auto stext = symbols.address_of("_stext");
    auto etext = symbols.address_of("_etext");
    auto lk = symbols.address_of("orc_lookup");
    auto lk_end = symbols.address_of("orc_lookup_end");
    const bool have_text = stext && etext && *etext > *stext;
    const bool have_lookup = lk && lk_end && *lk_end > *lk && (*lk_end - *lk) % 4 == 0 &&
                             *lk_end - *lk <= kMaxTableBytes;

    // When the format is known without the entries, the table is read on demand: a backtrace
    // needs a few hundred of its entries, not megabytes of pages.
    if (auto choice = choose_orc_format_without_entries(header, hints)) {
        auto reader = [&memory](std::uint64_t address, std::span<std::byte> out) {
            return memory.read(address, out).has_value();
        };
        auto table = OrcTable::on_demand(
            *start_ip, *start_orc, n, choice->format, "vmlinux", std::move(reader));
        if (table) {
            std::string lookup = "no orc_lookup";
            if (have_text) {
                table->set_lookup_words_at(
                    *stext, *etext, have_lookup ? *lk : 0, have_lookup ? (*lk_end - *lk) / 4 : 0);
                if (have_lookup) lookup = "the kernel's orc_lookup";
            }
            table->set_description(
                fmt::format("ORC tables from the dump's memory, read on demand ({} entries, "
                            "format {}, {}; {})",
                            table->size(),
                            to_string(choice->format),
                            choice->how,
                            lookup));
            return table;
        }
    }

    auto ip_bytes = read_bulk(memory, *start_ip, n * 4);
    if (!ip_bytes) return std::unexpected(ip_bytes.error());
    auto orc_bytes = read_bulk(memory, *start_orc, n * kOrcEntrySize);
    if (!orc_bytes) return std::unexpected(orc_bytes.error());
    OrcFormatChoice choice = choose_orc_format(header, *orc_bytes, hints);
    auto table = OrcTable::from_raw(*start_ip, *ip_bytes, *orc_bytes, choice.format, "vmlinux");
    if (!table) return std::unexpected(table.error());

    std::string lookup = "no orc_lookup";
    if (have_text) {
        bool used = false;
        if (have_lookup) {
            if (auto words = read_bulk(memory, *lk, *lk_end - *lk)) {
                std::vector<std::uint32_t> w((*lk_end - *lk) / 4);
                std::memcpy(w.data(), words->data(), w.size() * 4);
                used = table->set_lookup_blocks(*stext, *etext, w);
                lookup = used ? "the kernel's orc_lookup" : "orc_lookup rejected (inconsistent)";
            }
        }
        if (!used) table->set_lookup_blocks(*stext, *etext);
    }
    table->set_description(
        fmt::format("ORC tables from the dump's memory ({} entries, format {}, "
                    "{}; {})",
                    table->size(),
                    to_string(choice.format),
                    choice.how,
                    lookup));
    return table;
}

Result<OrcTable> load_module_orc(dump::VirtualMemory& memory,
                                 const Module& module,
                                 OrcFormat format) {
    if (module.num_orcs == 0 || module.orc_unwind_ip == 0 || module.orc_unwind == 0)
        return fail(ErrorKind::kNotFound, fmt::format("module {} has no ORC tables", module.name));
    if (module.num_orcs > kMaxModuleOrcs)
        return fail_at(
            ErrorKind::kBadData,
            module.address,
            fmt::format("module {}: implausible num_orcs {}", module.name, module.num_orcs));
    auto ip_bytes = read_bulk(memory, module.orc_unwind_ip, module.num_orcs * 4);
    if (!ip_bytes) return std::unexpected(ip_bytes.error());
    auto orc_bytes = read_bulk(memory, module.orc_unwind, module.num_orcs * kOrcEntrySize);
    if (!orc_bytes) return std::unexpected(orc_bytes.error());
    auto table =
        OrcTable::from_raw(module.orc_unwind_ip, *ip_bytes, *orc_bytes, format, module.name);
    if (!table) return std::unexpected(table.error());
    if (module.text_size)
        table->set_end(std::max(table->end(), module.text_base + module.text_size));
    table->set_description(
        fmt::format("ORC of module {} ({} entries)", module.name, table->size()));
    return table;
}

}  // namespace lockhound::kernel
