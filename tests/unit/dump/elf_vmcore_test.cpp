// ElfVmcore over ELF64 cores built in memory: PT_LOADs by p_paddr, p_filesz < p_memsz, notes,
// program headers where QEMU puts them, PN_XNUM, truncation and bad headers.
#include "dump/elf_vmcore.h"

#include <gtest/gtest.h>

#include "dump_test_helpers.h"

namespace lockhound::dump {
namespace {

using test::Bytes;
using test::memory_bytes;
using testing::ElfCoreLayout;
using testing::ElfCoreSpec;
using testing::PhysImage;

constexpr std::uint64_t kSeg0 = 0x0, kSeg0Len = 0x3000;
constexpr std::uint64_t kSeg1 = 0x100000, kSeg1Len = 0x5000;
constexpr std::uint64_t kSeg2 = 0x200000, kSeg2File = 0x1800, kSeg2Mem = 0x4000;

PhysImage sample_memory() {
    PhysImage mem;
    mem.fill_pattern(kSeg0, kSeg0Len);
    mem.fill_pattern(kSeg1, kSeg1Len);
    mem.fill_pattern(kSeg2, kSeg2Mem);  // only the first kSeg2File bytes go into the file
    return mem;
}

ElfCoreSpec sample_spec(std::uint64_t phoff = 192) {
    ElfCoreSpec spec;
    spec.phoff = phoff;
    testing::QemuCpu q0, q1;
    q0.cr3 = 0x1234000;
    q1.cr3 = 0x5678000;
    spec.notes = {testing::prstatus_note(1, testing::sample_regs(0)),
                  testing::qemu_cpu_note(q0),
                  testing::prstatus_note(2, testing::sample_regs(1)),
                  testing::qemu_cpu_note(q1),
                  testing::vmcoreinfo_note("OSRELEASE=6.1.0-test\nPAGESIZE=4096\n")};
    // Deliberately not in paddr order.
    spec.loads = {{kSeg1, kSeg1Len, kSeg1Len, 0xffff888000100000},
                  {kSeg0, kSeg0Len, kSeg0Len, 0xffff888000000000},
                  {kSeg2, kSeg2File, kSeg2Mem, 0xffff888000200000}};
    return spec;
}

Bytes expected_bytes(const PhysImage& mem, std::uint64_t paddr, std::size_t len) {
    Bytes b = mem.read(paddr, len);
    // Beyond p_filesz of the third segment the dump holds zeros.
    for (std::size_t i = 0; i < len; ++i)
        if (paddr + i >= kSeg2 + kSeg2File && paddr + i < kSeg2 + kSeg2Mem) b[i] = std::byte{0};
    return b;
}

class ElfVmcoreTest : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(ElfVmcoreTest, ReadsBackExactBytes) {
    PhysImage mem = sample_memory();
    Bytes file = testing::build_elf_core(mem, sample_spec(GetParam()));
    MemoryBytes src(file);
    auto core = ElfVmcore::open(src);
    ASSERT_TRUE(core.has_value()) << core.error().describe();
    EXPECT_EQ((*core)->segment_count(), 3u);
    EXPECT_EQ((*core)->phys_end(), kSeg2 + kSeg2Mem);
    EXPECT_EQ((*core)->bytes_in_file(), kSeg0Len + kSeg1Len + kSeg2File);
    for (auto [addr, len] : {std::pair<std::uint64_t, std::size_t>{kSeg0, kSeg0Len},
                             {kSeg1, kSeg1Len},
                             {kSeg2, kSeg2Mem},
                             {kSeg1 + 0xff8, 16},  // crosses a page
                             {kSeg1 + 0x123, 0x2345},
                             {kSeg2 + kSeg2File - 8, 16}}) {  // crosses p_filesz
        SCOPED_TRACE(addr);
        Bytes got(len);
        auto r = (*core)->read_phys(addr, got);
        ASSERT_TRUE(r.has_value()) << r.error().describe();
        EXPECT_EQ(got, expected_bytes(mem, addr, len));
    }
    EXPECT_TRUE((*core)->has_page(kSeg1 + 0x4fff));
    EXPECT_TRUE((*core)->has_page(kSeg2 + 0x3000));  // zero-filled part
    EXPECT_FALSE((*core)->has_page(kSeg1 + 0x5000));
    EXPECT_FALSE((*core)->has_page(0x80000000));
}

TEST_P(ElfVmcoreTest, GapsAreNotInDumpWithTheAddress) {
    PhysImage mem = sample_memory();
    Bytes file = testing::build_elf_core(mem, sample_spec(GetParam()));
    MemoryBytes src(file);
    auto core = ElfVmcore::open(src);
    ASSERT_TRUE(core.has_value());
    std::array<std::byte, 64> buf{};
    auto r = (*core)->read_phys(0x50000, buf);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, ErrorKind::kNotInDump);
    EXPECT_EQ(r.error().address, 0x50000u);
    EXPECT_TRUE(r.error().has_address);
    // Starting inside a segment and running off its end: the address is the segment's end.
    r = (*core)->read_phys(kSeg1 + kSeg1Len - 16, buf);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, ErrorKind::kNotInDump);
    EXPECT_EQ(r.error().address, kSeg1 + kSeg1Len);
    r = (*core)->read_phys(~0ull - 8, buf);
    ASSERT_FALSE(r.has_value());
}

