// ORC tables from memory (FakeMemory laid out like a kernel and a module) and from the real
// vmlinux of the shared dumps.
#include "kernel/orc_loader.h"

#include <gtest/gtest.h>

#include <cstring>

#include "debuginfo/elf_symbols.h"
#include "support/fake_memory.h"
#include "support/shared_dumps.h"
#include "unit/kernel/orc_test_util.h"

namespace lockhound::kernel {
namespace {

using orc_test::call_entry;

constexpr std::uint64_t kText = 0xffffffff81000000;
constexpr std::uint64_t kRodata = 0xffffffff82000000;

std::vector<std::pair<std::uint64_t, OrcEntry>> rows() {
    std::vector<std::pair<std::uint64_t, OrcEntry>> r;
    for (std::uint64_t i = 0; i < 64; ++i)
        r.push_back({kText + i * 0x40, call_entry(static_cast<std::int16_t>(8 + 8 * (i % 4)))});
    r.push_back({kText + 64 * 0x40, orc_test::end_entry()});
    return r;
}

// Places the tables at kRodata like the kernel's linker script, with symbols.
struct FakeKernel {
    lockhound::testing::FakeMemory mem;
    debuginfo::SymbolTable syms;

    explicit FakeKernel(OrcFormat f,
                        bool header,
                        bool lookup_words = true,
                        bool corrupt_lookup = false) {
        auto raw = orc_test::make_raw_tables(kRodata, rows(), f);
        const std::uint64_t orc_at = kRodata + 0x1000;
        const std::uint64_t lookup_at = kRodata + 0x2000;
        const std::uint64_t header_at = kRodata + 0x3000;
        mem.map(kRodata, 0x4000);
        mem.put(kRodata, raw.ips.data(), raw.ips.size());
        mem.put(orc_at, raw.orcs.data(), raw.orcs.size());
        const std::uint64_t etext = kText + 64 * 0x40;
        auto add = [&](const char* n, std::uint64_t a) {
            syms.add({.address = a, .size = 0, .name = n, .type = 'T'});
        };
        add("__start_orc_unwind_ip", kRodata);
        add("__stop_orc_unwind_ip", kRodata + raw.ips.size());
        add("__start_orc_unwind", orc_at);
        add("__stop_orc_unwind", orc_at + raw.orcs.size());
        add("_stext", kText);
        add("_etext", etext);
        if (lookup_words) {
            // One word per 256-byte block as the kernel computes them at boot (4 entries/block).
            std::uint64_t blocks = (etext - kText) / 256 + 1;
            for (std::uint64_t b = 0; b <= blocks; ++b) {
                std::uint32_t idx = static_cast<std::uint32_t>(std::min<std::uint64_t>(b * 4, 64));
                if (corrupt_lookup && b == 3) idx = 1;
                mem.put_u32(lookup_at + b * 4, idx);
            }
            add("orc_lookup", lookup_at);
            add("orc_lookup_end", lookup_at + (blocks + 1) * 4);
        }
        if (header) {
            const std::uint8_t h64[20] = {0xfe, 0x5d, 0x32, 0xbf, 0x58, 0x1b, 0xd6,
                                          0x3b, 0x2c, 0xa9, 0xa5, 0xc6, 0x5b, 0xa5,
                                          0xa6, 0x25, 0xea, 0xb3, 0xfe, 0x24};
            mem.put(header_at, h64, sizeof h64);
            add("__start_orc_header", header_at);
            add("__stop_orc_header", header_at + 20);
        }
        syms.finalize();
    }
};

TEST(OrcLoader, KernelTableFromMemoryWithHeaderAndLookup) {
    FakeKernel k(OrcFormat::kV3, /*header=*/true);
    auto t = load_kernel_orc_from_memory(k.mem, k.syms, {.release = "6.1.0"});
    ASSERT_TRUE(t) << t.error().describe();
    EXPECT_EQ(t->format(), OrcFormat::kV3);  // the header wins over the release
    EXPECT_EQ(t->size(), 65u);
    EXPECT_TRUE(t->has_lookup_blocks());
    EXPECT_NE(t->description().find("orc_header"), std::string::npos) << t->description();
    EXPECT_NE(t->description().find("the kernel's orc_lookup"), std::string::npos)
        << t->description();
    const OrcEntry* e = t->find(kText + 5 * 0x40 + 3);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->type, OrcType::kCall);
    EXPECT_EQ(e->sp_offset, 8 + 8 * 1);
    EXPECT_EQ(t->find(kText + 64 * 0x40)->type, OrcType::kEndOfStack);
    // Bulk reads: a handful, not one per entry.
    EXPECT_LT(k.mem.reads(), 10u);
}

TEST(OrcLoader, FormatFromShapeWhenThereIsNoHeader) {
    for (auto f : {OrcFormat::kV1, OrcFormat::kV3, OrcFormat::kV4}) {
        FakeKernel k(f, /*header=*/false);
        auto t = load_kernel_orc_from_memory(k.mem, k.syms, {.release = "6.1.0-56-amd64"});
        ASSERT_TRUE(t) << t.error().describe();
        EXPECT_EQ(t->format(), f) << t->description();
        EXPECT_EQ(t->find(kText + 0x41)->sp_offset, 16);
    }
}

TEST(OrcLoader, InconsistentLookupIsIgnored) {
    FakeKernel k(OrcFormat::kV1, false, true, /*corrupt_lookup=*/true);
    auto t = load_kernel_orc_from_memory(k.mem, k.syms, {});
    ASSERT_TRUE(t) << t.error().describe();
    EXPECT_NE(t->description().find("rejected"), std::string::npos) << t->description();
    EXPECT_TRUE(t->has_lookup_blocks());  // recomputed from the table
    for (std::uint64_t i = 0; i < 64; ++i)
        EXPECT_EQ(t->find(kText + i * 0x40 + 0x3f)->sp_offset, 8 + 8 * static_cast<int>(i % 4));
}

TEST(OrcLoader, MissingSymbolsOrMemory) {
    debuginfo::SymbolTable none;
    none.finalize();
    lockhound::testing::FakeMemory mem;
    auto t = load_kernel_orc_from_memory(mem, none, {});
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().kind, ErrorKind::kNotFound);

