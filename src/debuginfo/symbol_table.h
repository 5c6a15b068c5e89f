// SymbolTable: kernel and module symbols, both directions.
//
//   table.add({.address = a, .size = s, .name = "down_read"});
//   table.finalize();                          // sort once, after all adds
//   table.address_of("init_task");             // exact name (kernel first, then modules)
//   table.lookup(pc)->format();                // "down_read+0x42/0x9a" or "lb_thread+0x11
//   [lockbomb]" table.lookup_backtrace(ret)->format();     // %pB: looks up ret-1 (a call at a
//   function's end)
//
// Filled from a vmlinux ELF symtab (elf_symbols.h), from the dump's kallsyms (kallsyms.h) and
// from each loaded module's kallsyms (kernel layer).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lockhound::debuginfo {

// A symbol as the table holds it. name and module are views into memory the table owns (its
// name store, for add()) or keeps alive (a mapped ELF string table, for add_borrowed()): valid as
// long as the table, or any copy of it, lives.
struct Symbol {
    std::uint64_t address = 0;
    std::uint64_t size = 0;  // 0 when unknown (kallsyms): then up to the next symbol
    std::string_view name;
    std::string_view module;  // "" for vmlinux
    char type = 't';          // nm-style: t/T text, d/D data, b/B bss, r/R rodata
    bool is_text() const { return type == 't' || type == 'T' || type == 'w' || type == 'W'; }
};

// A symbol with names of its own, for code that collects symbols before adding them (a
// module's kallsyms); add() copies the names.
struct OwnedSymbol {
    std::uint64_t address = 0;
    std::uint64_t size = 0;
    std::string name;
    std::string module;
    char type = 't';
    operator Symbol() const { return {address, size, name, module, type}; }  // NOLINT: implicit
};

struct ResolvedAddress {
    const Symbol* symbol = nullptr;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;  // distance to the next symbol, as the kernel's kallsyms computes
                             // and prints it; symbol->size when no next symbol is near
    // "name+0xoff/0xsize [module]" as the kernel prints %pB-style symbols.
    std::string format() const;
};

class SymbolTable {
  public:
    SymbolTable() = default;
    SymbolTable(const SymbolTable& other);
    SymbolTable& operator=(const SymbolTable& other);
    SymbolTable(SymbolTable&&) noexcept = default;
    SymbolTable& operator=(SymbolTable&&) noexcept = default;

    // Copies the name and module into the table's name store (no allocation per symbol).
    void add(const Symbol& symbol);
    // Keeps symbol.name as it is: it must point into memory given to retain() (or a literal).
    void add_borrowed(const Symbol& symbol, std::string_view module = {});
    // Keeps `owner` (e.g. the mapped file whose string table names point into) alive with the
    // table and its copies.
    void retain(std::shared_ptr<const void> owner) { keep_.push_back(std::move(owner)); }
    void reserve(std::size_t n) { symbols_.reserve(n); }
    void finalize();  // sorts and indexes; call after the last add
    std::size_t size() const { return symbols_.size(); }
    bool empty() const { return symbols_.empty(); }

    std::optional<std::uint64_t> address_of(std::string_view name) const;
    const Symbol* find(std::string_view name) const;
    // The symbol containing addr (by size when known; else the nearest below, within 1 MiB and the
    // same module). nullopt when addr is before every symbol or beyond the containing one.
    // Like the kernel, the nearest symbol below wins (a label inside a function names the code
    // after it); among aliases at one address: non-weak first, then fewer leading underscores,
    // then sized, then global. Requires finalize() (nullopt before it).
    std::optional<ResolvedAddress> lookup(std::uint64_t addr) const;
    // As the kernel's %pB: resolves return_addr-1 and reports the offset of return_addr, so a
    // return address just past a noreturn call at a function's end names that function.
    std::optional<ResolvedAddress> lookup_backtrace(std::uint64_t return_addr) const;
    const std::vector<Symbol>& symbols() const { return symbols_; }
    bool finalized() const { return finalized_; }

  private:
    class NameStore;
    std::string_view store(std::string_view text);
    std::string_view intern_module(std::string_view module);
    void build_name_index() const;
    void index_name(std::size_t i) const;
    std::vector<Symbol> symbols_;  // sorted by address after finalize()
    // What the names point into: name stores (this table's and copied tables') and retained
    // owners. Shared by copies, never modified once a name is handed out.
    std::vector<std::shared_ptr<const void>> keep_;
    std::shared_ptr<NameStore> store_;       // where add() copies names (nullptr until needed)
    std::vector<std::string_view> modules_;  // interned module names (in the name store)
    // Open-addressed name index (high hash bits << 32 | index + 1 into symbols_; 0 = empty),
    // built by the first
    // find() after finalize(): most runs look up a few dozen names among ~100k symbols, and a
    // table of node-allocated strings cost more than the rest of the start-up together.
    mutable std::vector<std::uint64_t> name_slots_;
    mutable bool name_index_ready_ = false;
    std::vector<std::uint64_t> max_end_;  // max_end_[i]: largest address+size among symbols_[0..i]
    bool finalized_ = false;
    std::size_t sorted_prefix_ = 0;  // symbols_[0, sorted_prefix_) are in order
};

}  // namespace lockhound::debuginfo
