// FlattenedSource: makedumpfile's flattened stream read in place, including records that
// overwrite earlier ones, out-of-order records, holes and streams cut short.
#include "dump/flattened_source.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "dump/diskdump.h"
#include "dump_test_helpers.h"

namespace lockhound::dump {
namespace {

using test::Bytes;
using test::memory_bytes;
using testing::FlattenSpec;
using testing::KdumpSpec;
using testing::PhysImage;

constexpr std::uint64_t kPage = 4096;

Bytes sample_plain(std::size_t n) {
    return testing::pattern_bytes(0x1234, n);
}

Result<std::unique_ptr<FlattenedSource>> open_flat(std::span<const std::byte> b) {
    return FlattenedSource::open(memory_bytes(b));
}

TEST(FlattenedSource, RoundTrip) {
    Bytes plain = sample_plain(50000);
    for (std::size_t chunk : {4096u, 1000u, 1u << 20}) {
        for (bool reverse : {false, true}) {
            SCOPED_TRACE(::testing::Message() << chunk << " " << reverse);
            FlattenSpec spec;
            spec.chunk = chunk;
            spec.reverse = reverse;
            Bytes flat = testing::build_flattened(plain, spec);
            auto memory = memory_bytes(flat);
            ASSERT_TRUE(FlattenedSource::looks_flattened(*memory));
            auto src = FlattenedSource::open(std::move(memory));
            ASSERT_TRUE(src.has_value()) << src.error().describe();
            EXPECT_EQ((*src)->size(), plain.size());
            EXPECT_FALSE((*src)->truncated());
            EXPECT_EQ(test::read_all(**src), plain);
            Bytes part(3000);
            ASSERT_TRUE((*src)->read(4000, part).has_value());  // crosses a record
            EXPECT_EQ(part, Bytes(plain.begin() + 4000, plain.begin() + 7000));
            // A zero-copy view exists inside one record, not across two.
            auto v = (*src)->view(100, 200);
            if (chunk >= 300) {
                ASSERT_EQ(v.size(), 200u);
                EXPECT_TRUE(std::equal(v.begin(), v.end(), plain.begin() + 100));
            }
            if (chunk == 1000) {
                EXPECT_TRUE((*src)->view(900, 200).empty());
            }
            EXPECT_TRUE((*src)->view(plain.size() - 10, 20).empty());
        }
    }
}

TEST(FlattenedSource, LaterRecordsOverwriteEarlierOnes) {
    Bytes plain = sample_plain(30000);
    FlattenSpec spec;
    spec.chunk = 4096;
    // The header rewrite, one crossing a record boundary and one inside a single record.
    spec.rewrites = {{0, 1024}, {4000, 300}, {10000, 7}, {20480, 4096}};
    Bytes flat = testing::build_flattened(plain, spec);
    auto src = open_flat(flat);
    ASSERT_TRUE(src.has_value()) << src.error().describe();
    EXPECT_EQ(test::read_all(**src), plain);
    // Without the rewrite records (and the end marker after them) the stale bytes would show.
    Bytes no_rewrites = flat;
    no_rewrites.resize(no_rewrites.size() - 16 - (16 + 1024) - (16 + 300) - (16 + 7) - (16 + 4096));
    auto s2 = open_flat(no_rewrites);
    ASSERT_TRUE(s2.has_value());
    std::array<std::byte, 4> head{};
    ASSERT_TRUE((*s2)->read(0, head).has_value());
    EXPECT_EQ(head[0], std::byte{0xee});
}

// paint() against a model: random overlapping records, last writer wins, gaps are errors.
TEST(FlattenedSource, OverlapsMatchAModel) {
    std::mt19937_64 rng(42);
    for (int round = 0; round < 200; ++round) {
        SCOPED_TRACE(round);
        const std::size_t space = 6000;
        Bytes model(space);
        std::vector<bool> written(space);
        Bytes flat(4096);
        std::memcpy(flat.data(), "makedumpfile", 12);
        int records = 1 + static_cast<int>(rng() % 30);
        for (int i = 0; i < records; ++i) {
            std::uint64_t off = rng() % (space - 1);
            std::uint64_t len = 1 + rng() % std::min<std::uint64_t>(1500, space - off - 1);
            std::size_t at = flat.size();
            flat.resize(at + 16 + len);
            for (int k = 0; k < 8; ++k) {
                auto k8 = static_cast<std::size_t>(k);
                flat[at + k8] = static_cast<std::byte>((off >> (56 - 8 * k)) & 0xff);
                flat[at + 8 + k8] = static_cast<std::byte>((len >> (56 - 8 * k)) & 0xff);
            }
            for (std::uint64_t j = 0; j < len; ++j) {
                auto v = static_cast<std::byte>(rng() & 0xff);
                flat[at + 16 + j] = v;
                model[off + j] = v;
                written[off + j] = true;
            }
        }
        auto src = open_flat(flat);
        ASSERT_TRUE(src.has_value());
        EXPECT_TRUE((*src)->truncated());  // no end marker
        for (std::uint64_t a = 0; a < space; ++a) {
            std::array<std::byte, 1> b{};
            auto r = (*src)->read(a, b);
            ASSERT_EQ(r.has_value(), static_cast<bool>(written[a])) << a;
            if (r) {
                ASSERT_EQ(b[0], model[a]) << a;
            } else {
                EXPECT_EQ(r.error().kind, ErrorKind::kTruncated);
                EXPECT_EQ(r.error().address, a);
            }
        }
    }
}

TEST(FlattenedSource, HolesAreTruncatedWithTheOffset) {
    Bytes plain = sample_plain(20000);
    FlattenSpec spec;
    spec.holes = {{5000, 100}};
    auto src = open_flat(testing::build_flattened(plain, spec));
    ASSERT_TRUE(src.has_value());
    Bytes buf(200);
    auto r = (*src)->read(4950, buf);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, ErrorKind::kTruncated);
    EXPECT_EQ(r.error().address, 5000u);
    ASSERT_TRUE((*src)->read(5100, buf).has_value());
    EXPECT_TRUE((*src)->view(5000, 10).empty());
    r = (*src)->read(plain.size() - 1, buf);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().address, plain.size());
}

