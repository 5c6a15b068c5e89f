// DiskDump's cache of decoded pages: a page is decompressed once while it stays cached, least
// recently used pages leave a full set first, and contents stay right across evictions.
#include <gtest/gtest.h>

#include "dump/diskdump.h"
#include "dump_test_helpers.h"

namespace lockhound::dump {
namespace {

using test::Bytes;
using testing::KdumpSpec;
using testing::PageCodec;
using testing::PhysImage;

constexpr std::uint64_t kPage = 4096;
// These test dumps hold few pages: the cache has its minimum number of sets.
constexpr std::uint64_t kSets = DiskDump::kMinCacheSets;

struct Built {
    PhysImage mem;
    Bytes file;
    std::unique_ptr<MemoryBytes> src;
    std::unique_ptr<DiskDump> dd;

    explicit Built(const std::vector<std::uint64_t>& pfns) {
        for (std::uint64_t pfn : pfns) mem.fill_pattern(pfn * kPage, kPage);
        KdumpSpec spec;
        spec.vmcoreinfo = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\n";
        spec.codecs = {PageCodec::kLzo, PageCodec::kRaw};  // fast to build and to decode
        file = testing::build_kdump(mem, spec);
        src = std::make_unique<MemoryBytes>(file);
        auto d = DiskDump::open(*src);
        EXPECT_TRUE(d.has_value()) << d.error().describe();
        if (d) dd = std::move(*d);
    }

    // Reads the page in two pieces (as the analysis reads fields and stack words): through the
    // cache. A whole-page read bypasses it (read_whole).
    void read(std::uint64_t pfn) {
        SCOPED_TRACE(pfn);
        Bytes got(kPage);
        auto r = dd->read_phys(pfn * kPage, std::span(got).first(kPage / 2));
        ASSERT_TRUE(r.has_value()) << r.error().describe();
        r = dd->read_phys(pfn * kPage + kPage / 2, std::span(got).subspan(kPage / 2));
        ASSERT_TRUE(r.has_value()) << r.error().describe();
        EXPECT_EQ(got, mem.read(pfn * kPage, kPage));
    }
    void read_whole(std::uint64_t pfn, std::uint64_t pages = 1) {
        Bytes got(kPage * pages);
        auto r = dd->read_phys(pfn * kPage, got);
        ASSERT_TRUE(r.has_value()) << r.error().describe();
        EXPECT_EQ(got, mem.read(pfn * kPage, kPage * pages));
    }
};

// A walk over thousands of pages (waiter records on as many stacks) fits: read twice, decoded
// once. The old 512-slot direct-mapped cache decoded every page again on the second pass.
TEST(DiskDumpPageCache, ThousandsOfPagesAreDecodedOnce) {
    std::vector<std::uint64_t> pfns;
    for (std::uint64_t pfn = 0; pfn < 3000; ++pfn) pfns.push_back(pfn);
    Built b(pfns);
    ASSERT_TRUE(b.dd);
    for (int pass = 0; pass < 2; ++pass)
        for (std::uint64_t pfn : pfns) b.read(pfn);
    EXPECT_EQ(b.dd->pages_decoded(), pfns.size());
}

// The cache grows with the dump (up to kMaxCacheSets): a pass over 5000 dumped pages, read
// twice, decodes each once.
TEST(DiskDumpPageCache, SetsFollowTheNumberOfDumpedPages) {
    std::vector<std::uint64_t> pfns;
    for (std::uint64_t pfn = 0; pfn < 5000; ++pfn) pfns.push_back(pfn);
    Built b(pfns);
    ASSERT_TRUE(b.dd);
    EXPECT_EQ(b.dd->cache_sets(), 2048u);  // 4 ways x 2048 >= 5000 > 4 x 1024
    for (int pass = 0; pass < 2; ++pass)
        for (std::uint64_t pfn : pfns) b.read(pfn);
    EXPECT_EQ(b.dd->pages_decoded(), pfns.size());
}

// Pages that share a set: the least recently used one is evicted, not the one in use.
TEST(DiskDumpPageCache, LeastRecentlyUsedLeavesAFullSet) {
    const std::uint64_t ways = DiskDump::kCacheWays;
    std::vector<std::uint64_t> same_set;
    for (std::uint64_t i = 0; i <= ways; ++i) same_set.push_back(i * kSets);
    Built b(same_set);
    ASSERT_TRUE(b.dd);
    for (std::uint64_t i = 0; i < ways; ++i) b.read(same_set[i]);  // the set is full
    EXPECT_EQ(b.dd->pages_decoded(), ways);
    b.read(same_set[0]);  // now the most recently used
    EXPECT_EQ(b.dd->pages_decoded(), ways);
    b.read(same_set[ways]);  // evicts same_set[1], the least recently used
    EXPECT_EQ(b.dd->pages_decoded(), ways + 1);
    b.read(same_set[0]);
    for (std::uint64_t i = 2; i <= ways; ++i) b.read(same_set[i]);
    EXPECT_EQ(b.dd->pages_decoded(), ways + 1) << "all still cached";
    b.read(same_set[1]);
    EXPECT_EQ(b.dd->pages_decoded(), ways + 2);
}

// More pages than the cache holds: every read still returns the page's own bytes.
TEST(DiskDumpPageCache, ContentsStayRightAcrossEvictions) {
    std::vector<std::uint64_t> pfns;
    // Five pages in each of a few sets, plus a run of consecutive pages: evictions everywhere.
    for (std::uint64_t set = 0; set < 8; ++set)
        for (std::uint64_t i = 0; i < 5; ++i) pfns.push_back(set + i * kSets);
    for (std::uint64_t pfn = 5 * kSets; pfn < 5 * kSets + 64; ++pfn) pfns.push_back(pfn);
    Built b(pfns);
    ASSERT_TRUE(b.dd);
    for (int pass = 0; pass < 3; ++pass)
        for (std::size_t i = 0; i < pfns.size(); ++i)
            b.read(pfns[(i * 7 + static_cast<std::size_t>(pass)) % pfns.size()]);
}

// Bulk reads of whole pages (BTF, ORC tables) are decoded into the caller's buffer without
// entering the cache; a page already cached is still served from it.
TEST(DiskDumpPageCache, WholePageReadsBypassTheCache) {
    std::vector<std::uint64_t> pfns;
    for (std::uint64_t pfn = 0; pfn < 16; ++pfn) pfns.push_back(pfn);
    Built b(pfns);
    ASSERT_TRUE(b.dd);
    b.read(3);  // cached
    EXPECT_EQ(b.dd->pages_decoded(), 1u);
    b.read_whole(0, 16);  // 15 decoded directly, page 3 from the cache
    EXPECT_EQ(b.dd->pages_decoded(), 16u);
    b.read_whole(0, 16);  // not cached: decoded again
    EXPECT_EQ(b.dd->pages_decoded(), 31u);
    b.read(3);
    b.read(4);  // not made cached by the bulk reads
    EXPECT_EQ(b.dd->pages_decoded(), 32u);
}

}  // namespace
}  // namespace lockhound::dump
