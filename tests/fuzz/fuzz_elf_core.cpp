// Fuzz target: ELF64 core headers, program headers and PT_NOTEs (ElfVmcore), then reads.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "dump/elf_vmcore.h"

using namespace lockhound::dump;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto* p = reinterpret_cast<const std::byte*>(data);
    MemoryBytes bytes(std::vector<std::byte>(p, p + size));
    if (!ElfVmcore::looks_elf(bytes)) return 0;
    auto core = ElfVmcore::open(bytes);
    if (!core) return 0;
    ElfVmcore& c = **core;
    (void)merge_cpu_notes(c.notes());
    (void)c.bytes_in_file();
    std::vector<std::byte> buf(8192);
    const std::uint64_t end = c.phys_end();
    const std::uint64_t probes[] = {0, 0x1000, 0xff8, 0x100000, end / 2, end - 8, end, ~0ull - 16};
    for (std::uint64_t a : probes) {
        (void)c.has_page(a);
        (void)c.read_phys(a, std::span(buf).first(16));
        (void)c.read_phys(a & ~0xfffull, buf);
    }
    return 0;
}
