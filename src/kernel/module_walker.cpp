#include "kernel/module_walker.h"

#include <fmt/format.h>

#include "base/byte_reader.h"
#include "kernel/kernel.h"
#include "kernel/list_walk.h"

namespace lockhound::kernel {

namespace {

constexpr std::size_t kMaxModules = 65536;
constexpr std::uint64_t kMaxModuleSymbols = 1u << 20;
constexpr std::uint64_t kMaxStrtab = 64u << 20;
constexpr std::uint64_t kElfSymSize = 24;  // Elf64_Sym

struct ModuleLayout {
    std::uint64_t list = 0, name = 0;
    std::uint64_t name_len = 56;
    // 6.4+: mem[MOD_TEXT]; before: core_layout. Either gives base/size of the text allocation.
    std::optional<std::uint64_t> text_base, text_size, core_size, core_text_size;
    std::optional<std::uint64_t> orc_ip, orc, num_orcs, kallsyms;
    std::optional<std::uint64_t> ks_symtab, ks_num, ks_strtab, ks_typetab;
};

ModuleLayout module_layout(Kernel& k) {
    ModuleLayout l;
    l.list = k.offset_of("module", "list").value_or(8);
    l.name = k.offset_of("module", "name").value_or(24);
    if (auto m = k.types().member("module", "name"); m && m->size > 0 && m->size <= 256)
        l.name_len = m->size;
    if (k.types().has_member("module", "core_layout")) {
        l.text_base = k.offset_of("module", "core_layout.base");
        l.core_size = k.offset_of("module", "core_layout.size");
        l.core_text_size = k.offset_of("module", "core_layout.text_size");
    } else if (auto mem = k.types().member("module", "mem")) {
        // 6.4+: struct module_memory mem[MOD_MEM_NUM_TYPES]; the text is element MOD_TEXT (the
        // enumerator's value from the types, 0 when they do not name it).
        auto text = k.types().enumerator("MOD_TEXT").value_or(0);
        std::string at = fmt::format("mem[{}]", text);
        l.text_base = k.offset_of("module", at + ".base");
        l.core_size = k.offset_of("module", at + ".size");
    }
    l.orc_ip = k.offset_of("module", "arch.orc_unwind_ip");
    l.orc = k.offset_of("module", "arch.orc_unwind");
    l.num_orcs = k.offset_of("module", "arch.num_orcs");
    l.kallsyms = k.offset_of("module", "kallsyms");
    l.ks_symtab = k.offset_of("mod_kallsyms", "symtab");
    l.ks_num = k.offset_of("mod_kallsyms", "num_symtab");
    l.ks_strtab = k.offset_of("mod_kallsyms", "strtab");
    l.ks_typetab = k.offset_of("mod_kallsyms", "typetab");
    return l;
}

void read_module_symbols(Kernel& k, const ModuleLayout& l, const Module& m, ModuleWalkResult& out) {
    if (!l.kallsyms || !l.ks_symtab || !l.ks_num || !l.ks_strtab) return;
    auto& mem = k.memory();
    auto ks = mem.read_u64(m.address + *l.kallsyms);
    if (!ks || *ks == 0) return;
    auto symtab = mem.read_u64(*ks + *l.ks_symtab);
    auto num = mem.read_u32(*ks + *l.ks_num);
    auto strtab = mem.read_u64(*ks + *l.ks_strtab);
    std::optional<std::uint64_t> typetab;
    if (l.ks_typetab) {
        if (auto t = mem.read_u64(*ks + *l.ks_typetab)) typetab = *t;
    }
    if (!symtab || !num || !strtab || *num == 0 || *num > kMaxModuleSymbols) {
        out.problems.push_back(fmt::format("module {}: symbol table unreadable", m.name));
        return;
    }
    auto syms = mem.read_bytes(*symtab, *num * kElfSymSize);
    if (!syms) {
        out.problems.push_back(
            fmt::format("module {}: symbols unreadable: {}", m.name, syms.error().describe()));
        return;
    }
    ByteReader sr(*syms);
    std::uint32_t max_name = 0;
    for (std::uint32_t i = 0; i < *num; ++i)
        max_name = std::max(max_name, *sr.u32(i * kElfSymSize));
    std::uint64_t str_len = std::min<std::uint64_t>(max_name + 512, kMaxStrtab);
    // The string table may end just before an unmapped page: read page by page up to the first
    // page that cannot be read (names past it are dropped, not the whole table).
    std::vector<std::byte> strs = mem.read_readable(*strtab, str_len);
    const std::uint64_t got = strs.size();
    if (got <= max_name)
        out.problems.push_back(
            fmt::format("module {}: string table readable for {} of {} bytes: some symbols unnamed",
                        m.name,
                        got,
                        max_name + 1));
    std::vector<std::byte> types;
    if (typetab) {
        if (auto t = mem.read_bytes(*typetab, *num)) types = std::move(*t);
    }
    ByteReader str(strs), ty(types);
    for (std::uint32_t i = 0; i < *num; ++i) {
        std::uint64_t at = i * kElfSymSize;
        std::uint32_t name_off = *sr.u32(at);
        std::uint8_t info = *sr.u8(at + 4);
        std::uint16_t shndx = *sr.u16(at + 6);
        std::uint64_t value = *sr.u64(at + 8), size = *sr.u64(at + 16);
        if (value == 0 || shndx == 0) continue;  // undefined
        std::string_view name = str.cstring(name_off, 512);
        if (name.empty()) continue;
        char type = 't';
        if (auto c = ty.u8(i))
            type = static_cast<char>(*c);
        else
            type = (info & 0xf) == 2 ? 't' : 'd';  // STT_FUNC
        if (type == 'U' || type == 'u' || type == 'a' || type == 'A') continue;
        out.symbols.push_back(debuginfo::OwnedSymbol{value, size, std::string(name), m.name, type});
    }
}

}  // namespace

ModuleWalkResult walk_modules(Kernel& k) {
    ModuleWalkResult out;
    auto head = k.symbols().address_of("modules");
    if (!head) {
        out.problems.push_back("no `modules` symbol: module symbols unavailable");
        return out;
    }
    ModuleLayout l = module_layout(k);
    ListWalk w = walk_list(k.memory(), *head, {.max_nodes = kMaxModules});
    if (w.error) out.problems.push_back(fmt::format("module list: {}", w.error->describe()));
    for (std::uint64_t node : w.nodes) {
        Module m;
        m.address = node - l.list;
        auto name = k.memory().read_cstring(m.address + l.name, l.name_len);
        if (!name) {
            out.problems.push_back(fmt::format("module at {:#x}: name unreadable", m.address));
            continue;
        }
        m.name = *name;
        auto rd = [&](std::optional<std::uint64_t> off, std::size_t width) -> std::uint64_t {
            if (!off) return 0;
            if (width == 4) return k.memory().read_u32(m.address + *off).value_or(0);
            return k.memory().read_u64(m.address + *off).value_or(0);
        };
        m.text_base = rd(l.text_base, 8);
        m.core_base = m.text_base;
        m.core_size = rd(l.core_size, 4);
        m.text_size = l.core_text_size ? rd(l.core_text_size, 4) : m.core_size;
        m.orc_unwind_ip = rd(l.orc_ip, 8);
        m.orc_unwind = rd(l.orc, 8);
        m.num_orcs = rd(l.num_orcs, 4);
        read_module_symbols(k, l, m, out);
        out.modules.push_back(std::move(m));
    }
    return out;
}

}  // namespace lockhound::kernel
