// KernelAddressSpace over page tables built in fake physical memory: 4- and 5-level, 4K/2M/1G
// mappings, kernel text via phys_base, unmapped addresses and page-table pages missing from the
// dump; also end to end through built kdump and ELF files.
#include "dump/kernel_address_space.h"

#include <gtest/gtest.h>

#include "dump/vmcoreinfo.h"
#include "dump_test_helpers.h"

namespace lockhound::dump {
namespace {

using test::Bytes;
using test::ImageMemory;
using testing::PageTables;
using testing::PhysImage;

constexpr std::uint64_t kPage = 4096;

// One address space: where things are mapped, and where they live physically.
struct Layout {
    bool five_level;
    std::int64_t phys_base;
    std::uint64_t direct;   // direct-map base
    std::uint64_t vmalloc;  // 4K mappings to scattered pages
    std::uint64_t huge2m;   // one 2M mapping
    std::uint64_t huge1g;   // one 1G mapping
    std::uint64_t text = 0xffffffff81000000ull;
    std::uint64_t vmalloc_phys(int i) const {
        return 0x300000 + static_cast<std::uint64_t>(5 - i) * kPage;
    }
    static constexpr std::uint64_t kPhys2m = 0x400000;
    static constexpr std::uint64_t kPhys1g = 0x40000000;
    std::uint64_t text_phys() const {
        return text - testing::kStartKernelMap + static_cast<std::uint64_t>(phys_base);
    }
};

Layout four_level() {
    return Layout{false,
                  -0x600000,
                  0xffff888000000000ull,
                  0xffffc90000000000ull,
                  0xffff888000400000ull,
                  0xffff888040000000ull};
}
Layout five_level() {
    return Layout{true,
                  0x200000,
                  0xff11000000000000ull,
                  0xffa0000000000000ull,
                  0xff11000000400000ull,
                  0xff11000040000000ull};
}

struct Space {
    Layout l;
    PhysImage mem;
    std::unique_ptr<PageTables> pt;
    std::string vmcoreinfo;
    explicit Space(const Layout& layout) : l(layout) {
        pt = std::make_unique<PageTables>(mem, l.five_level, 0x800000);
        for (int i = 0; i < 4; ++i) {
            pt->map_4k(l.vmalloc + static_cast<std::uint64_t>(i) * kPage, l.vmalloc_phys(i));
            mem.fill_pattern(l.vmalloc_phys(i), kPage);
        }
        pt->map_2m(l.huge2m, Layout::kPhys2m);
        mem.fill_pattern(Layout::kPhys2m, 3 * kPage);  // the rest of the 2M is not in the dump
        mem.fill_pattern(Layout::kPhys2m + 0x1ff000, kPage);
        pt->map_1g(l.huge1g, Layout::kPhys1g);
        mem.fill_pattern(Layout::kPhys1g + 0x12345000, 2 * kPage);
        mem.fill_pattern(l.text_phys(), 2 * kPage);
        mem.put_string(l.vmalloc_phys(3) + kPage - 5, "abcd");  // NUL is the page's last byte
        // "hello" across vmalloc pages 0 and 1, which are not physically adjacent.
        mem.put(l.vmalloc_phys(0) + kPage - 2, std::as_bytes(std::span("he", 2)));
        mem.put_string(l.vmalloc_phys(1), "llo");
        vmcoreinfo = testing::paging_vmcoreinfo(pt->root(), l.phys_base, l.five_level);
    }
    PagingSetup setup() const {
        auto s = PagingSetup::from_vmcoreinfo(VmcoreInfo::parse(vmcoreinfo));
        EXPECT_TRUE(s.has_value());
        return *s;
    }
};

class KernelAddressSpaceTest : public ::testing::TestWithParam<bool> {
  protected:
    Layout layout() const { return GetParam() ? five_level() : four_level(); }
};

TEST_P(KernelAddressSpaceTest, SetupFromVmcoreinfo) {
    Space s(layout());
    PagingSetup setup = s.setup();
    EXPECT_EQ(setup.top_pgt_phys, s.pt->root());
    EXPECT_EQ(setup.five_level, GetParam());
    EXPECT_EQ(setup.phys_base, s.l.phys_base);
}

TEST_P(KernelAddressSpaceTest, TranslatesEveryPageSize) {
    Space s(layout());
    ImageMemory phys(s.mem);
    KernelAddressSpace kas(phys, s.setup());
    const Layout& l = s.l;
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(kas.translate(l.vmalloc + static_cast<std::uint64_t>(i) * kPage + 0x10),
                  l.vmalloc_phys(i) + 0x10);
    EXPECT_EQ(kas.translate(l.huge2m + 0x1ff123), Layout::kPhys2m + 0x1ff123);
    EXPECT_EQ(kas.translate(l.huge1g + 0x12345678), Layout::kPhys1g + 0x12345678);
    EXPECT_EQ(kas.translate(l.text + 0x1234), l.text_phys() + 0x1234);
}

TEST_P(KernelAddressSpaceTest, ReadsExactBytes) {
    Space s(layout());
    ImageMemory phys(s.mem);
    KernelAddressSpace kas(phys, s.setup());
    const Layout& l = s.l;
    // Across the four scattered 4K pages.
    auto v = kas.read_bytes(l.vmalloc + 0x100, 3 * kPage + 0x200);
    ASSERT_TRUE(v.has_value()) << v.error().describe();
    Bytes want;
    for (int i = 0; i < 4; ++i) {
        Bytes p = s.mem.read(l.vmalloc_phys(i), kPage);
        want.insert(want.end(), p.begin(), p.end());
    }
    EXPECT_EQ(*v, Bytes(want.begin() + 0x100, want.begin() + 0x100 + 3 * kPage + 0x200));
    // Inside the 2M and 1G pages, crossing 4K boundaries within them.
    auto h = kas.read_bytes(l.huge2m + 0x800, 2 * kPage);
    ASSERT_TRUE(h.has_value());
    EXPECT_EQ(*h, s.mem.read(Layout::kPhys2m + 0x800, 2 * kPage));
    auto g = kas.read_bytes(l.huge1g + 0x12345ff0, 0x20);
    ASSERT_TRUE(g.has_value());
    EXPECT_EQ(*g, s.mem.read(Layout::kPhys1g + 0x12345ff0, 0x20));
    auto t = kas.read_bytes(l.text + 0xff8, 0x10);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(*t, s.mem.read(l.text_phys() + 0xff8, 0x10));
    auto u = kas.read_u64(l.huge1g + 0x12346000);
    ASSERT_TRUE(u.has_value());
    Bytes raw = s.mem.read(Layout::kPhys1g + 0x12346000, 8);
    std::uint64_t expect = 0;
    std::memcpy(&expect, raw.data(), 8);
    EXPECT_EQ(*u, expect);
}

// Regression: a read of an unmapped address reported the page's address, not the one asked for.
TEST_P(KernelAddressSpaceTest, UnmappedAtEveryLevelCarriesTheExactAddress) {
    Space s(layout());
    ImageMemory phys(s.mem);
    KernelAddressSpace kas(phys, s.setup());
    const Layout& l = s.l;
    const std::uint64_t top_shift = GetParam() ? 48 : 39;
    const std::uint64_t addrs[] = {
        l.vmalloc + 4 * kPage + 0x123,            // PTE not present
        l.vmalloc + (2ull << 20) + 0x456,         // PMD entry not present
        l.vmalloc + (1ull << 30) + 0x789,         // PUD entry not present
        l.vmalloc + (1ull << top_shift) + 0xabc,  // top-level entry not present
        l.vmalloc + (1ull << 39) * 3 + 0x1,       // (5-level: P4D entry not present)
        0x0000000000001008ull,                    // user space
    };
    for (std::uint64_t a : addrs) {
        SCOPED_TRACE(a);
        for (int twice = 0; twice < 2; ++twice) {  // the failure is not cached
            auto r = kas.read_u64(a);
            ASSERT_FALSE(r.has_value());
            EXPECT_EQ(r.error().kind, ErrorKind::kUnmapped) << r.error().describe();
            EXPECT_TRUE(r.error().has_address);
            EXPECT_EQ(r.error().address, a);
        }
        auto t = kas.translate(a);
        ASSERT_FALSE(t.has_value());
        EXPECT_EQ(t.error().address, a);
    }
    // Running off the end of the mapped pages: the first unmapped byte.
    auto r = kas.read_bytes(l.vmalloc + 3 * kPage + 0xff0, 0x20);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, ErrorKind::kUnmapped);
    EXPECT_EQ(r.error().address, l.vmalloc + 4 * kPage);
}

TEST_P(KernelAddressSpaceTest, PagesMissingFromTheDump) {
    Space s(layout());
    const Layout& l = s.l;
    // The 2M mapping's target page 5 was not dumped.
    {
        ImageMemory phys(s.mem);
        KernelAddressSpace kas(phys, s.setup());
        auto r = kas.read_bytes(l.huge2m + 3 * kPage - 8, 16);
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().kind, ErrorKind::kNotInDump);
        EXPECT_EQ(r.error().address, l.huge2m + 3 * kPage);
    }
    // The page table page for the vmalloc range is missing.
    s.mem.remove_page(s.pt->table_for(l.vmalloc, 1) / kPage);
    ImageMemory phys(s.mem);
    KernelAddressSpace kas(phys, s.setup());
    auto r = kas.read_u64(l.vmalloc + 0x18);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, ErrorKind::kNotInDump);
    EXPECT_EQ(r.error().address, l.vmalloc + 0x18);
    EXPECT_NE(r.error().message.find("level-1 page table"), std::string::npos) << r.error().message;
    // Other mappings still work.
    EXPECT_TRUE(kas.read_u64(l.huge2m).has_value());
}

