// ELF note parsing: VMCOREINFO, NT_PRSTATUS, QEMU CPU state; malformed notes are skipped.
#include "dump/elf_notes.h"

#include <gtest/gtest.h>

#include "support/dump_builder.h"

namespace lockhound::dump {
namespace {

using testing::Bytes;
using testing::encode_notes;
using testing::NoteSpec;
using testing::prstatus_note;
using testing::qemu_cpu_note;
using testing::QemuCpu;
using testing::sample_regs;
using testing::vmcoreinfo_note;

QemuCpu qemu_cpu(int n) {
    QemuCpu c;
    for (std::size_t i = 0; i < c.gpr.size(); ++i) c.gpr[i] = 0x100ull * (n + 1) + i;
    c.rip = 0xffffffff81000000ull + static_cast<std::uint64_t>(n);
    c.rflags = 0x246;
    c.gs_base = 0xffff88803fc00000ull + 0x100000ull * static_cast<std::uint64_t>(n);
    c.cr3 = 0x1000000ull * static_cast<std::uint64_t>(n + 1);
    return c;
}

TEST(ElfNotes, VmcoreinfoPrstatusAndQemu) {
    Bytes notes = encode_notes({prstatus_note(101, sample_regs(0)),
                                qemu_cpu_note(qemu_cpu(0)),
                                prstatus_note(202, sample_regs(1)),
                                qemu_cpu_note(qemu_cpu(1)),
                                NoteSpec{"CORE", 2, Bytes(512)},  // NT_PRFPREG: ignored
                                NoteSpec{"LINUX", 0x202, Bytes(64)},
                                vmcoreinfo_note("OSRELEASE=6.1.0-test\n")});
    NoteContents n = parse_notes(notes);
    EXPECT_EQ(n.vmcoreinfo, "OSRELEASE=6.1.0-test\n");
    EXPECT_EQ(n.skipped, 0u);
    ASSERT_EQ(n.cpus.size(), 2u);
    EXPECT_EQ(n.cpus[0].pid, 101);
    EXPECT_EQ(n.cpus[1].pid, 202);
    EXPECT_EQ(n.cpus[1].cpu, 1);
    // pt_regs order: r15 r14 ... rip(16) cs eflags rsp(19) ss
    EXPECT_EQ(n.cpus[0].regs.r15, 0x1000u);
    EXPECT_EQ(n.cpus[0].regs.rbp, 0x1004u);
    EXPECT_EQ(n.cpus[1].regs.rip, 0x2010u);
    EXPECT_EQ(n.cpus[1].regs.rsp, 0x2013u);
    EXPECT_EQ(n.cpus[1].regs.ss, 0x2014u);
    EXPECT_EQ(n.cpus[0].source, CpuState::Source::kPrstatus);
    ASSERT_EQ(n.qemu_cpus.size(), 2u);
    EXPECT_EQ(n.qemu_cpus[1].regs.rax, 0x200u);
    EXPECT_EQ(n.qemu_cpus[1].regs.rbp, 0x207u);
    EXPECT_EQ(n.qemu_cpus[1].regs.r15, 0x20fu);
    EXPECT_EQ(n.qemu_cpus[1].regs.rip, 0xffffffff81000001u);
    EXPECT_EQ(n.qemu_cpus[1].regs.eflags, 0x246u);
    EXPECT_EQ(n.qemu_cpus[1].regs.cs, 0x10u);
    EXPECT_EQ(n.qemu_cpus[1].regs.ss, 0x18u);
    EXPECT_EQ(n.qemu_cpus[1].cr3, 0x2000000u);
    EXPECT_EQ(n.qemu_cpus[1].gs_base, 0xffff88803fd00000u);

    auto merged = merge_cpu_notes(n);
    ASSERT_EQ(merged.size(), 2u);
    EXPECT_EQ(merged[1].pid, 202);
    EXPECT_EQ(merged[1].regs.rip, 0x2010u);  // PRSTATUS registers win
    EXPECT_EQ(merged[1].cr3, 0x2000000u);    // QEMU adds cr3 and gs_base
    EXPECT_EQ(merged[1].gs_base, 0xffff88803fd00000u);
}

TEST(ElfNotes, QemuAloneOrPrstatusAlone) {
    NoteContents q = parse_notes(encode_notes({qemu_cpu_note(qemu_cpu(0))}));
    auto cpus = merge_cpu_notes(q);
    ASSERT_EQ(cpus.size(), 1u);
    EXPECT_EQ(cpus[0].source, CpuState::Source::kQemu);
    EXPECT_FALSE(cpus[0].pid.has_value());
    NoteContents p = parse_notes(encode_notes({prstatus_note(7, sample_regs(0))}));
    cpus = merge_cpu_notes(p);
    ASSERT_EQ(cpus.size(), 1u);
    EXPECT_FALSE(cpus[0].cr3.has_value());
}

TEST(ElfNotes, TruncatedLastNoteIsSkipped) {
    Bytes notes = encode_notes({prstatus_note(1, sample_regs(0)),
                                vmcoreinfo_note("OSRELEASE=x\n"),
                                prstatus_note(2, sample_regs(1))});
    // Cut into the last note at every point: the first two survive, nothing crashes.
    const std::size_t last = notes.size() - (12 + 8 + 336);
    for (std::size_t cut = last + 1; cut < notes.size(); ++cut) {
        SCOPED_TRACE(cut);
        NoteContents n = parse_notes(std::span(notes).first(cut));
        EXPECT_EQ(n.cpus.size(), 1u);
        EXPECT_EQ(n.vmcoreinfo, "OSRELEASE=x\n");
        if (cut >= last + 12) {
            EXPECT_EQ(n.skipped, 1u);
        }
    }
}

TEST(ElfNotes, EveryPrefixParsesWithoutCrashing) {
    Bytes notes = encode_notes({vmcoreinfo_note("OSRELEASE=x\nPAGESIZE=4096\n"),
                                prstatus_note(1, sample_regs(0)),
                                qemu_cpu_note(qemu_cpu(0))});
    for (std::size_t cut = 0; cut <= notes.size(); ++cut) {
        NoteContents n = parse_notes(std::span(notes).first(cut));
        EXPECT_LE(n.cpus.size(), 1u);
        EXPECT_LE(n.qemu_cpus.size(), 1u);
    }
}

TEST(ElfNotes, ShortDescriptorsAreSkipped) {
    NoteSpec short_prstatus = prstatus_note(1, sample_regs(0));
    short_prstatus.desc.resize(200);  // pr_reg does not fit
    NoteSpec short_qemu = qemu_cpu_note(qemu_cpu(0));
    short_qemu.desc.resize(300);
    NoteContents n =
        parse_notes(encode_notes({short_prstatus, short_qemu, vmcoreinfo_note("A=1\n")}));
    EXPECT_TRUE(n.cpus.empty());
    EXPECT_TRUE(n.qemu_cpus.empty());
    EXPECT_EQ(n.skipped, 2u);
    EXPECT_EQ(n.vmcoreinfo, "A=1\n");
}

TEST(ElfNotes, HugeSizesAndZeroPaddingStopParsing) {
    Bytes notes = encode_notes({vmcoreinfo_note("A=1\n")});
    Bytes bad = notes;
    testing::put_le32(bad, 0, 0xffffffffu);  // namesz
    NoteContents n = parse_notes(bad);
    EXPECT_TRUE(n.vmcoreinfo.empty());
    EXPECT_EQ(n.skipped, 1u);
    bad = notes;
    testing::put_le32(bad, 4, 0xfffffff0u);  // descsz
    n = parse_notes(bad);
    EXPECT_TRUE(n.vmcoreinfo.empty());
    EXPECT_EQ(n.skipped, 1u);

    // A run of zeros (PT_NOTE padding) ends the notes.
    Bytes padded(64);
    padded.insert(padded.end(), notes.begin(), notes.end());
    n = parse_notes(padded);
    EXPECT_TRUE(n.vmcoreinfo.empty());
    EXPECT_EQ(n.skipped, 0u);
}

TEST(ElfNotes, NameWithoutNulStillMatches) {
    // namesz 4 ("CORE" with no terminating NUL), as some writers do.
    NoteSpec p = prstatus_note(9, sample_regs(0));
    Bytes b = encode_notes({p});
    testing::put_le32(b, 0, 4);
    // name now occupies 4 bytes; shift the descriptor up by the 4 bytes of padding it loses.
    Bytes fixed(b.begin(), b.begin() + 16);
    fixed.insert(fixed.end(), b.begin() + 20, b.end());
    NoteContents n = parse_notes(fixed);
    ASSERT_EQ(n.cpus.size(), 1u);
    EXPECT_EQ(n.cpus[0].pid, 9);
}

// Regression: a CPU stopped in user mode has the user's GS base in the gs segment; the kernel's
// per-CPU base is then in kernel_gs_base (QEMUCPUState's optional last field).
TEST(ElfNotes, QemuCpuInUserModeUsesKernelGsBase) {
    QemuCpu user = qemu_cpu(0);
    user.gs_base = 0x7f0000001000ull;
    user.kernel_gs_base = 0xffff88803fc00000ull;
    QemuCpu kernel = qemu_cpu(1);
    kernel.kernel_gs_base = 0x7f0000002000ull;
    NoteContents n = parse_notes(encode_notes({qemu_cpu_note(user), qemu_cpu_note(kernel)}));
    ASSERT_EQ(n.qemu_cpus.size(), 2u);
    EXPECT_EQ(n.qemu_cpus[0].gs_base, 0xffff88803fc00000u);
    EXPECT_EQ(n.qemu_cpus[1].gs_base, 0xffff88803fd00000u);
    // Without the optional field (an older QEMU, size 432) the gs segment's base is all there is.
    NoteSpec old = qemu_cpu_note(user);
    old.desc.resize(432);
    testing::put_le32(old.desc, 4, 432);
    n = parse_notes(encode_notes({old}));
    ASSERT_EQ(n.qemu_cpus.size(), 1u);
    EXPECT_EQ(n.qemu_cpus[0].gs_base, 0x7f0000001000u);
}

}  // namespace
}  // namespace lockhound::dump
