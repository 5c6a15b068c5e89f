// Bad input: empty, random and truncated files, and real dumps cut short or corrupted (copies
// under /tmp). Nothing may crash; every failure is an Error with a message, and a page that
// cannot be read is kNotInDump / kTruncated (missing) or kBadData (corrupt) for that page only.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstring>
#include <iostream>
#include <random>
#include <set>

#include "dump/diskdump.h"
#include "dump/kernel_address_space.h"
#include "dump_test_helpers.h"
#include "support/shared_dumps.h"

namespace lockhound::dump {
namespace {

using test::Bytes;
using test::TempFile;

constexpr std::uint64_t kPage = 4096;

bool missing_kind(ErrorKind k) {
    return k == ErrorKind::kNotInDump || k == ErrorKind::kTruncated;
}

TEST(BadInput, EmptyMissingAndDirectory) {
    TempFile empty(Bytes{});
    auto f = open_dump(empty.path());
    ASSERT_FALSE(f.has_value());
    EXPECT_EQ(f.error().kind, ErrorKind::kTruncated);
    EXPECT_NE(f.error().message.find("empty"), std::string::npos);
    f = open_dump("/tmp/lh-dumptest-does-not-exist");
    ASSERT_FALSE(f.has_value());
    EXPECT_EQ(f.error().kind, ErrorKind::kIo);
    f = open_dump("/tmp");
    ASSERT_FALSE(f.has_value());
    EXPECT_EQ(f.error().kind, ErrorKind::kIo);
    EXPECT_FALSE(test::open_built(Bytes{}).has_value());
}

TEST(BadInput, RandomBytesWithAndWithoutMagic) {
    std::mt19937_64 rng(7);
    const std::string magics[] = {"",
                                  "KDUMP   ",
                                  "\x7f"
                                  "ELF\x02\x01\x01",
                                  "makedumpfile"};
    for (std::size_t size : {1u, 7u, 64u, 463u, 5000u, 70000u}) {
        for (const auto& magic : magics) {
            for (int round = 0; round < 4; ++round) {
                Bytes b(size);
                for (auto& x : b) x = static_cast<std::byte>(rng() & 0xff);
                std::memcpy(b.data(), magic.data(), std::min(magic.size(), size));
                auto f = test::open_built(b);
                if (!f) {
                    EXPECT_FALSE(f.error().message.empty());
                    continue;
                }
                // Opened (vanishingly unlikely): reads must still fail cleanly or succeed.
                std::array<std::byte, 64> buf{};
                (void)f->memory->read_phys(0, buf);
            }
        }
    }
    // Through a real file too.
    Bytes b(10000);
    for (auto& x : b) x = static_cast<std::byte>(rng() & 0xff);
    TempFile t(b);
    auto f = open_dump(t.path());
    ASSERT_FALSE(f.has_value());
    EXPECT_EQ(f.error().kind, ErrorKind::kBadData);
}

TEST(BadInput, EveryPrefixOfAFlattenedKdump) {
    testing::PhysImage mem;
    mem.fill_pattern(0, 8 * kPage);
    testing::KdumpSpec spec;
    spec.vmcoreinfo = "OSRELEASE=6.1.0-test\n";
    Bytes flat = testing::build_flattened(testing::build_kdump(mem, spec), {});
    for (std::size_t cut = 0; cut <= flat.size(); cut += (cut < 9000 ? 3 : 101)) {
        auto f = test::open_built(std::span(flat).first(cut));
        if (!f) {
            EXPECT_FALSE(f.error().message.empty());
            continue;
        }
        Bytes page(kPage);
        for (std::uint64_t pfn = 0; pfn < 9; ++pfn) {
            auto r = f->memory->read_phys(pfn * kPage, page);
            if (r) {
                EXPECT_EQ(page, mem.read(pfn * kPage, kPage));
            } else {
                EXPECT_TRUE(missing_kind(r.error().kind)) << cut << " " << r.error().describe();
            }
        }
    }
}

// ---- real dumps ----

std::vector<std::string> shared_vmcores() {
    std::vector<std::string> out;
    for (const auto& d : lockhound::testing::shared_dumps())
        for (const auto& p : d.vmcores) out.push_back(p);
    return out;
}

// The first n bytes of path in a temp file.
std::unique_ptr<TempFile> prefix_copy(const std::string& path, std::uint64_t n) {
    auto file = MappedFile::open(path);
    if (!file) return nullptr;
    n = std::min(n, (*file)->size());
    auto v = (*file)->view(0, n);
    return std::make_unique<TempFile>(v);
}

// Where the parts of a plain kdump-compressed file are.
struct KdumpParts {
    std::uint64_t bitmap_off = 0, desc_off = 0, data_off = 0, size = 0;
};

std::optional<KdumpParts> kdump_parts(const std::string& path) {
    auto file = MappedFile::open(path);
    if (!file || !DiskDump::looks_diskdump(**file)) return std::nullopt;
    auto dd = DiskDump::open(**file);
    if (!dd) return std::nullopt;
    const auto& h = (*dd)->header();
    KdumpParts p;
    p.bitmap_off = (1 + static_cast<std::uint64_t>(h.sub_hdr_size)) * h.block_size;
    p.desc_off = p.bitmap_off + static_cast<std::uint64_t>(h.bitmap_blocks) * h.block_size;
    p.data_off = p.desc_off + 24 * (*dd)->dumped_pages();
    p.size = (*file)->size();
    return p;
}

struct CutResult {
    bool opened = false;
    int ok = 0, missing = 0;  // sampled pages that read / were missing
};

// Reads a sample of the dumped pages of the truncated dump and compares with the original.
CutResult check_truncated(const std::string& original, std::uint64_t cut) {
    SCOPED_TRACE(::testing::Message() << original << " cut at " << cut);
    CutResult res;
    auto copy = prefix_copy(original, cut);
    if (!copy) {
        ADD_FAILURE() << "cannot copy " << original;
        return res;
    }
    auto f = open_dump(copy->path());
    if (!f) {
        EXPECT_FALSE(f.error().message.empty());
        EXPECT_TRUE(f.error().kind == ErrorKind::kTruncated ||
                    f.error().kind == ErrorKind::kBadData)
            << f.error().describe();
        std::cout << "  cut " << cut << ": " << f.error().describe() << "\n";
        return res;
    }
    res.opened = true;
    auto full = open_dump(original);
    if (!full) {
        ADD_FAILURE() << full.error().describe();
        return res;
    }
    std::uint64_t end = full->memory->phys_end();
    Bytes a(kPage), b(kPage);
    for (std::uint64_t paddr = 0; paddr < end; paddr += 37 * kPage) {
        if (!full->memory->has_page(paddr)) continue;
        if (!full->memory->read_phys(paddr, a)) {
            ADD_FAILURE() << "original unreadable at " << paddr;
            continue;
        }
        auto r = f->memory->read_phys(paddr, b);
        if (r) {
            EXPECT_EQ(a, b) << paddr;
            ++res.ok;
        } else {
            EXPECT_TRUE(missing_kind(r.error().kind)) << r.error().describe();
            EXPECT_EQ(r.error().address, paddr);
            ++res.missing;
        }
    }
    // The page walk either works or fails cleanly.
    auto setup = PagingSetup::from_vmcoreinfo(f->vmcoreinfo);
    EXPECT_TRUE(setup.has_value());
    if (setup) {
        KernelAddressSpace kas(*f->memory, *setup);
        auto uts = kas.read_bytes(f->vmcoreinfo.symbol("init_uts_ns").value_or(0), 256);
        if (!uts) {
            EXPECT_TRUE(missing_kind(uts.error().kind)) << uts.error().describe();
        }
    }
    std::cout << "  cut " << cut << ": opened (" << f->format << "), sampled pages " << res.ok
              << " read, " << res.missing << " missing\n";
    return res;
}

TEST(BadInput, TruncatedRealDumps) {
    auto vmcores = shared_vmcores();
    if (vmcores.empty()) GTEST_SKIP() << "../shared/dumps is not present";
    // One dump of each kind: zlib, lzo and flattened.
    std::set<std::string> kinds;
    for (const auto& path : vmcores) {
        std::string kind = path.substr(path.rfind('.') + 1);
        if (!kinds.insert(kind).second) continue;
        std::cout << path << "\n";
        if (auto p = kdump_parts(path)) {
            // Header and sub-header, bitmaps: a clear error.
            EXPECT_FALSE(check_truncated(path, 4096).opened);
            EXPECT_FALSE(check_truncated(path, 4096 + 50).opened);
            EXPECT_FALSE(
                check_truncated(path, p->bitmap_off + (p->desc_off - p->bitmap_off) / 2).opened);
            // Descriptors: opens, no page can be read.
            for (std::uint64_t cut :
                 {p->desc_off, p->desc_off + (p->data_off - p->desc_off) / 2 + 7}) {
                CutResult r = check_truncated(path, cut);
                EXPECT_TRUE(r.opened);
                EXPECT_EQ(r.ok, 0);
                EXPECT_GT(r.missing, 100);
            }
            // Halfway through the pages: about half of them.
            CutResult half = check_truncated(path, p->data_off + (p->size - p->data_off) / 2);
            EXPECT_TRUE(half.opened);
            EXPECT_GT(half.ok, 100);
            EXPECT_GT(half.missing, 100);
            CutResult last = check_truncated(path, p->size - 1);
            EXPECT_TRUE(last.opened);
            EXPECT_LE(last.missing, 1);
        } else {
            struct stat st {};
            ASSERT_EQ(::stat(path.c_str(), &st), 0);
            auto size = static_cast<std::uint64_t>(st.st_size);
            EXPECT_FALSE(check_truncated(path, 4096).opened);
            EXPECT_FALSE(check_truncated(path, 4096 + 16 + 100).opened);
            for (std::uint64_t cut : {std::uint64_t{12000}, std::uint64_t{70000}})
                check_truncated(path, cut);
            CutResult half = check_truncated(path, size / 2);
            EXPECT_TRUE(half.opened);
            EXPECT_GT(half.ok, 100);
            EXPECT_GT(half.missing, 100);
            CutResult last = check_truncated(path, size - 1);
            EXPECT_TRUE(last.opened);
            EXPECT_LE(last.missing, 1);
        }
    }
}

// Flip bytes of one page's descriptor and of another page's compressed data in a copy of a real
// dump: those pages are kBadData, their neighbours read as before.
TEST(BadInput, CorruptedRealDumps) {
    auto vmcores = shared_vmcores();
    if (vmcores.empty()) GTEST_SKIP() << "../shared/dumps is not present";
    std::set<std::string> formats_done;
    for (const auto& path : vmcores) {
        auto parts = kdump_parts(path);
        if (!parts) continue;
        auto orig_file = MappedFile::open(path);
        ASSERT_TRUE(orig_file.has_value());
        auto orig = DiskDump::open(**orig_file);
        ASSERT_TRUE(orig.has_value());
        std::string method = (*orig)->compression_summary();
        if (!formats_done.insert(method).second) continue;
        SCOPED_TRACE(path);

        // Dumped pfns in order; their descriptors follow in the same order.
        std::vector<std::uint64_t> dumped;
        for (std::uint64_t pfn = 0; pfn < (*orig)->header().max_mapnr; ++pfn)
            if ((*orig)->has_page(pfn * kPage)) dumped.push_back(pfn);
        ASSERT_EQ(dumped.size(), (*orig)->dumped_pages());
        // Two victims in the middle with dumped neighbours, whose data is compressed.
        auto desc_at = [&](std::size_t rank) { return parts->desc_off + 24 * rank; };
        auto view = (*orig_file)->view(0, parts->size);
        auto u32_at = [&](std::uint64_t off) {
            std::uint32_t v;
            std::memcpy(&v, view.data() + off, 4);
            return v;
        };
        auto u64_at = [&](std::uint64_t off) {
            std::uint64_t v;
            std::memcpy(&v, view.data() + off, 8);
            return v;
        };
        std::size_t r1 = dumped.size() / 2;
        while (r1 + 4 < dumped.size() &&
               (u32_at(desc_at(r1) + 12) == 0 || u32_at(desc_at(r1 + 3) + 12) == 0 ||
                u64_at(desc_at(r1 + 3)) == u64_at(desc_at(r1 + 2)) ||
                u64_at(desc_at(r1 + 3)) == u64_at(desc_at(r1 + 4))))
            ++r1;
        std::size_t r2 = r1 + 3;
        Bytes copy(view.begin(), view.end());
        testing::put_le32(copy, desc_at(r1) + 8, 0);  // descriptor: size 0
        std::uint64_t data = u64_at(desc_at(r2));
        std::uint32_t flags = u32_at(desc_at(r2) + 12);
        if (flags & 0x1) {
            copy[data + u32_at(desc_at(r2) + 8) / 2] ^= std::byte{0x5a};  // zlib: adler32 breaks
        } else {
            copy[data] = std::byte{0x11};  // lzo: the end-of-stream marker first
            copy[data + 1] = copy[data + 2] = std::byte{0};
        }
        TempFile t(copy);
        auto f = open_dump(t.path());
        ASSERT_TRUE(f.has_value()) << f.error().describe();
        Bytes a(kPage), b(kPage);
        for (std::size_t rank : {r1, r2}) {
            auto r = f->memory->read_phys(dumped[rank] * kPage + 8, std::span(b).first(8));
            ASSERT_FALSE(r.has_value()) << rank;
            EXPECT_EQ(r.error().kind, ErrorKind::kBadData) << r.error().describe();
            EXPECT_EQ(r.error().address, dumped[rank] * kPage + 8);
        }
        for (std::size_t rank : {r1 - 1, r1 + 1, r2 - 1, r2 + 1}) {
            ASSERT_TRUE((*orig)->read_phys(dumped[rank] * kPage, a).has_value());
            auto r = f->memory->read_phys(dumped[rank] * kPage, b);
            ASSERT_TRUE(r.has_value()) << r.error().describe();
            EXPECT_EQ(a, b);
        }
    }
    EXPECT_GE(formats_done.size(), 2u);  // zlib and lzo
}

}  // namespace
}  // namespace lockhound::dump
