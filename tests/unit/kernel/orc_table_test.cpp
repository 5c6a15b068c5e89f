#include "kernel/orc_table.h"

#include <gtest/gtest.h>

#include "unit/kernel/orc_test_util.h"

namespace lockhound::kernel {
namespace {

using orc_test::call_entry;
using orc_test::make_raw_tables;

constexpr std::uint64_t kText = 0xffffffff81000000;
constexpr std::uint64_t kIpTable = 0xffffffff82c5f474;

TEST(OrcTable, SelfRelativeIpsAndRightmostLookup) {
    auto raw = make_raw_tables(kIpTable,
                               {{kText + 0x000, call_entry(8)},
                                {kText + 0x010, call_entry(16)},
                                {kText + 0x040, orc_test::undefined_entry()},
                                {kText + 0x100, call_entry(24)}},
                               OrcFormat::kV1);
    auto t = OrcTable::from_raw(kIpTable, raw.ips, raw.orcs, OrcFormat::kV1, "vmlinux");
    ASSERT_TRUE(t) << t.error().describe();
    ASSERT_EQ(t->size(), 4u);
    EXPECT_EQ(t->ip_at(0), kText);
    EXPECT_EQ(t->ip_at(3), kText + 0x100);
    EXPECT_EQ(t->find(kText - 1), nullptr);
    ASSERT_NE(t->find(kText), nullptr);
    EXPECT_EQ(t->find(kText)->sp_offset, 8);
    EXPECT_EQ(t->find(kText + 0x0f)->sp_offset, 8);
    EXPECT_EQ(t->find(kText + 0x10)->sp_offset, 16);
    EXPECT_EQ(t->find(kText + 0x80)->type, OrcType::kUndefined);  // the gap after a terminator
    EXPECT_EQ(t->find(kText + 0x100)->sp_offset, 24);
    EXPECT_EQ(t->find(kText + 0x101), nullptr);  // beyond the table's end
    t->set_end(kText + 0x200);
    ASSERT_NE(t->find(kText + 0x1ff), nullptr);
    EXPECT_EQ(t->find(kText + 0x1ff)->sp_offset, 24);
}

TEST(OrcTable, RejectsMismatchedOrEmptyTables) {
    auto raw = make_raw_tables(
        kIpTable, {{kText, call_entry(8)}, {kText + 8, call_entry(8)}}, OrcFormat::kV1);
    auto short_orc = std::span(raw.orcs).first(6);
    EXPECT_FALSE(OrcTable::from_raw(kIpTable, raw.ips, short_orc, OrcFormat::kV1, "x"));
    EXPECT_FALSE(OrcTable::from_raw(kIpTable, {}, {}, OrcFormat::kV1, "x"));
    auto odd = std::span(raw.ips).first(5);
    auto r = OrcTable::from_raw(kIpTable, odd, raw.orcs, OrcFormat::kV1, "x");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kBadData);
}

TEST(OrcTable, SortsUnsortedTablesWithTerminatorsFirst) {
    // Like a module's tables before load: out of order, and a terminator at the same IP as a
    // real entry placed after it.
    auto raw = make_raw_tables(kIpTable,
                               {{kText + 0x30, call_entry(32)},
                                {kText + 0x10, call_entry(16)},
                                {kText + 0x20, call_entry(24)},
                                {kText + 0x20, orc_test::undefined_entry()}},
                               OrcFormat::kV3);
    auto t = OrcTable::from_raw(kIpTable, raw.ips, raw.orcs, OrcFormat::kV3, "mod");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->ip_at(0), kText + 0x10);
    EXPECT_EQ(t->ip_at(3), kText + 0x30);
    ASSERT_NE(t->find(kText + 0x25), nullptr);
    EXPECT_EQ(t->find(kText + 0x25)->sp_offset, 24);
    EXPECT_EQ(t->find(kText + 0x25)->type, OrcType::kCall);
}

