// Fuzz target: ELF note parsing (VMCOREINFO, NT_PRSTATUS, QEMU CPU state) and merging.
#include <cstddef>
#include <cstdint>
#include <span>

#include "dump/elf_notes.h"

using namespace lockhound::dump;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    NoteContents notes = parse_notes(std::span(reinterpret_cast<const std::byte*>(data), size));
    auto cpus = merge_cpu_notes(notes);
    if (cpus.size() > notes.cpus.size() + notes.qemu_cpus.size()) __builtin_trap();
    return 0;
}