TEST_P(KernelAddressSpaceTest, CacheCollisionsStayCorrect) {
    Space s(layout());
    const Layout& l = s.l;
    // vmalloc page 0 and the first 2M-mapped page share a cache slot.
    std::uint64_t a = l.vmalloc, b = l.huge2m;
    ASSERT_EQ((a >> 12) % 1024, (b >> 12) % 1024);
    ImageMemory phys(s.mem);
    KernelAddressSpace kas(phys, s.setup());
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(kas.translate(a + 8), l.vmalloc_phys(0) + 8);
        EXPECT_EQ(kas.translate(b + 8), Layout::kPhys2m + 8);
    }
    int before = phys.reads();
    ASSERT_TRUE(kas.translate(b + 16).has_value());  // a cache hit: no table reads
    EXPECT_EQ(phys.reads(), before);
}

TEST_P(KernelAddressSpaceTest, CStringStopsAtAMissingPage) {
    Space s(layout());
    ImageMemory phys(s.mem);
    KernelAddressSpace kas(phys, s.setup());
    const Layout& l = s.l;
    EXPECT_EQ(kas.read_cstring(l.vmalloc + 3 * kPage + kPage - 5, 64), "abcd");
    EXPECT_EQ(kas.read_cstring(l.vmalloc + kPage - 2, 64), "hello");
    EXPECT_EQ(kas.read_cstring(l.vmalloc + kPage - 2, 3), "hel");
    // A string running into the unmapped page after vmalloc page 3 stops there.
    s.mem.put(l.vmalloc_phys(3) + kPage - 2, std::as_bytes(std::span("QQ", 2)));
    auto q = kas.read_cstring(l.vmalloc + 4 * kPage - 2, 64);
    ASSERT_TRUE(q.has_value());
    EXPECT_EQ(*q, "QQ");
    EXPECT_FALSE(kas.read_cstring(l.vmalloc + 4 * kPage, 8).has_value());
}

