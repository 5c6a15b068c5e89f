// DiskDump over kdump-compressed files built in memory: every page codec, excluded pages,
// header versions, corrupt descriptors and data, truncation.
#include "dump/diskdump.h"

#include <gtest/gtest.h>

#include <chrono>

#include "dump_test_helpers.h"

namespace lockhound::dump {
namespace {

using test::Bytes;
using testing::KdumpLayout;
using testing::KdumpSpec;
using testing::PageCodec;
using testing::PhysImage;

constexpr std::uint64_t kPage = 4096;

PhysImage sample_memory() {
    PhysImage mem;
    mem.fill_pattern(0, 40 * kPage);           // pfns 0..39
    mem.add_page(30);                          // already there: stays patterned
    mem.remove_page(31);                       // a hole inside
    mem.fill_pattern(100 * kPage, 3 * kPage);  // pfns 100..102, then max_mapnr = 103
    return mem;
}

KdumpSpec sample_spec() {
    KdumpSpec spec;
    spec.vmcoreinfo = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\nNUMBER(phys_base)=0\n";
    spec.notes = {testing::prstatus_note(11, testing::sample_regs(0)),
                  testing::prstatus_note(22, testing::sample_regs(1))};
    spec.phys_base = -0x5e00000;
    spec.excluded = {5, 17, 101};
    return spec;
}

struct Built {
    PhysImage mem = sample_memory();
    KdumpLayout layout;
    Bytes file;
    explicit Built(const KdumpSpec& spec = sample_spec()) {
        file = testing::build_kdump(mem, spec, &layout);
    }
};

Result<std::unique_ptr<DiskDump>> open_bytes(const MemoryBytes& src) {
    return DiskDump::open(src);
}

void expect_page_reads(DiskDump& dd, const PhysImage& mem, std::uint64_t pfn) {
    SCOPED_TRACE(pfn);
    Bytes got(kPage);
    auto r = dd.read_phys(pfn * kPage, got);
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    EXPECT_EQ(got, mem.read(pfn * kPage, kPage));
}

void expect_not_in_dump(DiskDump& dd, std::uint64_t paddr, std::size_t len, std::uint64_t at) {
    SCOPED_TRACE(paddr);
    Bytes got(len);
    auto r = dd.read_phys(paddr, got);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, ErrorKind::kNotInDump) << r.error().describe();
    EXPECT_TRUE(r.error().has_address);
    EXPECT_EQ(r.error().address, at);
}

TEST(DiskDump, HeaderAndBitmaps) {
    Built b;
    MemoryBytes src(b.file);
    ASSERT_TRUE(DiskDump::looks_diskdump(src));
    auto dd = open_bytes(src);
    ASSERT_TRUE(dd.has_value()) << dd.error().describe();
    const DiskDumpHeader& h = (*dd)->header();
    EXPECT_EQ(h.header_version, 6);
    EXPECT_EQ(h.release, "6.1.0-test");
    EXPECT_EQ(h.machine, "x86_64");
    EXPECT_EQ(h.block_size, 4096u);
    EXPECT_EQ(h.max_mapnr, 103u);
    EXPECT_EQ(h.phys_base, -0x5e00000);
    EXPECT_EQ(h.dump_level, 31);
    EXPECT_EQ(h.nr_cpus, 2);
    EXPECT_EQ((*dd)->valid_pages(), 39u + 3u);
    EXPECT_EQ((*dd)->dumped_pages(), 39u + 3u - 3u);
    EXPECT_EQ((*dd)->phys_end(), 103u * kPage);
    EXPECT_EQ((*dd)->vmcoreinfo(), sample_spec().vmcoreinfo);
    ASSERT_EQ((*dd)->notes().cpus.size(), 2u);
    EXPECT_EQ((*dd)->notes().cpus[1].pid, 22);
    EXPECT_EQ((*dd)->compression_summary(), "zlib");  // from the header until pages are read
}

TEST(DiskDump, EveryPageAndEveryCodecReadsBack) {
    Built b;
    // The pattern compresses, so every codec was really used.
    std::set<PageCodec> used;
    for (const auto& [pfn, c] : b.layout.codec_of) used.insert(c);
    EXPECT_EQ(used.size(), 5u);
    MemoryBytes src(b.file);
    auto dd = open_bytes(src);
    ASSERT_TRUE(dd.has_value());
    for (const auto& [pfn, page] : b.mem.pages()) {
        if (sample_spec().excluded.count(pfn)) continue;
        expect_page_reads(**dd, b.mem, pfn);
        EXPECT_TRUE((*dd)->has_page(pfn * kPage + 123));
    }
    EXPECT_EQ((*dd)->compression_summary(), "zlib+lzo+snappy+zstd+uncompressed");
    // Again, from the page cache.
    for (std::uint64_t pfn : {0, 1, 2, 3, 4, 100}) expect_page_reads(**dd, b.mem, pfn);
}

TEST(DiskDump, PageCrossingReads) {
    Built b;
    MemoryBytes src(b.file);
    auto dd = open_bytes(src);
    ASSERT_TRUE(dd.has_value());
    // pfn 0..4 use zlib, lzo, snappy, zstd, raw: one read through all of them.
    for (auto [at, len] : {std::pair<std::uint64_t, std::size_t>{0xff8, 16},
                           {0x10, 4 * kPage + 0x100},
                           {2 * kPage + 7, 2 * kPage}}) {
        SCOPED_TRACE(at);
        Bytes got(len);
        auto r = (*dd)->read_phys(at, got);
        ASSERT_TRUE(r.has_value()) << r.error().describe();
        EXPECT_EQ(got, b.mem.read(at, len));
    }
}

TEST(DiskDump, ExcludedAndMissingPagesAreNotInDump) {
    Built b;
    MemoryBytes src(b.file);
    auto dd = open_bytes(src);
    ASSERT_TRUE(dd.has_value());
    expect_not_in_dump(**dd, 5 * kPage + 0x10, 8, 5 * kPage + 0x10);  // excluded
    expect_not_in_dump(**dd, 4 * kPage + 0xff8, 16, 5 * kPage);       // runs into it
    expect_not_in_dump(**dd, 31 * kPage, 8, 31 * kPage);              // hole
    expect_not_in_dump(**dd, 60 * kPage + 1, 8, 60 * kPage + 1);      // not RAM
    expect_not_in_dump(**dd, 101 * kPage, kPage, 101 * kPage);        // excluded
    expect_not_in_dump(**dd, 103 * kPage, 8, 103 * kPage);            // beyond max_mapnr
    expect_not_in_dump(**dd, ~0ull - 3, 8, ~0ull - 3);
    EXPECT_FALSE((*dd)->has_page(5 * kPage));
    EXPECT_FALSE((*dd)->has_page(31 * kPage));
    EXPECT_FALSE((*dd)->has_page(1ull << 50));
    // The neighbours are unaffected.
    expect_page_reads(**dd, b.mem, 4);
    expect_page_reads(**dd, b.mem, 6);
    expect_page_reads(**dd, b.mem, 102);
}

TEST(DiskDump, OpenDumpDescribesIt) {
    Built b;
    auto f = test::open_built(b.file);
    ASSERT_TRUE(f.has_value()) << f.error().describe();
    EXPECT_EQ(f->format, "kdump-compressed (zlib), header v6, dump level 31, filtered");
    EXPECT_EQ(f->header_release, "6.1.0-test");
    EXPECT_EQ(f->pages_in_dump, 39u);
    EXPECT_EQ(f->pages_excluded, 3u);
    EXPECT_EQ(f->vmcoreinfo.osrelease(), "6.1.0-test");
    EXPECT_EQ(f->cpus.size(), 2u);
}

class DiskDumpCodec : public ::testing::TestWithParam<PageCodec> {};

TEST_P(DiskDumpCodec, SingleCodecDump) {
    KdumpSpec spec = sample_spec();
    spec.codecs = {GetParam()};
    Built b(spec);
    MemoryBytes src(b.file);
    auto dd = open_bytes(src);
    ASSERT_TRUE(dd.has_value()) << dd.error().describe();
    for (std::uint64_t pfn : {0, 1, 2, 30, 39, 100, 102}) expect_page_reads(**dd, b.mem, pfn);
    EXPECT_EQ(b.layout.codec_of.at(2), GetParam());
}

TEST_P(DiskDumpCodec, CorruptDataIsBadDataForThatPageOnly) {
    KdumpSpec spec = sample_spec();
    spec.codecs = {GetParam()};
    Built b(spec);
    if (GetParam() == PageCodec::kRaw) GTEST_SKIP() << "raw pages carry no check";
    const std::uint64_t victim = 20;
    std::uint64_t data = b.layout.data_of.at(victim);
    switch (GetParam()) {
        case PageCodec::kZlib:  // the adler32 no longer matches
            b.file[data + 20] ^= std::byte{0x55};
            break;
        case PageCodec::kLzo:  // starts with the end-of-stream marker: 0 bytes out
            b.file[data] = std::byte{0x11};
            b.file[data + 1] = b.file[data + 2] = std::byte{0};
            break;
        case PageCodec::kSnappy:  // the length preamble says 2 KiB
            b.file[data] = std::byte{0x80};
            b.file[data + 1] = std::byte{0x10};
            break;
        case PageCodec::kZstd:  // bad frame magic
            b.file[data] ^= std::byte{0xff};
            break;
        case PageCodec::kRaw:
            break;
    }
    MemoryBytes src(b.file);
    auto dd = open_bytes(src);
    ASSERT_TRUE(dd.has_value());
    for (int attempt = 0; attempt < 2; ++attempt) {  // a failure is not cached as success
        Bytes got(16);
        auto r = (*dd)->read_phys(victim * kPage + 0x40, got);
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().kind, ErrorKind::kBadData) << r.error().describe();
        EXPECT_EQ(r.error().address, victim * kPage + 0x40);
    }
    EXPECT_TRUE((*dd)->has_page(victim * kPage));
    expect_page_reads(**dd, b.mem, victim - 1);
    expect_page_reads(**dd, b.mem, victim + 1);
}

