#include "debuginfo/kallsyms.h"

#include <gelf.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "debuginfo/elf_symbols.h"
#include "debuginfo/internal/elf_file.h"
#include "dump/vmcoreinfo.h"
#include "support/fake_memory.h"
#include "support/kallsyms_builder.h"
#include "test_paths.h"

namespace lockhound::debuginfo {
namespace {

using lockhound::testing::FakeMemory;

// Builds kallsyms tables the way scripts/kallsyms lays them out, into FakeMemory.
struct FakeKallsyms {
    struct Entry {
        std::int32_t offset;
        std::string typed_name;  // "Tdown_read"
    };
    std::vector<Entry> entries;
    std::uint64_t relative_base = 0xffffffff81000000;
    // Tokens: byte 0x01.. are multi-character, everything printable stands for itself.
    std::vector<std::string> multi = {"down_", "read", "mutex", "_lock", "lb_"};

    KallsymsLocation place(FakeMemory& mem, std::uint64_t base = 0xffffffff82000000) {
        std::vector<std::string> typed_names;
        for (const auto& e : entries) typed_names.push_back(e.typed_name);
        const auto tables = lockhound::testing::encode_kallsyms(typed_names, multi);
        const auto& names = tables.names;
        const auto& table = tables.token_table;
        const auto& index = tables.token_index;
        KallsymsLocation w;
        w.offsets = base;
        w.relative_base = base + 0x10000;
        w.num_syms = base + 0x10008;
        w.names = base + 0x20000;
        w.token_table = base + 0x30000;
        w.token_index = base + 0x30000 + ((table.size() + 7) & ~std::size_t{7});
        mem.map(base, 0x40000);
        for (std::size_t i = 0; i < entries.size(); ++i)
            mem.put(w.offsets + 4 * i, &entries[i].offset, 4);
        mem.put_u64(w.relative_base, relative_base);
        mem.put_u32(w.num_syms, static_cast<std::uint32_t>(entries.size()));
        mem.put(w.names, names.data(), names.size());
        mem.put(w.token_table, table.data(), table.size());
        mem.put(w.token_index, index.data(), 512);
        return w;
    }
};

FakeKallsyms sample() {
    FakeKallsyms k;
    k.entries = {
        {-1, "T_stext"},                           // relative_base + 0
        {-0xa55c11, "Tdown_read"},                 // relative_base + 0xa55c10
        {-0xa55131, "Tmutex_lock"},                // relative_base + 0xa55130
        {0x1fb80, "Dcurrent_task"},                // absolute (per-CPU)
        {-0xa55dd1, "tlb_thread.cold"},            // dots survive
        {-0xa55e01, "T" + std::string(200, 'x')},  // a "big symbol": two-byte length
    };
    return k;
}

TEST(Kallsyms, DecodesBaseRelativeTablesWithTokensAndBigSymbols) {
    FakeMemory mem;
    auto k = sample();
    auto where = k.place(mem);
    auto syms = load_kallsyms(mem, where);
    ASSERT_TRUE(syms) << syms.error().describe();
    EXPECT_EQ(syms->size(), 6u);
    EXPECT_EQ(syms->address_of("_stext"), 0xffffffff81000000u);
    EXPECT_EQ(syms->address_of("down_read"), 0xffffffff81a55c10u);
    EXPECT_EQ(syms->address_of("mutex_lock"), 0xffffffff81a55130u);
    EXPECT_EQ(syms->address_of("current_task"), 0x1fb80u);
    EXPECT_EQ(syms->find("current_task")->type, 'D');
    EXPECT_EQ(syms->find("lb_thread.cold")->type, 't');
    EXPECT_EQ(syms->address_of(std::string(200, 'x')), 0xffffffff81a55e00u);
    EXPECT_EQ(syms->find("down_read")->size, 0u);
    // No sizes: a lookup reaches to the next symbol.
    EXPECT_EQ(syms->lookup(0xffffffff81a55c52)->format(), "down_read+0x42/0x1c0");
    // A handful of bulk reads, not one per symbol.
    EXPECT_LT(mem.reads(), 20u);
}

TEST(Kallsyms, WithoutAbsolutePercpuOffsetsAreUnsigned) {
    FakeMemory mem;
    FakeKallsyms k;
    k.entries = {{0x10, "Tfirst"}, {static_cast<std::int32_t>(0x80000000u), "Tfar"}};
    auto where = k.place(mem);
    where.absolute_percpu = false;
    auto syms = load_kallsyms(mem, where);
    ASSERT_TRUE(syms) << syms.error().describe();
    EXPECT_EQ(syms->address_of("first"), 0xffffffff81000010u);
    EXPECT_EQ(syms->address_of("far"), 0xffffffff81000000u + 0x80000000u);
}

TEST(Kallsyms, AbsoluteAddressTable) {
    FakeMemory mem;
    auto k = sample();
    auto where = k.place(mem);
    // Replace the offsets by kallsyms_addresses.
    mem.map(0xffffffff83000000, 0x1000);
    mem.put_u64(0xffffffff83000000, 0xffffffff81000000);
    mem.put_u64(0xffffffff83000008, 0xffffffff81000100);
    mem.put_u32(where.num_syms, 2);
    where.offsets = where.relative_base = 0;
    where.addresses = 0xffffffff83000000;
    auto syms = load_kallsyms(mem, where);
    ASSERT_TRUE(syms) << syms.error().describe();
    EXPECT_EQ(syms->address_of("_stext"), 0xffffffff81000000u);
    EXPECT_EQ(syms->address_of("down_read"), 0xffffffff81000100u);
}

TEST(Kallsyms, GarbageIsAnErrorNotACrash) {
    {
        FakeMemory mem;
        auto w = sample().place(mem);
        mem.put_u32(w.num_syms, 0x7fffffff);  // absurd count
        auto r = load_kallsyms(mem, w);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().kind, ErrorKind::kBadData);
    }
    {
        FakeMemory mem;
        auto w = sample().place(mem);
        mem.put_u32(w.num_syms, 100000);  // more names than there are: reads run off the map
        auto r = load_kallsyms(mem, w);
        ASSERT_FALSE(r);
    }
    {
        FakeMemory mem;
        auto w = sample().place(mem);
        std::uint8_t zero = 0;
        mem.put(w.names, &zero, 1);  // a zero-length name
        auto r = load_kallsyms(mem, w);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().kind, ErrorKind::kBadData);
    }
    {
        FakeMemory mem;
        auto w = sample().place(mem);
        mem.put(w.names + 1, "\x01", 1);  // first char "down_": not a type letter
        std::uint8_t lens[2] = {1, 0};
        mem.put(w.names, lens, 1);
        auto r = load_kallsyms(mem, w);
        ASSERT_FALSE(r);
    }
    {
        FakeMemory mem;
        auto w = sample().place(mem);
        mem.unmap(0xffffffff82000000);  // nothing mapped at all
        auto r = load_kallsyms(mem, w);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().kind, ErrorKind::kUnmapped);
        EXPECT_NE(r.error().message.find("kallsyms_num_syms"), std::string::npos);
    }
    {
        FakeMemory mem;
        KallsymsLocation incomplete;
        EXPECT_EQ(load_kallsyms(mem, incomplete).error().kind, ErrorKind::kNotFound);
    }
}