TEST_P(ElfVmcoreTest, NotesAndOpenDump) {
    PhysImage mem = sample_memory();
    Bytes file = testing::build_elf_core(mem, sample_spec(GetParam()));
    auto f = test::open_built(file);
    ASSERT_TRUE(f.has_value()) << f.error().describe();
    EXPECT_EQ(f->vmcoreinfo.osrelease(), "6.1.0-test");
    EXPECT_EQ(f->format, "ELF64 core, 3 PT_LOAD segments");
    ASSERT_EQ(f->cpus.size(), 2u);
    EXPECT_EQ(f->cpus[0].pid, 1);
    EXPECT_EQ(f->cpus[1].regs.rip, 0x2010u);
    EXPECT_EQ(f->cpus[0].cr3, 0x1234000u);
    EXPECT_EQ(f->cpus[1].cr3, 0x5678000u);
    EXPECT_EQ(f->pages_in_dump, (kSeg0Len + kSeg1Len + kSeg2File) / 4096);
}

INSTANTIATE_TEST_SUITE_P(PhdrOffsets, ElfVmcoreTest, ::testing::Values(64, 192, 1000));

TEST(ElfVmcore, PnXnumCountFromSectionHeader) {
    PhysImage mem = sample_memory();
    ElfCoreSpec spec = sample_spec(64);
    spec.pn_xnum = true;
    Bytes file = testing::build_elf_core(mem, spec);
    MemoryBytes src(file);
    auto core = ElfVmcore::open(src);
    ASSERT_TRUE(core.has_value()) << core.error().describe();
    EXPECT_EQ((*core)->segment_count(), 3u);
    // The section header table is missing.
    testing::put_le64(file, 40, 1ull << 40);
    MemoryBytes src2(file);
    auto bad = ElfVmcore::open(src2);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().kind, ErrorKind::kTruncated);
}

TEST(ElfVmcore, TruncatedFileKeepsWhatIsThere) {
    PhysImage mem = sample_memory();
    ElfCoreLayout layout;
    Bytes file = testing::build_elf_core(mem, sample_spec(), &layout);
    // Segments are written in spec order: kSeg1, kSeg0, kSeg2. Cut in the middle of kSeg0.
    std::uint64_t cut = layout.load_offsets[1] + 0x1800;
    Bytes cut_file(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(cut));
    auto f = test::open_built(cut_file);
    ASSERT_TRUE(f.has_value()) << f.error().describe();
    EXPECT_EQ(f->pages_in_dump, (kSeg1Len + 0x1800) / 4096);
    Bytes got(0x1800);
    ASSERT_TRUE(f->memory->read_phys(kSeg0, got).has_value());
    EXPECT_EQ(got, mem.read(kSeg0, 0x1800));
    ASSERT_TRUE(f->memory->read_phys(kSeg1, got).has_value());
    std::array<std::byte, 32> buf{};
    auto r = f->memory->read_phys(kSeg0 + 0x1800 - 16, buf);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, ErrorKind::kNotInDump);
    EXPECT_EQ(r.error().address, kSeg0 + 0x1800);
    r = f->memory->read_phys(kSeg2, buf);  // wholly beyond the end of the file
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, ErrorKind::kNotInDump);
    EXPECT_EQ(r.error().address, kSeg2);
    EXPECT_FALSE(f->memory->has_page(kSeg0 + 0x2000));
    EXPECT_TRUE(f->memory->has_page(kSeg0 + 0x1000));
    // The zero-filled tail of kSeg2 needs no file bytes.
    EXPECT_TRUE(f->memory->read_phys(kSeg2 + kSeg2File, buf).has_value());
}