INSTANTIATE_TEST_SUITE_P(Codecs,
                         DiskDumpCodec,
                         ::testing::Values(PageCodec::kRaw,
                                           PageCodec::kZlib,
                                           PageCodec::kLzo,
                                           PageCodec::kSnappy,
                                           PageCodec::kZstd));

// read_pages() decodes a run of pages on two threads: the bytes are those of reading each page,
// pages already cached are copied, and a failure is that of the first failing page in order
// (whichever thread met it), as reading them one by one would report.
TEST(DiskDump, ReadPagesInParallelAgreesWithOneByOne) {
    KdumpSpec spec = sample_spec();
    spec.excluded = {};
    Built b(spec);
    MemoryBytes src(b.file);
    auto dd = open_bytes(src);
    ASSERT_TRUE(dd.has_value());
    std::vector<std::uint64_t> paddrs;
    for (std::uint64_t pfn = 0; pfn < 40; ++pfn)
        if (pfn != 31) paddrs.push_back(pfn * kPage);
    paddrs.push_back(100 * kPage);
    paddrs.push_back(7 * kPage);  // the same page twice
    ASSERT_GE(paddrs.size(), DiskDump::kParallelPages);
    expect_page_reads(**dd, b.mem, 12);  // one page in the cache already
    Bytes got(paddrs.size() * kPage);
    std::size_t failed = 99;
    auto r = (*dd)->read_pages(paddrs, kPage, got, failed);
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    for (std::size_t i = 0; i < paddrs.size(); ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(Bytes(got.begin() + static_cast<std::ptrdiff_t>(i * kPage),
                        got.begin() + static_cast<std::ptrdiff_t>((i + 1) * kPage)),
                  b.mem.read(paddrs[i], kPage));
    }
    EXPECT_EQ(failed, 99u) << "untouched on success";

    // Two bad pages, one in each thread's half: the earlier one is reported.
    for (std::uint64_t pfn : {std::uint64_t{33}, std::uint64_t{6}}) {
        Built c(spec);
        // Both pages unreadable: pfn 6 (first half) and 33 (second half); then only 33.
        for (std::uint64_t victim : {std::uint64_t{6}, std::uint64_t{33}}) {
            if (victim < pfn) continue;
            std::uint64_t data = c.layout.data_of.at(victim);
            c.file[data] ^= std::byte{0xff};
            c.file[data + 1] ^= std::byte{0xff};
            c.file[data + 20] ^= std::byte{0x55};
        }
        MemoryBytes csrc(c.file);
        auto cd = open_bytes(csrc);
        ASSERT_TRUE(cd.has_value());
        std::vector<std::uint64_t> run;
        for (std::uint64_t q = 0; q < 40; ++q)
            if (q != 31) run.push_back(q * kPage);
        Bytes out(run.size() * kPage);
        std::size_t at = 0;
        auto bad = (*cd)->read_pages(run, kPage, out, at);
        ASSERT_FALSE(bad.has_value());
        EXPECT_EQ(run[at], pfn * kPage);
        EXPECT_EQ(bad.error().kind, ErrorKind::kBadData) << bad.error().describe();
        // The same as reading the pages one by one.
        std::size_t one_by_one = 0;
        auto seq = (*cd)->PhysicalMemory::read_pages(run, kPage, out, one_by_one);
        ASSERT_FALSE(seq.has_value());
        EXPECT_EQ(one_by_one, at);
        EXPECT_EQ(seq.error().address, bad.error().address);
    }
}