TEST(Kallsyms, RandomBytesNeverCrash) {
    std::uint64_t seed = 1;
    auto next = [&] {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<std::uint32_t>(seed >> 33);
    };
    for (int round = 0; round < 50; ++round) {
        FakeMemory mem;
        auto w = sample().place(mem);
        for (int k = 0; k < 20; ++k) {
            std::uint64_t off = next() % 0x40000;
            std::uint8_t b = static_cast<std::uint8_t>(next());
            mem.put(0xffffffff82000000 + off, &b, 1);
        }
        if (round % 2) mem.put_u32(w.num_syms, next() % 5000);
        (void)load_kallsyms(mem, w);  // any result, but bounded and no crash
    }
}

TEST(Kallsyms, FromVmcoreinfo) {
    auto info = dump::VmcoreInfo::parse(
        "OSRELEASE=6.1.0-56-amd64\n"
        "SYMBOL(kallsyms_names)=ffffffffa0b0b5c0\n"
        "SYMBOL(kallsyms_num_syms)=ffffffffa0b0b5b8\n"
        "SYMBOL(kallsyms_token_table)=ffffffffa0c58bc8\n"
        "SYMBOL(kallsyms_token_index)=ffffffffa0c58f58\n"
        "SYMBOL(kallsyms_offsets)=ffffffffa0aa7d80\n"
        "SYMBOL(kallsyms_relative_base)=ffffffffa0b0b5b0\n");
    auto w = KallsymsLocation::from_vmcoreinfo(info);
    ASSERT_TRUE(w);
    EXPECT_EQ(w->names, 0xffffffffa0b0b5c0u);
    EXPECT_EQ(w->token_index, 0xffffffffa0c58f58u);
    EXPECT_EQ(w->relative_base, 0xffffffffa0b0b5b0u);
    EXPECT_EQ(w->addresses, 0u);
    EXPECT_FALSE(KallsymsLocation::from_vmcoreinfo(dump::VmcoreInfo::parse("OSRELEASE=5.10\n")));
}

