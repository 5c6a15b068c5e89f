// ELF symbols: a vmlinux's .symtab as a SymbolTable.
//
//   auto syms = load_elf_symbols(vmlinux, dump.vmcoreinfo.kernel_offset());   // finalized
//   syms->address_of("init_task");          // 0xffffffff82a1aa40 + KASLR offset
//   syms->lookup(pc)->format();             // "down_read+0x42/0x9a"
//
// Keeps FUNC, OBJECT and NOTYPE symbols that are defined in an allocated section (no absolute
// assembler constants, no FILE/SECTION entries), with nm-style type letters. The KASLR offset
// is added to every address except per-CPU variables (.data..percpu is linked at 0 and its
// offsets are not relocated by KASLR; __per_cpu_load, a kernel address in it, is).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "debuginfo/symbol_table.h"

namespace lockhound::debuginfo {

// Adds the symbols to `out` (not finalized: the caller may add more, then finalize()).
// Returns how many were added. kIo / kBadData / kNotFound (no .symtab, e.g. a stripped file).
[[nodiscard]] Result<std::size_t> add_elf_symbols(const std::string& path,
                                                  std::uint64_t offset,
                                                  SymbolTable& out,
                                                  std::string_view module = {});

// A finalized table with just this file's symbols.
[[nodiscard]] Result<SymbolTable> load_elf_symbols(const std::string& path,
                                                   std::uint64_t offset = 0);

}  // namespace lockhound::debuginfo