TEST(DiskDump, CorruptDescriptors) {
    Built b;
    struct Case {
        const char* what;
        std::uint64_t pfn;
        std::uint64_t field, value;
        int width;
        ErrorKind kind;
    };
    const Case cases[] = {
        {"size 0", 7, 8, 0, 4, ErrorKind::kBadData},
        {"size huge", 8, 8, 0xfffffff0, 4, ErrorKind::kBadData},
        {"offset beyond the file", 9, 0, 1ull << 40, 8, ErrorKind::kNotInDump},
        {"offset wraps", 18, 0, ~0ull - 10, 8, ErrorKind::kNotInDump},
        {"unknown flags, not page sized", 11, 12, 0x40, 4, ErrorKind::kBadData},
        {"raw but short", 10, 8, 100, 4, ErrorKind::kBadData},
        {"compressed flag on a raw page", 15, 12, 0x1, 4, ErrorKind::kBadData},
    };
    ASSERT_EQ(b.layout.codec_of.at(10), PageCodec::kRaw);
    ASSERT_EQ(b.layout.codec_of.at(15), PageCodec::kRaw);
    for (const auto& c : cases) {
        std::uint64_t d = b.layout.desc_of.at(c.pfn);
        if (c.width == 4)
            testing::put_le32(b.file, d + c.field, static_cast<std::uint32_t>(c.value));
        else
            testing::put_le64(b.file, d + c.field, c.value);
    }
    MemoryBytes src(b.file);
    auto dd = open_bytes(src);
    ASSERT_TRUE(dd.has_value());
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        Bytes got(8);
        auto r = (*dd)->read_phys(c.pfn * kPage, got);
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().kind, c.kind) << r.error().describe();
        EXPECT_EQ(r.error().address, c.pfn * kPage);
    }
    for (std::uint64_t pfn : {6, 12, 13, 16, 19}) expect_page_reads(**dd, b.mem, pfn);
}