// The vmlinux file holds the same kallsyms tables the running kernel has (unrelocated), so the
// decoder can be checked against `nm` without a dump: memory = the ELF's allocated sections.
class ElfSectionMemory final : public dump::VirtualMemory {
  public:
    explicit ElfSectionMemory(internal::ElfFile file) : file_(std::move(file)) {
        Elf* elf = file_.elf();
        for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
            GElf_Shdr sh;
            if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) ||
                sh.sh_type != SHT_PROGBITS || sh.sh_addr == 0)
                continue;
            Elf_Data* d = elf_rawdata(scn, nullptr);
            if (d && d->d_buf)
                sections_[sh.sh_addr] =
                    std::span<const std::byte>(static_cast<const std::byte*>(d->d_buf), d->d_size);
        }
    }
    Result<> read(std::uint64_t vaddr, std::span<std::byte> out) override {
        auto it = sections_.upper_bound(vaddr);
        if (it == sections_.begin()) return fail_at(ErrorKind::kUnmapped, vaddr, "no section");
        --it;
        std::uint64_t off = vaddr - it->first;
        if (off >= it->second.size()) return fail_at(ErrorKind::kUnmapped, vaddr, "no section");
        std::size_t n = std::min<std::size_t>(out.size(), it->second.size() - off);
        std::memcpy(out.data(), it->second.data() + off, n);
        if (n < out.size()) return fail_at(ErrorKind::kUnmapped, vaddr + n, "section end");
        return {};
    }

  private:
    internal::ElfFile file_;
    std::map<std::uint64_t, std::span<const std::byte>> sections_;
};

TEST(KallsymsVmlinux, DecodesTheTablesInsideVmlinuxLikeNm) {
    auto path = testing::reference_vmlinux();
    if (!path) GTEST_SKIP() << "no vmlinux for " << testing::kRelease;
    auto elf_syms = load_elf_symbols(*path);
    ASSERT_TRUE(elf_syms);
    KallsymsLocation w;
    w.names = *elf_syms->address_of("kallsyms_names");
    w.num_syms = *elf_syms->address_of("kallsyms_num_syms");
    w.token_table = *elf_syms->address_of("kallsyms_token_table");
    w.token_index = *elf_syms->address_of("kallsyms_token_index");
    w.offsets = *elf_syms->address_of("kallsyms_offsets");
    w.relative_base = *elf_syms->address_of("kallsyms_relative_base");
    auto file = internal::ElfFile::open(*path);
    ASSERT_TRUE(file);
    ElfSectionMemory mem(std::move(*file));

    testing::Stopwatch decode_time;
    SymbolTable table;
    auto n = decode_kallsyms(mem, w, table);
    ASSERT_TRUE(n) << n.error().describe();
    decode_time.report("kallsyms decode (vmlinux sections)", std::to_string(n->count) + " symbols");
    testing::Stopwatch sort_time;
    table.finalize();
    sort_time.report("kallsyms finalize (sort + name index)");
    auto* syms = &table;
    EXPECT_GT(syms->size(), 90000u);
    EXPECT_LT(syms->size(), elf_syms->size());
    // Same addresses as nm (no KASLR in the file).
    EXPECT_EQ(syms->address_of("init_task"), 0xffffffff82a1aa40u);
    EXPECT_EQ(syms->address_of("down_read"), 0xffffffff81a55c10u);
    EXPECT_EQ(syms->address_of("__start_BTF"), 0xffffffff824c1b88u);
    EXPECT_EQ(syms->address_of("__stop_BTF"), 0xffffffff828ea1f5u);
    EXPECT_EQ(syms->address_of("current_task"), 0x1fb80u);  // absolute per-CPU
    EXPECT_EQ(syms->find("rwsem_down_read_slowpath")->type, 't');
    EXPECT_EQ(syms->find("init_task")->type, 'D');
    EXPECT_EQ(syms->lookup(0xffffffff810cd340u + 0xda)->format(), "kthread+0xda/0x100");
    // Every kallsyms symbol is in .symtab, same name at the same address (names repeat: static
    // functions of different files).
    std::set<std::pair<std::string_view, std::uint64_t>> elf_pairs;
    for (const auto& s : elf_syms->symbols()) elf_pairs.emplace(s.name, s.address);
    std::size_t missing = 0;
    for (const auto& s : syms->symbols()) missing += !elf_pairs.contains({s.name, s.address});
    EXPECT_EQ(missing, 0u);
}

}  // namespace
}  // namespace lockhound::debuginfo
