// ELF note parsing for vmcores: VMCOREINFO, NT_PRSTATUS (per CPU) and QEMU's CPU state.
//
//   NoteContents notes = parse_notes(bytes);   // never fails; malformed notes are skipped
//   notes.vmcoreinfo;  notes.cpus[0].regs.rip;
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "dump/cpu_state.h"

namespace lockhound::dump {

struct NoteContents {
    std::string vmcoreinfo;
    std::vector<CpuState> cpus;       // from NT_PRSTATUS, in note order
    std::vector<CpuState> qemu_cpus;  // from QEMU CPU-state notes, in note order
    std::size_t skipped = 0;          // notes that were malformed
};

NoteContents parse_notes(std::span<const std::byte> bytes);
// Merges QEMU CPU state (cr3, gs_base) into the PRSTATUS entries, or uses it alone.
std::vector<CpuState> merge_cpu_notes(const NoteContents& notes);

}  // namespace lockhound::dump