// Regression: a stream cut inside a record (a flattened dump copied while being written, or
// cut short) failed to open at all; the bytes before the cut are now usable.
TEST(FlattenedSource, StreamCutInsideARecordKeepsWhatIsThere) {
    Bytes plain = sample_plain(20000);
    Bytes flat = testing::build_flattened(plain, {});
    for (std::size_t cut : {4096u + 16u + 1u, 4096u + 16u + 4096u + 16u + 100u, 12345u}) {
        SCOPED_TRACE(cut);
        auto src = open_flat(std::span(flat).first(cut));
        ASSERT_TRUE(src.has_value()) << src.error().describe();
        EXPECT_TRUE((*src)->truncated());
        Bytes all(static_cast<std::size_t>((*src)->size()));
        ASSERT_TRUE((*src)->read(0, all).has_value());
        EXPECT_TRUE(std::equal(all.begin(), all.end(), plain.begin()));
        std::array<std::byte, 8> b{};
        EXPECT_FALSE((*src)->read((*src)->size(), b).has_value());
    }
}

TEST(FlattenedSource, BadStreams) {
    Bytes plain = sample_plain(9000);
    Bytes flat = testing::build_flattened(plain, {});
    // Only the header, or the header and a record header cut short.
    for (std::size_t cut : {0u, 100u, 4096u, 4096u + 15u}) {
        auto src = open_flat(std::span(flat).first(cut));
        ASSERT_FALSE(src.has_value()) << cut;
        EXPECT_TRUE(src.error().kind == ErrorKind::kTruncated ||
                    src.error().kind == ErrorKind::kBadData);
    }
    // Not flattened.
    Bytes bad = flat;
    bad[0] = std::byte{'M'};
    EXPECT_EQ(open_flat(bad).error().kind, ErrorKind::kBadData);
    // An end marker first: no data.
    bad = flat;
    std::fill(bad.begin() + 4096, bad.begin() + 4096 + 16, std::byte{0xff});
    EXPECT_EQ(open_flat(bad).error().kind, ErrorKind::kTruncated);
    // An implausible offset.
    bad = flat;
    bad[4096] = std::byte{0x7f};
    EXPECT_EQ(open_flat(bad).error().kind, ErrorKind::kBadData);
    // An implausible length.
    bad = flat;
    bad[4096 + 8] = std::byte{0x7f};
    EXPECT_EQ(open_flat(bad).error().kind, ErrorKind::kBadData);
}