TEST(OrcTable, LookupBlocksAgreeWithFullSearch) {
    std::vector<std::uint64_t> ips;
    std::vector<OrcEntry> entries;
    for (int i = 0; i < 3000; ++i) {
        ips.push_back(kText + static_cast<std::uint64_t>(i) * 37 + (i % 7));
        entries.push_back(call_entry(static_cast<std::int16_t>(8 * (i % 100))));
    }
    auto plain = OrcTable::from_entries(ips, entries, "plain");
    auto fast = OrcTable::from_entries(ips, entries, "fast");
    ASSERT_TRUE(plain && fast);
    std::uint64_t etext = ips.back() + 50;
    plain->set_end(etext);
    ASSERT_TRUE(fast->set_lookup_blocks(kText, etext));
    EXPECT_TRUE(fast->has_lookup_blocks());
    for (std::uint64_t ip = kText; ip < etext; ip += 13) {
        const OrcEntry* a = plain->find(ip);
        const OrcEntry* b = fast->find(ip);
        ASSERT_NE(a, nullptr);
        ASSERT_NE(b, nullptr);
        ASSERT_EQ(a, &plain->entry_at(static_cast<std::size_t>(a - &plain->entry_at(0))));
        EXPECT_EQ(a - &plain->entry_at(0), b - &fast->entry_at(0)) << std::hex << ip;
    }
}

TEST(OrcTable, RejectsInconsistentKernelLookupWords) {
    std::vector<std::uint64_t> ips = {kText, kText + 0x100, kText + 0x200, kText + 0x300};
    std::vector<OrcEntry> entries(4, call_entry(8));
    auto t = OrcTable::from_entries(ips, entries, "k");
    ASSERT_TRUE(t);
    // Correct words for blocks at 0, 0x100, 0x200, 0x300 and the end block.
    std::vector<std::uint32_t> good = {0, 1, 2, 3, 3};
    EXPECT_TRUE(t->set_lookup_blocks(kText, kText + 0x300, good));
    std::vector<std::uint32_t> decreasing = {0, 2, 1, 3, 3};
    EXPECT_FALSE(t->set_lookup_blocks(kText, kText + 0x300, decreasing));
    std::vector<std::uint32_t> out_of_range = {0, 1, 2, 3, 99};
    EXPECT_FALSE(t->set_lookup_blocks(kText, kText + 0x300, out_of_range));
    std::vector<std::uint32_t> too_late = {0, 2, 2, 3, 3};  // block 1 would miss entry 1
    EXPECT_FALSE(t->set_lookup_blocks(kText, kText + 0x300, too_late));
    EXPECT_FALSE(t->has_lookup_blocks());
    EXPECT_EQ(t->find(kText + 0x150)->sp_offset, 8);  // still found by the full search
}

TEST(OrcTables, KernelAndModulesByAddress) {
    auto k =
        OrcTable::from_entries({kText, kText + 0x100}, {call_entry(8), call_entry(16)}, "vmlinux");
    auto m1 = OrcTable::from_entries({0xffffffffc0001000}, {call_entry(24)}, "a");
    auto m2 = OrcTable::from_entries({0xffffffffc0100000}, {call_entry(32)}, "b");
    ASSERT_TRUE(k && m1 && m2);
    k->set_end(kText + 0x1000);
    OrcTables tables;
    tables.set_kernel(std::move(*k));
    tables.add_module(std::move(*m2), 0xffffffffc0100000, 0xffffffffc0101000);
    tables.add_module(std::move(*m1), 0xffffffffc0000000, 0xffffffffc0002000);
    EXPECT_EQ(tables.module_count(), 2u);
    auto f = tables.find(kText + 0x120);
    ASSERT_NE(f.entry, nullptr);
    EXPECT_EQ(f.table->name(), "vmlinux");
    EXPECT_EQ(f.entry->sp_offset, 16);
    f = tables.find(0xffffffffc0001abc);
    ASSERT_NE(f.entry, nullptr);
    EXPECT_EQ(f.table->name(), "a");
    f = tables.find(0xffffffffc0100010);
    ASSERT_NE(f.entry, nullptr);
    EXPECT_EQ(f.table->name(), "b");
    EXPECT_EQ(tables.find(0xffffffffc0000500).entry, nullptr);  // before module a's first entry
    EXPECT_EQ(tables.find(0xffffffffc0200000).entry, nullptr);
    EXPECT_EQ(tables.find(0x1234).entry, nullptr);
}

}  // namespace
}  // namespace lockhound::kernel
