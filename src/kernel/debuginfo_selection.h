// Choosing where types and symbols come from, in this order:
//   1. --vmlinux PATH: DWARF types + ELF symbols (refused when its build-id differs from the
//   dump's)
//   2. a vmlinux found by the dump's BUILD-ID / release under /usr/lib/debug
//   3. the dump's own BTF (types) and kallsyms (symbols)
//
//   auto di = select_debuginfo(dump, kas, options);   // di->types, di->symbols, di->description
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "debuginfo/symbol_table.h"
#include "debuginfo/type_info.h"
#include "dump/dump_file.h"
#include "dump/virtual_memory.h"

namespace lockhound::kernel {

struct OpenOptions;

struct SelectedDebuginfo {
    std::unique_ptr<debuginfo::TypeInfo> types;
    debuginfo::SymbolTable symbols;
    std::string description;  // "DWARF: /path" / "BTF + kallsyms from the dump"
    std::optional<std::string> vmlinux_path;
    std::vector<std::string> notes;  // what was tried, shown on request
};

[[nodiscard]] Result<SelectedDebuginfo> select_debuginfo(const dump::DumpFile& dump,
                                                         dump::VirtualMemory& memory,
                                                         const OpenOptions& options);

}  // namespace lockhound::kernel
