// ElfVmcore: an ELF64 core file as physical memory (kdump /proc/vmcore copies, QEMU
// dump-guest-memory, virsh dump, makedumpfile -E).
//
//   auto core = ElfVmcore::open(bytes);     // PT_LOADs by p_paddr (e_phoff honoured), PT_NOTEs
//   core->notes().vmcoreinfo;
//
// Bytes between p_filesz and p_memsz read as zeros, as in the kernel's /proc/vmcore.
#pragma once

#include <memory>
#include <vector>

#include "dump/byte_source.h"
#include "dump/elf_notes.h"
#include "dump/physical_memory.h"

namespace lockhound::dump {

class ElfVmcore final : public PhysicalMemory {
  public:
    static bool looks_elf(const ByteSource& bytes);
    // bytes must outlive the ElfVmcore.
    [[nodiscard]] static Result<std::unique_ptr<ElfVmcore>> open(const ByteSource& bytes);

    Result<> read_phys(std::uint64_t paddr, std::span<std::byte> out) override;
    bool has_page(std::uint64_t paddr) const override;
    std::uint64_t phys_end() const override { return phys_end_; }

    const NoteContents& notes() const { return notes_; }
    std::size_t segment_count() const { return segments_.size(); }
    std::uint64_t bytes_in_file() const;

  private:
    struct Segment {
        std::uint64_t paddr, filesz, memsz, offset;
        std::uint64_t avail;  // bytes of the file part actually present (truncated files)
    };
    explicit ElfVmcore(const ByteSource& bytes) : bytes_(bytes) {}
    const Segment* find(std::uint64_t paddr) const;

    const ByteSource& bytes_;
    std::vector<Segment> segments_;       // sorted by paddr
    std::vector<std::uint64_t> max_end_;  // max paddr + memsz over segments_[0..i]
    NoteContents notes_;
    std::uint64_t phys_end_ = 0;
};

}  // namespace lockhound::dump
