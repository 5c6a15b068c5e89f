#include "debuginfo/elf_symbols.h"

#include <gtest/gtest.h>

#include <chrono>

#include "test_paths.h"

namespace lockhound::debuginfo {
namespace {

constexpr std::uint64_t kKaslr = 0x1e200000;  // a KERNELOFFSET seen on the shared dumps

TEST(ElfSymbols, VmlinuxSymtabMatchesNm) {
    auto path = testing::reference_vmlinux();
    if (!path) GTEST_SKIP() << "no DWARF vmlinux for " << testing::kRelease;
    testing::Stopwatch time;
    auto syms = load_elf_symbols(*path, kKaslr);
    ASSERT_TRUE(syms) << syms.error().describe();
    time.report(".symtab load + sort", std::to_string(syms->size()) + " symbols");
    // `nm vmlinux` lists 127,398 symbols, 25 of them absolute assembler constants.
    EXPECT_EQ(syms->size(), 127373u);

    // Values from `nm` / `readelf -s` of vmlinux-6.1.0-56-amd64, plus the KASLR offset.
    const Symbol* init_task = syms->find("init_task");
    ASSERT_NE(init_task, nullptr);
    EXPECT_EQ(init_task->address, 0xffffffff82a1aa40u + kKaslr);
    EXPECT_EQ(init_task->size, 9792u);
    EXPECT_EQ(init_task->type, 'D');
    const Symbol* down_read = syms->find("down_read");
    ASSERT_NE(down_read, nullptr);
    EXPECT_EQ(down_read->address, 0xffffffff81a55c10u + kKaslr);
    EXPECT_EQ(down_read->size, 154u);
    EXPECT_EQ(down_read->type, 'T');
    EXPECT_TRUE(down_read->is_text());
    EXPECT_EQ(syms->find("rwsem_down_read_slowpath")->type, 't');
    EXPECT_EQ(syms->address_of("__start_BTF"), 0xffffffff824c1b88u + kKaslr);
    EXPECT_EQ(syms->find("__start_BTF")->type, 'R');
    EXPECT_EQ(syms->address_of("_stext"), 0xffffffff81000000u + kKaslr);
    // Per-CPU variables are offsets into the per-CPU area: no KASLR.
    EXPECT_EQ(syms->address_of("current_task"), 0x1fb80u);
    EXPECT_EQ(syms->address_of("__per_cpu_start"), 0u);
    // ... but the per-CPU section's load address is a kernel address and moves with KASLR.
    EXPECT_EQ(syms->address_of("__per_cpu_load"), 0xffffffff83044000u + kKaslr);
    EXPECT_FALSE(syms->find("L4_PAGE_OFFSET"));  // absolute constant, skipped

    auto r = syms->lookup(0xffffffff81a55c52u + kKaslr);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->format(), "down_read+0x42/0xa0");  // next symbol 0xa0 further
    // As in the kernel's own stack traces of these dumps (truth.json).
    EXPECT_EQ(syms->lookup(0xffffffff810cd340u + 0xda + kKaslr)->format(), "kthread+0xda/0x100");
    EXPECT_EQ(syms->lookup(0xffffffff810032d0u + 0x22 + kKaslr)->format(),
              "ret_from_fork+0x22/0x30");
    EXPECT_EQ(syms->lookup(0xffffffff819ff2b5u + kKaslr)->symbol->name,
              "IO_APIC_get_PCI_irq_vector.cold");
    EXPECT_FALSE(syms->lookup(0xffffffff81000000u - 1 + kKaslr));
}

TEST(ElfSymbols, Errors) {
    auto missing = load_elf_symbols("/nonexistent/vmlinux");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind, ErrorKind::kIo);
    auto not_elf = load_elf_symbols("/etc/hostname");
    ASSERT_FALSE(not_elf);
    EXPECT_EQ(not_elf.error().kind, ErrorKind::kBadData);
}

TEST(ElfSymbols, AddsIntoAnExistingTableWithAModuleName) {
    SymbolTable t;
    auto n = add_elf_symbols("/proc/self/exe", 0, t, "self");
    ASSERT_TRUE(n) << n.error().describe();
    EXPECT_GT(*n, 100u);
    t.finalize();
    const Symbol* s = t.find("main");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->module, "self");
    EXPECT_TRUE(s->is_text());
}

}  // namespace
}  // namespace lockhound::debuginfo