// Regression: a descriptor makedumpfile never wrote (all zeros: the dump was interrupted, see
// DUMP_DH_COMPRESSED_INCOMPLETE) was reported as corrupt data instead of a page not in the dump.
TEST(DiskDump, UnwrittenDescriptorIsNotInDump) {
    Built b;
    std::uint64_t d = b.layout.desc_of.at(12);
    std::fill(b.file.begin() + static_cast<std::ptrdiff_t>(d),
              b.file.begin() + static_cast<std::ptrdiff_t>(d + 24),
              std::byte{0});
    testing::put_le32(b.file, 424, 0x1 | 0x8);  // zlib | incomplete
    {
        MemoryBytes src(b.file);
        auto dd = open_bytes(src);
        ASSERT_TRUE(dd.has_value());
        expect_not_in_dump(**dd, 12 * kPage + 8, 8, 12 * kPage + 8);
        expect_page_reads(**dd, b.mem, 13);
    }
    auto f = test::open_built(b.file);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->format, "kdump-compressed (zlib), header v6, dump level 31, filtered, incomplete");
}

TEST(DiskDump, CacheSlotsAreNotPoisonedByFailures) {
    // pfn 0 and 512 share a cache slot; 512's data is corrupt.
    PhysImage mem;
    mem.fill_pattern(0, kPage);
    mem.fill_pattern(512 * kPage, kPage);
    KdumpSpec spec;
    spec.vmcoreinfo = "OSRELEASE=x\n";
    spec.codecs = {PageCodec::kZlib};
    KdumpLayout layout;
    Bytes file = testing::build_kdump(mem, spec, &layout);
    file[layout.data_of.at(512) + 10] ^= std::byte{0xff};
    MemoryBytes src(file);
    auto dd = open_bytes(src);
    ASSERT_TRUE(dd.has_value());
    expect_page_reads(**dd, mem, 0);
    Bytes got(kPage);
    EXPECT_FALSE((*dd)->read_phys(512 * kPage, got).has_value());
    expect_page_reads(**dd, mem, 0);
}

