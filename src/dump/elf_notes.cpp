#include "dump/elf_notes.h"

#include <array>
#include <cstring>

#include "base/byte_reader.h"

namespace lockhound::dump {

namespace {

constexpr std::uint32_t kNtPrstatus = 1;
constexpr std::uint64_t kPrstatusPid = 32;
constexpr std::uint64_t kPrstatusRegs = 112;
constexpr std::uint64_t kPrstatusMinSize = kPrstatusRegs + (21 * std::uint64_t{8});
constexpr std::size_t kMaxNotes = 65536;

std::uint64_t align4(std::uint64_t v) {
    return (v + 3) & ~std::uint64_t{3};
}

CpuState parse_prstatus(const ByteReader& d, int index) {
    CpuState c;
    c.cpu = index;
    c.source = CpuState::Source::kPrstatus;
    c.pid = d.i32(kPrstatusPid);
    std::array<std::uint64_t*, 21> regs = {
        &c.regs.r15,    &c.regs.r14, &c.regs.r13, &c.regs.r12,      &c.regs.rbp, &c.regs.rbx,
        &c.regs.r11,    &c.regs.r10, &c.regs.r9,  &c.regs.r8,       &c.regs.rax, &c.regs.rcx,
        &c.regs.rdx,    &c.regs.rsi, &c.regs.rdi, &c.regs.orig_rax, &c.regs.rip, &c.regs.cs,
        &c.regs.eflags, &c.regs.rsp, &c.regs.ss};
    for (std::size_t i = 0; i < regs.size(); ++i)
        *regs[i] = d.u64(kPrstatusRegs + (i * 8)).value_or(0);
    return c;
}

bool kernel_half(std::uint64_t addr) {
    return (addr >> 63) != 0;
}

// QEMUCPUState (target/i386 arch_dump): version, size, 16 GPRs + rip/rflags, 10 segments of
// 24 bytes, cr[5], then kernel_gs_base (optional: present when the size field covers it).
std::optional<CpuState> parse_qemu(const ByteReader& d, int index) {
    constexpr std::uint64_t kRegs = 8;
    constexpr std::uint64_t kSegments = kRegs + (18 * std::uint64_t{8});
    constexpr std::uint64_t kCr = kSegments + (10 * std::uint64_t{24});
    constexpr std::uint64_t kGsBase =
        kSegments + (4 * std::uint64_t{24}) + 16;  // gs segment's base
    constexpr std::uint64_t kKernelGsBase = kCr + (5 * std::uint64_t{8});
    if (!d.has(0, kCr + (5 * std::uint64_t{8}))) return std::nullopt;
    CpuState c;
    c.cpu = index;
    c.source = CpuState::Source::kQemu;
    auto r = [&](int i) { return d.u64(kRegs + (static_cast<std::uint64_t>(i) * 8)).value_or(0); };
    c.regs.rax = r(0), c.regs.rbx = r(1), c.regs.rcx = r(2), c.regs.rdx = r(3);
    c.regs.rsi = r(4), c.regs.rdi = r(5), c.regs.rsp = r(6), c.regs.rbp = r(7);
    c.regs.r8 = r(8), c.regs.r9 = r(9), c.regs.r10 = r(10), c.regs.r11 = r(11);
    c.regs.r12 = r(12), c.regs.r13 = r(13), c.regs.r14 = r(14), c.regs.r15 = r(15);
    c.regs.rip = r(16), c.regs.eflags = r(17);
    c.regs.cs = d.u32(kSegments).value_or(0);
    c.regs.ss = d.u32(kSegments + (5 * std::uint64_t{24})).value_or(0);
    c.cr3 = d.u64(kCr + (3 * std::uint64_t{8}));
    // The per-CPU base is in GS while in the kernel; a CPU stopped in user mode has the user's
    // GS there and the kernel's swapped out into kernel_gs_base.
    std::uint64_t gs = d.u64(kGsBase).value_or(0);
    if (!kernel_half(gs) && d.u32(4).value_or(0) >= kKernelGsBase + 8 && d.has(kKernelGsBase, 8)) {
        std::uint64_t kgs = d.u64(kKernelGsBase).value_or(0);
        if (kernel_half(kgs)) gs = kgs;
    }
    c.gs_base = gs;
    return c;
}

}  // namespace

NoteContents parse_notes(std::span<const std::byte> bytes) {
    NoteContents out;
    ByteReader r(bytes);
    std::uint64_t pos = 0;
    std::size_t count = 0;
    while (r.has(pos, 12) && count++ < kMaxNotes) {
        std::uint32_t namesz = r.u32(pos).value_or(0);
        std::uint32_t descsz = r.u32(pos + 4).value_or(0);
        std::uint32_t type = r.u32(pos + 8).value_or(0);
        std::uint64_t name_at = pos + 12;
        std::uint64_t desc_at = name_at + align4(namesz);
        if (!r.has(name_at, namesz) || !r.has(desc_at, descsz)) {
            ++out.skipped;
            break;
        }
        std::string_view name = r.cstring(name_at, namesz);
        ByteReader desc = r.sub(desc_at, descsz);
        if (name == "VMCOREINFO") {
            out.vmcoreinfo.assign(reinterpret_cast<const char*>(desc.bytes().data()), desc.size());
        } else if (name == "CORE" && type == kNtPrstatus) {
            if (desc.has(0, kPrstatusMinSize))
                out.cpus.push_back(parse_prstatus(desc, static_cast<int>(out.cpus.size())));
            else
                ++out.skipped;
        } else if (name == "QEMU") {
            if (auto q = parse_qemu(desc, static_cast<int>(out.qemu_cpus.size())))
                out.qemu_cpus.push_back(*q);
            else
                ++out.skipped;
        }
        pos = desc_at + align4(descsz);
        if (namesz == 0 && descsz == 0 && type == 0) break;  // zero padding
    }
    return out;
}

std::vector<CpuState> merge_cpu_notes(const NoteContents& notes) {
    std::vector<CpuState> cpus = notes.cpus;
    if (cpus.empty()) return notes.qemu_cpus;
    for (std::size_t i = 0; i < cpus.size() && i < notes.qemu_cpus.size(); ++i) {
        cpus[i].cr3 = notes.qemu_cpus[i].cr3;
        cpus[i].gs_base = notes.qemu_cpus[i].gs_base;
    }
    return cpus;
}

}  // namespace lockhound::dump
