// open_dump: recognise a vmcore and give its memory, VMCOREINFO and CPU registers.
//
//   auto dump = open_dump("vmcore.mkd-d31-lzo");
//   if (!dump) die(dump.error().describe());
//   dump->format;                // "kdump-compressed (lzo), filtered"
//   dump->memory->read_phys(...);
//
// Formats: ELF64 core (kdump /proc/vmcore copies, QEMU dump-guest-memory, virsh), makedumpfile
// kdump-compressed ("diskdump", zlib/lzo/snappy/zstd or raw pages), and either of those in
// makedumpfile's flattened stream format.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "dump/byte_source.h"
#include "dump/cpu_state.h"
#include "dump/physical_memory.h"
#include "dump/vmcoreinfo.h"

namespace lockhound::dump {

struct DumpFile {
    std::string path;
    std::string format;                      // human-readable description
    std::unique_ptr<ByteSource> bytes;       // the file (or its un-flattened view)
    std::unique_ptr<PhysicalMemory> memory;  // the RAM it holds
    VmcoreInfo vmcoreinfo;
    std::string vmcoreinfo_text;
    std::vector<CpuState> cpus;
    std::string header_release;  // utsname.release from a diskdump header, if any
    std::uint64_t pages_in_dump = 0;
    std::uint64_t pages_excluded = 0;  // pages the dump left out (filtering), if known
    // makedumpfile's -d level (kdump-compressed dumps) and the header version it wrote.
    std::optional<int> dump_level;
    int header_version = 0;
};

[[nodiscard]] Result<DumpFile> open_dump(const std::string& path);
// The same from bytes already in memory or any ByteSource (tests, fuzzers).
[[nodiscard]] Result<DumpFile> open_dump(std::unique_ptr<ByteSource> bytes, std::string path);

}  // namespace lockhound::dump