TEST(DiskDump, HeaderVersions) {
    for (int v : {1, 2, 3, 4, 5, 6}) {
        SCOPED_TRACE(v);
        KdumpSpec spec = sample_spec();
        spec.header_version = v;
        Built b(spec);
        MemoryBytes src(b.file);
        auto dd = open_bytes(src);
        ASSERT_TRUE(dd.has_value()) << dd.error().describe();
        EXPECT_EQ((*dd)->header().header_version, v);
        EXPECT_EQ((*dd)->vmcoreinfo().empty(), v < 3);
        EXPECT_EQ((*dd)->notes().cpus.size(), v >= 4 ? 2u : 0u);
        expect_page_reads(**dd, b.mem, 100);
        auto f = test::open_built(b.file);
        EXPECT_EQ(f.has_value(), v >= 3);
        if (!f) {
            EXPECT_NE(f.error().message.find("VMCOREINFO"), std::string::npos);
        }
    }
}

TEST(DiskDump, MaxMapnrOnlyIn64BitField) {
    KdumpSpec spec = sample_spec();
    spec.mapnr_only_64 = true;
    Built b(spec);
    MemoryBytes src(b.file);
    auto dd = open_bytes(src);
    ASSERT_TRUE(dd.has_value()) << dd.error().describe();
    EXPECT_EQ((*dd)->header().max_mapnr, 103u);
    expect_page_reads(**dd, b.mem, 102);
}

TEST(DiskDump, BadHeaderFields) {
    const Built b;
    auto open_patched = [&](std::uint64_t off, std::uint32_t v) {
        Bytes f = b.file;
        testing::put_le32(f, off, v);
        MemoryBytes src(f);
        auto r = DiskDump::open(src);
        return r ? ErrorKind::kMismatch : r.error().kind;  // kMismatch: "it opened"
    };
    EXPECT_EQ(open_patched(428, 1000), ErrorKind::kBadData);        // block size
    EXPECT_EQ(open_patched(428, 1u << 21), ErrorKind::kBadData);    // block size
    EXPECT_EQ(open_patched(428, 0x80000000), ErrorKind::kBadData);  // negative
    EXPECT_EQ(open_patched(432, 0xffffffff), ErrorKind::kBadData);  // sub_hdr_size -1
    EXPECT_EQ(open_patched(432, 5000), ErrorKind::kBadData);
    EXPECT_EQ(open_patched(436, 0), ErrorKind::kBadData);  // no bitmap
    EXPECT_EQ(open_patched(436, 0xffffffff), ErrorKind::kTruncated);
    EXPECT_EQ(open_patched(4096 + 96, 0), ErrorKind::kMismatch);  // max_mapnr_64 0: 32-bit one
    EXPECT_EQ(open_patched(4096 + 96, 1u << 20), ErrorKind::kBadData);  // more than the bitmap
    // A VMCOREINFO or note region outside the file is ignored.
    EXPECT_EQ(open_patched(4096 + 32, 0xfffffff0), ErrorKind::kMismatch);
    EXPECT_EQ(open_patched(4096 + 52, 0x10), ErrorKind::kMismatch);
    EXPECT_EQ(open_patched(0, 0), ErrorKind::kBadData);  // signature
}

