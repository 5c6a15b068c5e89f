// The kernel's ORC table read on demand (OrcTable::on_demand): every lookup gives the entry the
// fully read table gives, with or without the kernel's orc_lookup words, reading only the chunks
// a lookup touches; a table found out of order is read whole and sorted; unreadable chunks and
// wild lookup words give no entry or a full search, never a wrong entry or a crash.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>

#include "kernel/orc_table.h"
#include "unit/kernel/orc_test_util.h"

namespace lockhound::kernel {
namespace {

using orc_test::call_entry;
using orc_test::make_raw_tables;

constexpr std::uint64_t kText = 0xffffffff81000000;
constexpr std::uint64_t kIpTable = 0xffffffff82c5f474;
constexpr std::uint64_t kOrcTable = 0xffffffff8300a000;
constexpr std::uint64_t kLookup = 0xffffffff83800000;
constexpr std::uint64_t kBlock = 256;

// Memory holding the raw tables (and optionally lookup words), with holes that can be punched.
struct TableMemory {
    std::map<std::uint64_t, std::vector<std::byte>> regions;
    std::set<std::uint64_t> holes;  // 4 KiB pages that read as missing
    int reads = 0;

    OrcMemoryReader reader() {
        return [this](std::uint64_t addr, std::span<std::byte> out) {
            ++reads;
            for (std::uint64_t p = addr & ~0xfffull; p < addr + out.size(); p += 0x1000)
                if (holes.contains(p)) return false;
            for (const auto& [base, bytes] : regions) {
                if (addr >= base && addr + out.size() <= base + bytes.size()) {
                    std::memcpy(out.data(), bytes.data() + (addr - base), out.size());
                    return true;
                }
            }
            return false;
        };
    }
};

// n entries, one every `step` bytes of text, with a terminator every 7th and varied offsets.
std::vector<std::pair<std::uint64_t, OrcEntry>> rows(std::size_t n, std::uint64_t step) {
    std::vector<std::pair<std::uint64_t, OrcEntry>> r;
    for (std::size_t i = 0; i < n; ++i) {
        OrcEntry e = i % 7 == 3 ? orc_test::undefined_entry()
                                : call_entry(static_cast<std::int16_t>(8 + 8 * (i % 13)));
        r.emplace_back(kText + i * step, e);
    }
    return r;
}

// The kernel's orc_lookup[] for a sorted table: per block, the last entry at or below its start.
std::vector<std::uint32_t> lookup_words(const std::vector<std::pair<std::uint64_t, OrcEntry>>& r,
                                        std::uint64_t text_end) {
    std::vector<std::uint32_t> w;
    std::size_t j = 0;
    for (std::uint64_t at = kText; at <= text_end + kBlock; at += kBlock) {
        while (j + 1 < r.size() && r[j + 1].first <= at) ++j;
        w.push_back(static_cast<std::uint32_t>(j));
    }
    return w;
}

std::vector<std::byte> bytes_of(const std::vector<std::uint32_t>& w) {
    std::vector<std::byte> b(w.size() * 4);
    std::memcpy(b.data(), w.data(), b.size());
    return b;
}

class OrcOnDemand : public ::testing::Test {
  protected:
    void build(std::size_t n, std::uint64_t step, bool with_lookup) {
        rows_ = rows(n, step);
        raw_ = make_raw_tables(kIpTable, rows_, OrcFormat::kV1);
        mem_.regions[kIpTable] = raw_.ips;
        mem_.regions[kOrcTable] = raw_.orcs;
        text_end_ = kText + n * step;
        auto full = OrcTable::from_raw(kIpTable, raw_.ips, raw_.orcs, OrcFormat::kV1, "vmlinux");
        ASSERT_TRUE(full) << full.error().describe();
        full->set_lookup_blocks(kText, text_end_);
        full_ = std::move(*full);
        std::vector<std::uint32_t> words = lookup_words(rows_, text_end_);
        if (with_lookup) mem_.regions[kLookup] = bytes_of(words);
        auto t =
            OrcTable::on_demand(kIpTable, kOrcTable, n, OrcFormat::kV1, "vmlinux", mem_.reader());
        ASSERT_TRUE(t) << t.error().describe();
        t->set_lookup_words_at(kText, text_end_, with_lookup ? kLookup : 0, words.size());
        lazy_ = std::move(*t);
    }
    // Both tables agree on ip: the same entry, or both none.
    void expect_same(std::uint64_t ip) {
        const OrcEntry* a = full_.find(ip);
        const OrcEntry* b = lazy_.find(ip);
        ASSERT_EQ(a == nullptr, b == nullptr) << std::hex << ip;
        if (a) {
            EXPECT_EQ(*a, *b) << std::hex << ip;
        }
    }

