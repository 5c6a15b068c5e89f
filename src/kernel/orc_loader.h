// Loading ORC tables: the kernel's from the vmlinux ELF or from the dump's memory alone, and each
// module's from its struct module (mod->arch.orc_unwind_ip / orc_unwind / num_orcs).
//
//   OrcFormatHints hints{.release = k.release(), .types = &k.types()};
//   auto t = load_vmlinux_orc("/usr/lib/debug/boot/vmlinux-6.1.0-56-amd64", kaslr_offset, hints);
//   if (!t) t = load_kernel_orc_from_memory(k.memory(), k.symbols(), hints);
//   auto m = load_module_orc(k.memory(), module, t->format());
//
// The format is chosen by the `.orc_header` hash when there is one, else by the `orc_entry`
// type and the shape of the entries, else by the release (see orc_entry.h).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "base/result.h"
#include "debuginfo/symbol_table.h"
#include "debuginfo/type_info.h"
#include "dump/virtual_memory.h"
#include "kernel/module.h"
#include "kernel/orc_table.h"

namespace lockhound::kernel {

struct OrcFormatHints {
    std::string release;                   // utsname release, e.g. "6.1.0-56-amd64"
    debuginfo::TypeInfo* types = nullptr;  // for struct orc_entry, when available
    std::optional<OrcFormat> forced;       // skip detection
};

struct OrcFormatChoice {
    OrcFormat format = OrcFormat::kV1;
    std::string how;  // "by the .orc_header hash", "by the entries' shape", ...
};

// The choice when it needs no entries: forced, by the .orc_header hash, or by struct orc_entry
// when that alone tells the format (not v3 against v4); nullopt when the entries must be read.
std::optional<OrcFormatChoice> choose_orc_format_without_entries(
    std::optional<std::span<const std::byte>> header, const OrcFormatHints& hints);

// header: the 20 `.orc_header` bytes when the kernel has them; entries: raw 6-byte entries.
OrcFormatChoice choose_orc_format(std::optional<std::span<const std::byte>> header,
                                  std::span<const std::byte> entries,
                                  const OrcFormatHints& hints);

// The kernel's table from the sections of a vmlinux ELF (.orc_unwind_ip, .orc_unwind,
// .orc_header). load_offset (KASLR: VMCOREINFO KERNELOFFSET) is added to every link address.
// The lookup blocks are computed for .text.
[[nodiscard]] Result<OrcTable> load_vmlinux_orc(const std::string& vmlinux_path,
                                                std::uint64_t load_offset,
                                                const OrcFormatHints& hints);

// The kernel's table read from memory, located by the symbols __start_orc_unwind_ip,
// __stop_orc_unwind_ip, __start_orc_unwind (and orc_lookup, orc_lookup_end, _stext, _etext for
// the kernel's own lookup blocks; __start_orc_header/__stop_orc_header for the format). When
// the header or struct orc_entry tells the format, the table is read on demand (it must then
// not outlive `memory`); otherwise it is read whole, for the entries' shape.
[[nodiscard]] Result<OrcTable> load_kernel_orc_from_memory(dump::VirtualMemory& memory,
                                                           const debuginfo::SymbolTable& symbols,
                                                           const OrcFormatHints& hints);

// One module's table (sorted at module load, but sorted again if not).
[[nodiscard]] Result<OrcTable> load_module_orc(dump::VirtualMemory& memory,
                                               const Module& module,
                                               OrcFormat format);

// Reads len bytes at address in pieces of at most 1 MiB (one fault ends it).
[[nodiscard]] Result<std::vector<std::byte>> read_bulk(dump::VirtualMemory& memory,
                                                       std::uint64_t address,
                                                       std::uint64_t len);

}  // namespace lockhound::kernel