// Regression: a header claiming 2^36 pages and bitmaps to match made open() allocate the bitmaps
// (24 GiB) before checking that the file holds them.
TEST(DiskDump, HugeClaimedBitmapsAreCheckedBeforeAllocating) {
    Built b;
    testing::put_le32(b.file, 436, 1u << 23);  // bitmap blocks: 32 GiB of bitmaps
    testing::put_le32(b.file, 440, 0);
    testing::put_le64(b.file, 4096 + 96, 1ull << 36);  // max_mapnr_64
    MemoryBytes src(b.file);
    auto start = std::chrono::steady_clock::now();
    auto r = DiskDump::open(src);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, ErrorKind::kTruncated);
    // Before the fix this zero-filled 16 GiB (40 s) where the machine had the memory.
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(DiskDump, TruncatedInDescriptorsAndData) {
    Built b;
    const auto& dumped = b.layout.desc_of;  // pfn -> descriptor offset, in rank order
    auto check_cut = [&](std::uint64_t cut) {
        SCOPED_TRACE(cut);
        MemoryBytes src(Bytes(b.file.begin(), b.file.begin() + static_cast<std::ptrdiff_t>(cut)));
        auto dd = DiskDump::open(src);
        if (!dd) {
            ADD_FAILURE() << dd.error().describe();
            return -1;
        }
        int ok = 0;
        for (const auto& [pfn, desc] : dumped) {
            Bytes got(kPage);
            auto r = (*dd)->read_phys(pfn * kPage, got);
            bool complete =
                desc + 24 <= cut && b.layout.data_of.at(pfn) + b.layout.size_of.at(pfn) <= cut;
            EXPECT_EQ(r.has_value(), complete) << pfn;
            if (r) {
                EXPECT_EQ(got, b.mem.read(pfn * kPage, kPage));
                ++ok;
            } else {
                EXPECT_EQ(r.error().kind, ErrorKind::kNotInDump) << r.error().describe();
                EXPECT_EQ(r.error().address, pfn * kPage);
            }
        }
        return ok;
    };
    EXPECT_EQ(check_cut(b.layout.desc_offset), 0);
    EXPECT_EQ(check_cut(b.layout.desc_offset + 24 * 10 + 5), 0);  // no page data at all
    EXPECT_EQ(check_cut(b.layout.data_offset), 0);
    // Halfway through the pages: the first ones read, the rest are not in the dump.
    std::uint64_t half = b.layout.data_of.at(20) + 3;
    int ok = check_cut(half);
    EXPECT_GE(ok, 15);
    EXPECT_LT(ok, 39);
}

TEST(DiskDump, EveryPrefixOfTheMetadataOpensOrFailsCleanly) {
    Built b;
    std::uint64_t end = b.layout.data_offset + 64;
    for (std::uint64_t cut = 0; cut <= end;
         cut += (cut < 600 || cut > b.layout.desc_offset ? 1 : 61)) {
        auto f = test::open_built(std::span(b.file).first(cut));
        if (!f) {
            EXPECT_FALSE(f.error().message.empty());
            EXPECT_TRUE(f.error().kind == ErrorKind::kTruncated ||
                        f.error().kind == ErrorKind::kBadData)
                << cut << ": " << f.error().describe();
            continue;
        }
        EXPECT_GE(cut, b.layout.desc_offset);
        Bytes got(16);
        auto r = f->memory->read_phys(0, got);
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().kind, ErrorKind::kNotInDump);
    }
}

}  // namespace
}  // namespace lockhound::dump
