#include "debuginfo/elf_symbols.h"

#include <gelf.h>

#include <cctype>
#include <vector>

#include <fmt/format.h>

#include "base/byte_reader.h"
#include "debuginfo/internal/elf_file.h"

namespace lockhound::debuginfo {

namespace {

struct SectionClass {
    bool usable = false;  // allocated and of a kind symbols are kept for
    bool percpu = false;  // .data..percpu: linked at 0, values are per-CPU offsets
    std::uint64_t addr = 0, size = 0;
    char type = 'd';  // nm letter for a local symbol in it
};

std::vector<SectionClass> classify_sections(Elf* elf) {
    std::size_t count = 0;
    std::size_t shstrndx = 0;
    if (elf_getshdrnum(elf, &count) != 0) count = 0;
    if (elf_getshdrstrndx(elf, &shstrndx) != 0) shstrndx = 0;
    std::vector<SectionClass> out(count);
    for (std::size_t i = 1; i < count; ++i) {
        Elf_Scn* scn = elf_getscn(elf, i);
        GElf_Shdr shdr;
        if (!scn || !gelf_getshdr(scn, &shdr) || !(shdr.sh_flags & SHF_ALLOC)) continue;
        SectionClass& c = out[i];
        c.usable = true;
        const char* name = shstrndx ? elf_strptr(elf, shstrndx, shdr.sh_name) : nullptr;
        c.percpu = name && std::string_view(name) == ".data..percpu";
        c.addr = shdr.sh_addr;
        c.size = shdr.sh_size;
        if (shdr.sh_flags & SHF_EXECINSTR)
            c.type = 't';
        else if (shdr.sh_type == SHT_NOBITS)
            c.type = 'b';
        else if (shdr.sh_flags & SHF_WRITE)
            c.type = 'd';
        else
            c.type = 'r';
    }
    return out;
}

}  // namespace

Result<std::size_t> add_elf_symbols(const std::string& path,
                                    std::uint64_t offset,
                                    SymbolTable& out,
                                    std::string_view module) {
    auto file = internal::ElfFile::open(path);
    if (!file) return std::unexpected(file.error());
    Elf* elf = file->elf();

    Elf_Scn* symtab = nullptr;
    GElf_Shdr symtab_hdr;
    for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
        GElf_Shdr shdr;
        if (gelf_getshdr(scn, &shdr) && shdr.sh_type == SHT_SYMTAB) {
            symtab = scn;
            symtab_hdr = shdr;
            break;
        }
    }
    if (!symtab) return fail(ErrorKind::kNotFound, fmt::format("{} has no .symtab", path));
    Elf_Data* data = elf_getdata(symtab, nullptr);
    Elf_Scn* str_scn = elf_getscn(elf, symtab_hdr.sh_link);
    Elf_Data* str_data = str_scn ? elf_getdata(str_scn, nullptr) : nullptr;
    if (!data || !str_data || !str_data->d_buf)
        return fail(
            ErrorKind::kBadData,
            fmt::format("{}: unreadable symbol table ({})", path, internal::elf_error_text()));
    ByteReader strings(std::span<const std::byte>(static_cast<const std::byte*>(str_data->d_buf),
                                                  str_data->d_size));

    auto sections = classify_sections(elf);
    std::size_t entsize = symtab_hdr.sh_entsize ? symtab_hdr.sh_entsize : sizeof(Elf64_Sym);
    std::size_t count = data->d_size / entsize;
    std::size_t added = 0;
    out.reserve(out.size() + count);
    for (std::size_t i = 1; i < count; ++i) {
        GElf_Sym sym;
        if (!gelf_getsym(data, static_cast<int>(i), &sym)) continue;
        int type = GELF_ST_TYPE(sym.st_info);
        if (type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE) continue;
        if (sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE) continue;  // ABS, COMMON
        if (sym.st_shndx >= sections.size() || !sections[sym.st_shndx].usable) continue;
        std::string_view name = strings.cstring(sym.st_name, 1024);
        if (name.empty()) continue;
        const SectionClass& sc = sections[sym.st_shndx];
        char letter = sc.type;
        int bind = GELF_ST_BIND(sym.st_info);
        if (bind == STB_WEAK)
            letter = sc.type == 't' ? 'W' : 'V';
        else if (bind == STB_GLOBAL)
            letter = static_cast<char>(std::toupper(static_cast<unsigned char>(letter)));
        // Per-CPU offsets stay as they are; but symbols such as __per_cpu_load sit in that
        // section with a kernel address (the load address), and that one moves with KASLR.
        bool absolute = sc.percpu && sym.st_value >= sc.addr && sym.st_value - sc.addr <= sc.size;
        out.add(Symbol{.address = absolute ? sym.st_value : sym.st_value + offset,
                       .size = sym.st_size,
                       .name = std::string(name),
                       .module = std::string(module),
                       .type = letter});
        ++added;
    }
    return added;
}

Result<SymbolTable> load_elf_symbols(const std::string& path, std::uint64_t offset) {
    SymbolTable table;
    auto n = add_elf_symbols(path, offset, table);
    if (!n) return std::unexpected(n.error());
    table.finalize();
    return table;
}

}  // namespace lockhound::debuginfo
