// Kernel: an opened dump with its types, symbols, tasks and modules — the object every analysis
// starts from.
//
//   auto k = Kernel::open({.dump_path = "vmcore", .vmlinux_path = "vmlinux"});
//   for (const Task& t : (*k)->tasks()) ...
//   (*k)->memory().read_u64(addr);
//   (*k)->types().member("task_struct", "thread.sp");
//   (*k)->symbols().lookup(pc)->format();
//
// Everything is read lazily and cached; what could not be read is collected in warnings().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "debuginfo/symbol_table.h"
#include "debuginfo/type_info.h"
#include "dump/dump_file.h"
#include "dump/kernel_address_space.h"
#include "kernel/module.h"
#include "kernel/patched_memory.h"
#include "kernel/task.h"

namespace lockhound::kernel {

struct OpenOptions {
    std::string dump_path;
    std::string vmlinux_path;  // empty: search by build-id / release, then BTF from the dump
    bool no_vmlinux = false;   // force types from BTF and symbols from kallsyms in the dump
    // Tests only: bytes shown in place of the dump's at these virtual addresses, for everything
    // read through memory() (in-memory damage: looped lists, wild pointers; patched_memory.h).
    std::vector<MemoryPatch> memory_patches;
};

class Kernel {
  public:
    [[nodiscard]] static Result<std::unique_ptr<Kernel>> open(const OpenOptions& options);
    ~Kernel();

    dump::VirtualMemory& memory();
    // Physical address behind a kernel virtual address (page walk; the dump's own tables).
    [[nodiscard]] Result<std::uint64_t> translate(std::uint64_t vaddr);
    debuginfo::TypeInfo& types();
    const debuginfo::SymbolTable& symbols();
    const dump::DumpFile& dump() const;
    const std::string& release() const;
    // "DWARF: /path/vmlinux" or "BTF + kallsyms from the dump"
    std::string debuginfo_description() const;
    std::optional<std::string> vmlinux_path() const;

    const std::vector<Task>& tasks();  // walked once, cached
    const Task* task_by_pid(int pid);
    const Task* task_by_address(std::uint64_t address);
    const std::vector<Module>& modules();  // walked once, cached
    const Module* module_containing(std::uint64_t address);

    // Offset of a member (dotted path), or nullopt; cached per (struct, path).
    std::optional<std::uint64_t> offset_of(std::string_view struct_name, std::string_view path);

    void warn(std::string message);
    const std::vector<std::string>& warnings() const;
    // Informational lines (e.g. which debug info was chosen and why), printed once on stderr.
    void note(std::string message);
    const std::vector<std::string>& notes() const;

    struct Impl;

  private:
    explicit Kernel(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace lockhound::kernel