    FakeKernel k(OrcFormat::kV1, false);
    k.mem.unmap(kRodata);
    t = load_kernel_orc_from_memory(k.mem, k.syms, {});
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().kind, ErrorKind::kUnmapped);
    EXPECT_EQ(t.error().address, kRodata);
}

TEST(OrcLoader, ModuleTableIsSortedAndBoundedByItsText) {
    lockhound::testing::FakeMemory mem;
    constexpr std::uint64_t kMod = 0xffffffffc0000000;
    // Unsorted, as objtool leaves a module's sections.
    auto raw = orc_test::make_raw_tables(kMod + 0x8000,
                                         {{kMod + 0x200, call_entry(24)},
                                          {kMod + 0x100, call_entry(16)},
                                          {kMod + 0x300, orc_test::undefined_entry()}},
                                         OrcFormat::kV1);
    mem.map(kMod + 0x8000, 0x1000);
    mem.put(kMod + 0x8000, raw.ips.data(), raw.ips.size());
    mem.put(kMod + 0x8800, raw.orcs.data(), raw.orcs.size());
    Module m{.name = "lockbomb",
             .address = kMod + 0x9000,
             .text_base = kMod,
             .text_size = 0x400,
             .orc_unwind_ip = kMod + 0x8000,
             .orc_unwind = kMod + 0x8800,
             .num_orcs = 3};
    auto t = load_module_orc(mem, m, OrcFormat::kV1);
    ASSERT_TRUE(t) << t.error().describe();
    EXPECT_EQ(t->name(), "lockbomb");
    EXPECT_EQ(t->ip_at(0), kMod + 0x100);
    EXPECT_EQ(t->find(kMod + 0x1ff)->sp_offset, 16);
    EXPECT_EQ(t->find(kMod + 0x250)->sp_offset, 24);
    EXPECT_EQ(t->find(kMod + 0x3ff)->type, OrcType::kUndefined);
    EXPECT_EQ(t->find(kMod + 0x400), nullptr);

    Module none = m;
    none.num_orcs = 0;
    EXPECT_EQ(load_module_orc(mem, none, OrcFormat::kV1).error().kind, ErrorKind::kNotFound);
    Module huge = m;
    huge.num_orcs = 1ull << 40;
    EXPECT_EQ(load_module_orc(mem, huge, OrcFormat::kV1).error().kind, ErrorKind::kBadData);
}

TEST(OrcLoader, ChooseFormatOrder) {
    std::vector<std::byte> v4;
    for (int i = 0; i < 50; ++i) orc_test::append_entry(v4, call_entry(8), OrcFormat::kV4);
    EXPECT_EQ(choose_orc_format(std::nullopt, v4, {.release = "6.1.0"}).format, OrcFormat::kV4);
    EXPECT_EQ(choose_orc_format(std::nullopt, v4, {.forced = OrcFormat::kV2}).format,
              OrcFormat::kV2);
    auto r = choose_orc_format(std::nullopt, {}, {.release = "6.5.0"});
    EXPECT_EQ(r.format, OrcFormat::kV3);
    EXPECT_NE(r.how.find("release"), std::string::npos);
}

