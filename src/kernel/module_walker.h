// Loaded modules from the `modules` list, with their text ranges, ORC tables and symbols (the
// module's own kallsyms in memory: mod->kallsyms->{symtab,num_symtab,strtab,typetab}), so
// `lb_mutex_A [lockbomb]` resolves without the .ko.
//
//   ModuleWalkResult r = walk_modules(kernel);
//   for (auto& s : r.symbols) table.add(s);
#pragma once

#include <string>
#include <vector>

#include "debuginfo/symbol_table.h"
#include "kernel/module.h"

namespace lockhound::kernel {

class Kernel;

struct ModuleWalkResult {
    std::vector<Module> modules;
    std::vector<debuginfo::OwnedSymbol> symbols;
    std::vector<std::string> problems;
};

// Uses only the `modules` symbol and the types: works with DWARF or BTF alike.
ModuleWalkResult walk_modules(Kernel& kernel);

}  // namespace lockhound::kernel