TEST(ElfVmcore, EveryPrefixOpensOrFailsCleanly) {
    PhysImage mem = sample_memory();
    Bytes file = testing::build_elf_core(mem, sample_spec());
    for (std::size_t cut = 0; cut < file.size(); cut += (cut < 2048 ? 1 : 509)) {
        SCOPED_TRACE(cut);
        auto f = test::open_built(std::span(file).first(cut));
        if (!f) {
            EXPECT_FALSE(f.error().message.empty());
            continue;
        }
        Bytes buf(0x1000);
        for (std::uint64_t a : {kSeg0, kSeg1, kSeg2, kSeg2 + 0x3000}) {
            auto r = f->memory->read_phys(a, buf);
            if (r) {
                EXPECT_EQ(buf, expected_bytes(mem, a, buf.size()));
            } else {
                EXPECT_EQ(r.error().kind, ErrorKind::kNotInDump);
            }
        }
    }
}

TEST(ElfVmcore, BadHeaders) {
    PhysImage mem = sample_memory();
    const Bytes good = testing::build_elf_core(mem, sample_spec());
    auto open_patched = [&](auto patch) {
        Bytes b = good;
        patch(b);
        MemoryBytes src(b);
        auto r = ElfVmcore::open(src);
        return r ? ErrorKind::kMismatch : r.error().kind;  // kMismatch: "it opened"
    };
    EXPECT_EQ(open_patched([](Bytes& b) { b[4] = std::byte{1}; }), ErrorKind::kUnsupported);
    EXPECT_EQ(open_patched([](Bytes& b) { b[5] = std::byte{2}; }), ErrorKind::kUnsupported);
    EXPECT_EQ(open_patched([](Bytes& b) { b[16] = std::byte{2}; }),
              ErrorKind::kBadData);  // ET_EXEC
    EXPECT_EQ(open_patched([](Bytes& b) { b[18] = std::byte{183}; }), ErrorKind::kUnsupported);
    EXPECT_EQ(open_patched([](Bytes& b) { b[54] = std::byte{32}; }), ErrorKind::kBadData);
    EXPECT_EQ(open_patched([](Bytes& b) { b[56] = b[57] = std::byte{0}; }), ErrorKind::kBadData);
    EXPECT_EQ(open_patched([](Bytes& b) { b[0] = std::byte{0}; }), ErrorKind::kBadData);
    // e_phoff past the end of the file.
    EXPECT_EQ(open_patched([](Bytes& b) { testing::put_le64(b, 32, ~0ull - 8); }),
              ErrorKind::kTruncated);
    // Only the PT_NOTE is left.
    EXPECT_EQ(open_patched([](Bytes& b) { testing::put_le32(b, 56, 1); }), ErrorKind::kBadData);
    // A PT_LOAD whose p_paddr + p_memsz wraps is ignored, the others still work.
    EXPECT_EQ(open_patched([](Bytes& b) { testing::put_le64(b, 192 + 56 + 24, ~0ull - 0x100); }),
              ErrorKind::kMismatch);
    // A PT_NOTE pointing outside the file is ignored (no VMCOREINFO, but the core opens).
    EXPECT_EQ(open_patched([](Bytes& b) { testing::put_le64(b, 192 + 8, 1ull << 50); }),
              ErrorKind::kMismatch);
    // Empty bytes.
    MemoryBytes empty(Bytes{});
    EXPECT_FALSE(ElfVmcore::looks_elf(empty));
    EXPECT_EQ(ElfVmcore::open(empty).error().kind, ErrorKind::kTruncated);
}

// Regression: an address inside a large segment but behind more than four smaller segments
// nested in it (aliases) was reported as not in the dump.
TEST(ElfVmcore, ManyNestedSegments) {
    PhysImage mem;
    mem.fill_pattern(0x100000, 0x10000);
    ElfCoreSpec spec;
    spec.notes = {testing::vmcoreinfo_note("OSRELEASE=x\n")};
    spec.loads.push_back({0x100000, 0x10000, 0x10000, 0});
    for (std::uint64_t i = 1; i <= 6; ++i)
        spec.loads.push_back({0x100000 + i * 0x1000, 0x1000, 0x1000, 0});
    Bytes file = testing::build_elf_core(mem, spec);
    MemoryBytes src(file);
    auto core = ElfVmcore::open(src);
    ASSERT_TRUE(core.has_value());
    Bytes got(0x100);
    auto r = (*core)->read_phys(0x10a000, got);
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    EXPECT_EQ(got, mem.read(0x10a000, 0x100));
    EXPECT_TRUE((*core)->has_page(0x10f000));
    EXPECT_FALSE((*core)->has_page(0x110000));
}

}  // namespace
}  // namespace lockhound::dump