TEST(FlattenedSource, OpenDumpOverFlattenedKdumpAndElf) {
    PhysImage mem;
    mem.fill_pattern(0, 12 * kPage);
    KdumpSpec spec;
    spec.vmcoreinfo = "OSRELEASE=6.1.0-test\n";
    spec.excluded = {3};
    Bytes kdump = testing::build_kdump(mem, spec);
    FlattenSpec fs;
    fs.rewrites = {{0, 464}, {4096, 104}};  // header and sub-header written last
    fs.reverse = true;
    auto f = test::open_built(testing::build_flattened(kdump, fs));
    ASSERT_TRUE(f.has_value()) << f.error().describe();
    EXPECT_EQ(f->format, "kdump-compressed (zlib, flattened), header v6, dump level 31, filtered");
    Bytes got(12 * kPage);
    auto r = f->memory->read_phys(0, got);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().address, 3 * kPage);
    Bytes page(kPage);
    for (std::uint64_t pfn : {0, 2, 4, 11}) {
        ASSERT_TRUE(f->memory->read_phys(pfn * kPage, page).has_value());
        EXPECT_EQ(page, mem.read(pfn * kPage, kPage));
    }

    testing::ElfCoreSpec es;
    es.phoff = 192;
    es.notes = {testing::vmcoreinfo_note("OSRELEASE=6.1.0-test\n")};
    es.loads = {{0, 12 * kPage, 12 * kPage, 0}};
    Bytes elf = testing::build_elf_core(mem, es);
    FlattenSpec efs;
    efs.chunk = 777;
    efs.rewrites = {{0, 64 + 192}};
    auto e = test::open_built(testing::build_flattened(elf, efs));
    ASSERT_TRUE(e.has_value()) << e.error().describe();
    EXPECT_EQ(e->format, "ELF64 core, 1 PT_LOAD segments, flattened");
    ASSERT_TRUE(e->memory->read_phys(0, got).has_value());
    EXPECT_EQ(got, mem.read(0, 12 * kPage));
}

// Regression: DiskDump read 112 bytes of kdump_sub_header (it has 104), so a flattened stream that
// wrote nothing right after the sub-header (a hole there) could not be opened.
TEST(FlattenedSource, NothingWrittenAfterTheSubHeader) {
    PhysImage mem;
    mem.fill_pattern(0, 4 * kPage);
    KdumpSpec spec;
    spec.header_version = 2;  // no VMCOREINFO or notes after the sub-header
    Bytes kdump = testing::build_kdump(mem, spec);
    FlattenSpec fs;
    fs.holes = {{464, kPage - 464}, {kPage + 104, kPage - 104}};
    auto src = open_flat(testing::build_flattened(kdump, fs));
    ASSERT_TRUE(src.has_value());
    auto dd = DiskDump::open(**src);
    ASSERT_TRUE(dd.has_value()) << dd.error().describe();
    Bytes page(kPage);
    ASSERT_TRUE((*dd)->read_phys(3 * kPage, page).has_value());
    EXPECT_EQ(page, mem.read(3 * kPage, kPage));
}

TEST(FlattenedSource, TruncatedFlattenedKdump) {
    PhysImage mem;
    mem.fill_pattern(0, 12 * kPage);
    KdumpSpec spec;
    spec.vmcoreinfo = "OSRELEASE=6.1.0-test\n";
    testing::KdumpLayout layout;
    Bytes kdump = testing::build_kdump(mem, spec, &layout);
    Bytes flat = testing::build_flattened(kdump, {});
    // Cut about halfway through the page data (plus the record headers before it).
    std::uint64_t cut_plain = layout.data_of.at(6);
    std::uint64_t cut = 4096 + cut_plain + 16 * (cut_plain / 4096 + 1) + 10;
    auto f = test::open_built(std::span(flat).first(cut));
    ASSERT_TRUE(f.has_value()) << f.error().describe();
    EXPECT_NE(f->format.find("flattened, truncated"), std::string::npos) << f->format;
    Bytes page(kPage);
    ASSERT_TRUE(f->memory->read_phys(5 * kPage, page).has_value());
    EXPECT_EQ(page, mem.read(5 * kPage, kPage));
    auto r = f->memory->read_phys(7 * kPage, page);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, ErrorKind::kNotInDump);
    EXPECT_EQ(r.error().address, 7 * kPage);
}

}  // namespace
}  // namespace lockhound::dump
