// SymbolTable: kernel and module symbols, both directions.
//
//   table.add({.address = a, .size = s, .name = "down_read"});
//   table.finalize();                          // sort once, after all adds
//   table.address_of("init_task");             // exact name (kernel first, then modules)
//   table.lookup(pc)->format();                // "down_read+0x42/0x9a" or "lb_thread+0x11 [lockbomb]"
//
// Filled from a vmlinux ELF symtab (elf_symbols.h), from the dump's kallsyms (kallsyms.h) and
// from each loaded module's kallsyms (kernel layer).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lockhound::debuginfo {

struct Symbol {
    std::uint64_t address = 0;
    std::uint64_t size = 0;   // 0 when unknown (kallsyms): then up to the next symbol
    std::string name;
    std::string module;       // "" for vmlinux
    char type = 't';          // nm-style: t/T text, d/D data, b/B bss, r/R rodata
    bool is_text() const { return type == 't' || type == 'T' || type == 'w' || type == 'W'; }
};

struct ResolvedAddress {
    const Symbol* symbol = nullptr;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;   // the symbol's size, or the distance to the next symbol
    // "name+0xoff/0xsize [module]" as the kernel prints %pB-style symbols.
    std::string format() const;
};

class SymbolTable {
public:
    void add(Symbol symbol);
    void finalize();  // sorts and indexes; call after the last add
    std::size_t size() const { return symbols_.size(); }
    bool empty() const { return symbols_.empty(); }

    std::optional<std::uint64_t> address_of(std::string_view name) const;
    const Symbol* find(std::string_view name) const;
    // The symbol containing addr (by size when known; else the nearest below, within 1 MiB and the
    // same module). nullopt when addr is before every symbol or beyond the containing one.
    std::optional<ResolvedAddress> lookup(std::uint64_t addr) const;
    const std::vector<Symbol>& symbols() const { return symbols_; }

private:
    std::vector<Symbol> symbols_;  // sorted by address after finalize()
    std::unordered_map<std::string, std::size_t> by_name_;
    bool finalized_ = false;
};

}  // namespace lockhound::debuginfo