// The real tables of the shared dumps' kernel: entries of known functions.
TEST(OrcLoader, VmlinuxTablesOfTheSharedKernel) {
    auto dumps = lockhound::testing::shared_dumps();
    if (dumps.empty()) GTEST_SKIP() << "no shared dumps (../shared/dumps)";
    auto vmlinux = lockhound::testing::vmlinux_for(dumps.front().release);
    if (!vmlinux) GTEST_SKIP() << "no vmlinux for " << dumps.front().release;
    auto syms = debuginfo::load_elf_symbols(*vmlinux, 0);
    ASSERT_TRUE(syms) << syms.error().describe();
    // No hints at all: the format comes from the entries' shape.
    auto t = load_vmlinux_orc(*vmlinux, 0, {});
    ASSERT_TRUE(t) << t.error().describe();
    EXPECT_EQ(t->format(), OrcFormat::kV1);
    EXPECT_NE(t->description().find("shape"), std::string::npos) << t->description();
    EXPECT_EQ(t->size(), 0x177d44u / 4);  // .orc_unwind_ip of 6.1.0-56-amd64
    EXPECT_TRUE(t->has_lookup_blocks());
    auto addr = [&](const char* n) {
        auto a = syms->address_of(n);
        EXPECT_TRUE(a) << n;
        return a.value_or(0);
    };
    // At any function's first instruction only the return address is on the stack.
    for (const char* fn : {"schedule", "__schedule", "kthread", "down_write", "mutex_lock"}) {
        const OrcEntry* e = t->find(addr(fn));
        ASSERT_NE(e, nullptr) << fn;
        EXPECT_EQ(e->type, OrcType::kCall) << fn;
        EXPECT_EQ(e->sp_reg, OrcReg::kSp) << fn;
        EXPECT_EQ(e->sp_offset, 8) << fn;
    }
    // The return address in __schedule after switching tasks (seen in every sleeping task).
    const OrcEntry* sched = t->find(addr("__schedule") + 0x34c);
    ASSERT_NE(sched, nullptr);
    // __schedule keeps a frame pointer there: CFA = BP + 16, the saved BP at CFA - 16 (which is
    // why a sleeping task's walk needs the bp of its inactive_task_frame).
    EXPECT_EQ(sched->type, OrcType::kCall) << describe(*sched);
    EXPECT_EQ(sched->sp_reg, OrcReg::kBp) << describe(*sched);
    EXPECT_EQ(sched->sp_offset, 16) << describe(*sched);
    EXPECT_EQ(sched->bp_reg, OrcReg::kPrevSp) << describe(*sched);
    EXPECT_EQ(sched->bp_offset, -16) << describe(*sched);
    // ret_from_fork after calling a kernel thread's function: the end of the stack.
    const OrcEntry* rff = t->find(addr("ret_from_fork") + 0x21);
    ASSERT_NE(rff, nullptr);
    EXPECT_EQ(rff->type, OrcType::kEndOfStack);
    // The syscall and page-fault entries have pt_regs at SP.
    for (std::uint64_t ip :
         {addr("entry_SYSCALL_64_after_hwframe") + 0x6d, addr("asm_exc_page_fault") + 0x21}) {
        const OrcEntry* e = t->find(ip);
        ASSERT_NE(e, nullptr);
        EXPECT_EQ(e->type, OrcType::kRegs);
        EXPECT_EQ(e->sp_reg, OrcReg::kSp);
        EXPECT_EQ(e->sp_offset, 0);
    }
    EXPECT_EQ(t->find(addr("_stext") - 1), nullptr);

    // The lookup blocks give the same answers as a search of the whole table.
    OrcTable full = *t;
    full.set_lookup_blocks(1, 0);  // clears them
    ASSERT_FALSE(full.has_lookup_blocks());
    const std::uint64_t stext = addr("_stext"), etext = addr("_etext");
    std::size_t compared = 0;
    for (std::uint64_t ip = stext; ip < etext; ip += 97) {
        const OrcEntry* a = t->find(ip);
        const OrcEntry* b = full.find(ip);
        ASSERT_EQ(a == nullptr, b == nullptr) << std::hex << ip;
        if (a) {
            ASSERT_EQ(*a, *b) << std::hex << ip;
        }
        ++compared;
    }
    EXPECT_GT(compared, 100000u);

    // KASLR: the same table shifted.
    auto shifted = load_vmlinux_orc(*vmlinux, 0x1e000000, {.release = "6.1.0-56-amd64"});
    ASSERT_TRUE(shifted);
    EXPECT_EQ(shifted->ip_at(0), t->ip_at(0) + 0x1e000000);
    EXPECT_EQ(*shifted->find(addr("__schedule") + 0x1e000000 + 0x34c), *sched);
}

TEST(OrcLoader, VmlinuxErrors) {
    EXPECT_EQ(load_vmlinux_orc("/nonexistent/vmlinux", 0, {}).error().kind, ErrorKind::kIo);
    auto r = load_vmlinux_orc("/proc/self/exe", 0, {});  // an ELF file without ORC sections
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kNotFound);
}

}  // namespace
}  // namespace lockhound::kernel