// The same address space through real dump files built from the same memory.
TEST_P(KernelAddressSpaceTest, ThroughKdumpAndElfFiles) {
    Space s(layout());
    s.mem.fill_pattern(Layout::kPhys1g + 0x200000, 24 * kPage);  // for reads of whole-page runs
    testing::KdumpSpec ks;
    ks.vmcoreinfo = s.vmcoreinfo;
    ks.phys_base = s.l.phys_base;
    testing::ElfCoreSpec es;
    es.phoff = 192;
    es.notes = {testing::vmcoreinfo_note(s.vmcoreinfo)};
    // One PT_LOAD per run of present pages.
    std::uint64_t run_start = ~0ull, prev = ~0ull;
    for (const auto& [pfn, page] : s.mem.pages()) {
        if (pfn != prev + 1) {
            if (run_start != ~0ull)
                es.loads.push_back({run_start * kPage,
                                    (prev + 1 - run_start) * kPage,
                                    (prev + 1 - run_start) * kPage,
                                    0});
            run_start = pfn;
        }
        prev = pfn;
    }
    es.loads.push_back(
        {run_start * kPage, (prev + 1 - run_start) * kPage, (prev + 1 - run_start) * kPage, 0});
    for (const Bytes& file :
         {testing::build_kdump(s.mem, ks), testing::build_elf_core(s.mem, es)}) {
        auto f = test::open_built(file);
        ASSERT_TRUE(f.has_value()) << f.error().describe();
        SCOPED_TRACE(f->format);
        auto setup = PagingSetup::from_vmcoreinfo(f->vmcoreinfo);
        ASSERT_TRUE(setup.has_value());
        KernelAddressSpace kas(*f->memory, *setup);
        auto v = kas.read_bytes(s.l.vmalloc + 0xff0, 0x20);
        ASSERT_TRUE(v.has_value()) << v.error().describe();
        Bytes want = s.mem.read(s.l.vmalloc_phys(0) + 0xff0, 0x10);
        Bytes rest = s.mem.read(s.l.vmalloc_phys(1), 0x10);
        want.insert(want.end(), rest.begin(), rest.end());
        EXPECT_EQ(*v, want);
        auto g = kas.read_bytes(s.l.huge1g + 0x12345000, kPage);
        ASSERT_TRUE(g.has_value());
        EXPECT_EQ(*g, s.mem.read(Layout::kPhys1g + 0x12345000, kPage));
        auto missing = kas.read_u64(s.l.huge2m + 0x100000);
        ASSERT_FALSE(missing.has_value());
        EXPECT_EQ(missing.error().kind, ErrorKind::kNotInDump);
        EXPECT_EQ(missing.error().address, s.l.huge2m + 0x100000);
        auto unmapped = kas.read_u64(s.l.vmalloc + 4 * kPage + 8);
        ASSERT_FALSE(unmapped.has_value());
        EXPECT_EQ(unmapped.error().kind, ErrorKind::kUnmapped);

        // Runs of whole pages are translated first and read at once (two threads on a
        // compressed dump): the same bytes, and the same first error, as page by page.
        auto run = kas.read_bytes(s.l.huge1g + 0x200000 + 0x10, 24 * kPage - 0x10);
        ASSERT_TRUE(run.has_value()) << run.error().describe();
        EXPECT_EQ(*run, s.mem.read(Layout::kPhys1g + 0x200000 + 0x10, 24 * kPage - 0x10));
        auto cut = kas.read_bytes(s.l.huge2m, 20 * kPage);  // pages 3.. are not in the dump
        ASSERT_FALSE(cut.has_value());
        EXPECT_EQ(cut.error().kind, ErrorKind::kNotInDump);
        EXPECT_EQ(cut.error().address, s.l.huge2m + 3 * kPage);
        auto beyond = kas.read_bytes(s.l.vmalloc, 20 * kPage);  // 4 pages mapped, then nothing
        ASSERT_FALSE(beyond.has_value());
        EXPECT_EQ(beyond.error().kind, ErrorKind::kUnmapped);
        EXPECT_EQ(beyond.error().address, s.l.vmalloc + 4 * kPage);
    }
}

INSTANTIATE_TEST_SUITE_P(Levels,
                         KernelAddressSpaceTest,
                         ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "FiveLevel" : "FourLevel"; });

}  // namespace
}  // namespace lockhound::dump