    std::vector<std::pair<std::uint64_t, OrcEntry>> rows_;
    orc_test::RawTables raw_;
    TableMemory mem_;
    std::uint64_t text_end_ = 0;
    OrcTable full_;
    OrcTable lazy_;
};

TEST_F(OrcOnDemand, EveryLookupAgreesWithTheWholeTableAndReadsFewChunks) {
    ASSERT_NO_FATAL_FAILURE(build(20000, 24, true));
    EXPECT_TRUE(lazy_.on_demand_table());
    EXPECT_EQ(lazy_.size(), 20000u);
    EXPECT_EQ(lazy_.first_ip(), kText);
    EXPECT_EQ(lazy_.end(), text_end_);
    EXPECT_EQ(lazy_.chunks_read(), 2u) << "the first and the last chunk";
    // A handful of lookups in one area read one more chunk, not the table.
    for (std::uint64_t ip = kText + 0x8000; ip < kText + 0x8400; ip += 3) expect_same(ip);
    EXPECT_LE(lazy_.chunks_read(), 4u);
    for (std::uint64_t ip = kText - 16; ip < text_end_ + 64; ip += 5) expect_same(ip);
    EXPECT_EQ(lazy_.chunks_read(), (20000u + 1023) / 1024);
}

TEST_F(OrcOnDemand, WithoutLookupWordsTheWholeRangeIsSearched) {
    ASSERT_NO_FATAL_FAILURE(build(5000, 40, false));
    EXPECT_FALSE(lazy_.has_lookup_blocks());
    for (std::uint64_t ip = kText - 8; ip < text_end_ + 64; ip += 7) expect_same(ip);
}

TEST_F(OrcOnDemand, WildLookupWordsNeverGiveAWrongEntry) {
    ASSERT_NO_FATAL_FAILURE(build(5000, 40, true));
    // Words past the table, decreasing, and pointing at the wrong entries.
    auto& w = mem_.regions[kLookup];
    std::uint32_t junk[] = {4999999, 3, 0, 4000, 17, 17, 1};
    for (std::size_t i = 0; i < std::size(junk); ++i)
        std::memcpy(w.data() + (10 + i * 37) * 4, &junk[i], 4);
    for (std::uint64_t ip = kText; ip < text_end_ + 64; ip += 11) expect_same(ip);
}

TEST_F(OrcOnDemand, AnUnsortedChunkMakesTheWholeTableBeSorted) {
    rows_ = rows(3000, 32);
    std::swap(rows_[1500], rows_[1501]);  // out of order, as only an unsorted table would be
    raw_ = make_raw_tables(kIpTable, rows_, OrcFormat::kV1);
    mem_.regions[kIpTable] = raw_.ips;
    mem_.regions[kOrcTable] = raw_.orcs;
    auto full = OrcTable::from_raw(kIpTable, raw_.ips, raw_.orcs, OrcFormat::kV1, "vmlinux");
    ASSERT_TRUE(full);
    full_ = std::move(*full);
    auto t = OrcTable::on_demand(kIpTable, kOrcTable, 3000, OrcFormat::kV1, "v", mem_.reader());
    ASSERT_TRUE(t);
    lazy_ = std::move(*t);
    for (std::uint64_t ip = kText; ip < kText + 3000 * 32; ip += 4) expect_same(ip);
}

TEST_F(OrcOnDemand, MissingPagesGiveNoEntryNotAWrongOne) {
    ASSERT_NO_FATAL_FAILURE(build(20000, 24, true));
    // Entry chunk 5 and IP chunk 9 are not in the dump.
    mem_.holes.insert((kOrcTable + 5 * 1024 * 6 + 0x1000) & ~0xfffull);
    mem_.holes.insert((kIpTable + 9 * 1024 * 4 + 0x800) & ~0xfffull);
    int missing = 0;
    for (std::uint64_t ip = kText; ip < text_end_; ip += 13) {
        const OrcEntry* a = full_.find(ip);
        const OrcEntry* b = lazy_.find(ip);
        if (!b) {
            ++missing;
            continue;
        }
        ASSERT_NE(a, nullptr);
        EXPECT_EQ(*a, *b) << std::hex << ip;
    }
    EXPECT_GT(missing, 0);

    // A table whose first chunk is missing is refused.
    TableMemory empty;
    auto t = OrcTable::on_demand(kIpTable, kOrcTable, 100, OrcFormat::kV1, "v", empty.reader());
    EXPECT_FALSE(t);
    EXPECT_FALSE(OrcTable::on_demand(kIpTable, kOrcTable, 0, OrcFormat::kV1, "v", mem_.reader()));
}

}  // namespace
}  // namespace lockhound::kernel
