// The kallsyms tables found by their shape (kallsyms_scan.h) in images laid out as
// scripts/kallsyms lays them out, before 6.4 and from 6.4 on, and the address encodings chosen by
// where they put _stext. The real dumps' case is in dump_debuginfo_test.cpp.
#include "debuginfo/kallsyms_scan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/fake_memory.h"
#include "support/kallsyms_builder.h"

namespace lockhound::debuginfo {
namespace {

using lockhound::testing::FakeMemory;

constexpr std::uint64_t kImage = 0xffffffff82000000;
constexpr std::uint64_t kText = 0xffffffff81000000;
constexpr std::uint64_t kSize = 0x200000;

std::uint64_t align8(std::uint64_t v) {
    return (v + 7) & ~std::uint64_t{7};
}

// n symbols: _stext first, then f0001, f0002, ... at _stext + 0x10 * i (text), and one per-CPU
// symbol. Offsets in the encoding asked for.
struct Image {
    std::vector<std::string> typed;
    std::vector<std::uint64_t> addresses;
    KallsymsLocation truth;
};

Image build(FakeMemory& mem,
            std::size_t n,
            bool layout_6_4,
            KallsymsEncoding enc,
            bool seqs_after_markers = false) {
    Image img;
    img.typed.push_back("T_stext");
    img.addresses.push_back(kText);
    for (std::size_t i = 1; i < n; ++i) {
        img.typed.push_back("t" + std::string(i % 3 == 0 ? "mutex_lock_" : "f") +
                            std::to_string(i));
        img.addresses.push_back(kText + 0x10 * i);
    }
    img.typed.push_back("Dcurrent_task");
    img.addresses.push_back(0x1fb80);
    const auto t = lockhound::testing::encode_kallsyms(img.typed, {"mutex", "_lock", "lock_"});
    const std::size_t count = img.typed.size();
    // markers: offset of every 256th name
    std::vector<std::uint32_t> markers;
    {
        std::size_t pos = 0, sym = 0;
        for (std::size_t i = 0; i < t.names.size(); ++sym) {
            if (sym % 256 == 0) markers.push_back(static_cast<std::uint32_t>(pos));
            std::size_t len = t.names[i];
            std::size_t head = 1;
            if (len & 0x80) {
                len = (len & 0x7f) | (std::size_t{t.names[i + 1]} << 7);
                head = 2;
            }
            i += head + len;
            pos = i;
        }
    }
    mem.map(kImage, kSize);
    // some rodata before the tables
    std::uint64_t at = kImage + 0x1234 * 8;
    auto put_offsets = [&](std::uint64_t where) {
        for (std::size_t i = 0; i < count; ++i) {
            std::int64_t v = 0;
            if (enc == KallsymsEncoding::kPlaceRelative)
                v = static_cast<std::int64_t>(img.addresses[i] - (where + 4 * i));
            else if (img.addresses[i] < kText)
                v = static_cast<std::int64_t>(img.addresses[i]);  // absolute per-CPU
            else
                v = -1 - static_cast<std::int64_t>(img.addresses[i] - kText);
            mem.put_u32(where + 4 * i, static_cast<std::uint32_t>(static_cast<std::int32_t>(v)));
        }
        return align8(where + 4 * count);
    };
    KallsymsLocation& w = img.truth;
    if (!layout_6_4) {
        w.offsets = at;
        at = put_offsets(at);
        w.relative_base = at;
        mem.put_u64(at, kText);
        at += 8;
    }
    w.num_syms = at;
    mem.put_u32(at, static_cast<std::uint32_t>(count));
    at += 8;
    w.names = at;
    mem.put(at, t.names.data(), t.names.size());
    at = align8(at + t.names.size());
    mem.put(at, markers.data(), markers.size() * 4);
    at = align8(at + markers.size() * 4);
    if (seqs_after_markers) {  // kallsyms_seqs_of_names, as Debian's 6.1 has it: 3 bytes each
        std::vector<std::uint8_t> seqs(3 * count);
        for (std::size_t i = 0; i < seqs.size(); ++i)
            seqs[i] = static_cast<std::uint8_t>(i % 3 ? 0 : i);
        mem.put(at, seqs.data(), seqs.size());
        at = align8(at + seqs.size());
    }
    w.token_table = at;
    mem.put(at, t.token_table.data(), t.token_table.size());
    at = align8(at + t.token_table.size());
    w.token_index = at;
    mem.put(at, t.token_index.data(), 512);
    at = align8(at + 512);
    if (layout_6_4) {
        w.offsets = at;
        at = put_offsets(at);
        if (enc != KallsymsEncoding::kPlaceRelative) {
            w.relative_base = at;
            mem.put_u64(at, kText);
        }
    }
    w.stext = kText;
    return img;
}

void expect_same_symbols(const SymbolTable& syms, const Image& img) {
    ASSERT_EQ(syms.size(), img.typed.size());
    for (std::size_t i = 0; i < img.typed.size(); ++i)
        EXPECT_EQ(syms.address_of(img.typed[i].substr(1)), img.addresses[i]) << img.typed[i];
}

KallsymsScan scan_all() {
    return {.start = kImage, .end = kImage + kSize, .stext = kText};
}

TEST(KallsymsScan, FindsThePre64LayoutExactly) {
    FakeMemory mem;
    auto img = build(mem, 1000, false, KallsymsEncoding::kBaseRelativePercpu);
    auto found = find_kallsyms_tables(mem, scan_all());
    ASSERT_TRUE(found) << found.error().describe();
    ASSERT_FALSE(found->candidates.empty());
    const auto& c = found->candidates.front();
    EXPECT_EQ(c.token_table, img.truth.token_table);
    EXPECT_EQ(c.token_index, img.truth.token_index);
    EXPECT_EQ(c.names, img.truth.names);
    EXPECT_EQ(c.num_syms, img.truth.num_syms);
    EXPECT_EQ(c.offsets, img.truth.offsets);
    EXPECT_EQ(c.relative_base, img.truth.relative_base);
    auto syms = load_kallsyms_by_scan(mem, scan_all());
    ASSERT_TRUE(syms) << syms.error().describe();
    expect_same_symbols(*syms, img);
}

TEST(KallsymsScan, FindsTablesWithSeqsOfNamesBetweenMarkersAndTokens) {
    for (std::size_t n : {300, 511, 1000, 1500}) {
        SCOPED_TRACE(n);
        FakeMemory mem;
        auto img = build(mem, n, false, KallsymsEncoding::kBaseRelativePercpu, true);
        auto syms = load_kallsyms_by_scan(mem, scan_all());
        ASSERT_TRUE(syms) << syms.error().describe();
        expect_same_symbols(*syms, img);
    }
}

TEST(KallsymsScan, FindsThe64LayoutAndThePlaceRelativeOffsetsOf7x) {
    for (auto enc : {KallsymsEncoding::kBaseRelativePercpu, KallsymsEncoding::kPlaceRelative}) {
        SCOPED_TRACE(std::string(to_string(enc)));
        FakeMemory mem;
        auto img = build(mem, 700, true, enc);
        auto syms = load_kallsyms_by_scan(mem, scan_all());
        ASSERT_TRUE(syms) << syms.error().describe();
        expect_same_symbols(*syms, img);
    }
}

TEST(KallsymsScan, TheEncodingIsTheOneThatPutsStextWhereVmcoreinfoSays) {
    FakeMemory mem;
    auto img = build(mem, 300, true, KallsymsEncoding::kPlaceRelative);
    KallsymsLocation w = img.truth;  // as from VMCOREINFO on 7.x: no relative_base
    SymbolTable table;
    auto r = decode_kallsyms(mem, w, table);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->encoding, KallsymsEncoding::kPlaceRelative);
    // Pretend a relative base exists: place-relative still wins by _stext.
    KallsymsLocation with_base = w;
    with_base.relative_base = w.num_syms;  // any readable word
    SymbolTable t2;
    auto r2 = decode_kallsyms(mem, with_base, t2);
    ASSERT_TRUE(r2) << r2.error().describe();
    EXPECT_EQ(r2->encoding, KallsymsEncoding::kPlaceRelative);
    // No encoding puts _stext at a wrong address: an error that says so.
    KallsymsLocation wrong = w;
    wrong.stext = kText + 0x1000;
    SymbolTable t3;
    auto r3 = decode_kallsyms(mem, wrong, t3);
    ASSERT_FALSE(r3);
    EXPECT_NE(r3.error().message.find("_stext"), std::string::npos) << r3.error().message;
}

TEST(KallsymsScan, SaysWhichStepOfTheShapeDidNotMatch) {
    FakeMemory mem;
    mem.map(kImage, 0x10000);
    auto none = find_kallsyms_tables(mem, {.start = kImage, .end = kImage + 0x10000});
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message.find("no digit tokens"), std::string::npos);
    // The digit run alone, with no token table around it.
    const char digits[] =
        "0\0"
        "1\0"
        "2\0"
        "3\0"
        "4\0"
        "5\0"
        "6\0"
        "7\0"
        "8\0"
        "9";
    mem.put(kImage + 0x8000, digits, sizeof digits);
    auto lone = find_kallsyms_tables(mem, {.start = kImage, .end = kImage + 0x10000});
    ASSERT_FALSE(lone);
    EXPECT_NE(lone.error().message.find("digit tokens at"), std::string::npos)
        << lone.error().message;
}

TEST(KallsymsScan, DamagedTablesAreErrorsNotCrashes) {
    for (std::uint64_t cut : {0ull, 8ull, 0x100ull, 0x1000ull}) {
        FakeMemory mem;
        auto img = build(mem, 600, false, KallsymsEncoding::kBaseRelativePercpu);
        // Scribble over part of the names: the scan or the decode must fail or stay exact.
        std::vector<std::uint8_t> junk(64, 0xff);
        mem.put(img.truth.names + cut, junk.data(), junk.size());
        auto syms = load_kallsyms_by_scan(mem, scan_all());
        if (syms) {
            EXPECT_EQ(syms->size(), img.typed.size());
        }
    }
}

}  // namespace
}  // namespace lockhound::debuginfo
