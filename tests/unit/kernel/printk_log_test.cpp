// The kernel log walks on hand-built rings: the 5.10+ lockless ringbuffer (wrapping text ring,
// recycled descriptors, wild ids and positions) and the older log_buf records.
#include "kernel/printk_log.h"

#include <gtest/gtest.h>

#include <chrono>

#include "support/fake_memory.h"
#include "support/printk_builder.h"

namespace lockhound::kernel {
namespace {

using testing::FakeMemory;
using testing::PrbBuilder;

constexpr std::uint64_t kBase = 0xffff888001000000ull;

PrbLayout prb_layout() {
    PrbLayout l;
    l.desc_ring = PrbBuilder::kDescRing;
    l.text_data_ring = PrbBuilder::kTextDataRing;
    l.count_bits = 0, l.descs = 8, l.infos = 16, l.head_id = 24, l.tail_id = 32;
    l.desc_size = PrbBuilder::kDescSize, l.state_var = 0, l.text_blk_lpos = 8;
    l.lpos_begin = 0, l.lpos_next = 8;
    l.info_size = PrbBuilder::kInfoSize, l.seq = 0, l.ts_nsec = 8, l.text_len = 16;
    l.caller_id = 20, l.facility = 18, l.level_byte = 19, l.level_bit = 5, l.level_bits = 3;
    l.size_bits = 0, l.data = 8;
    return l;
}

void load(FakeMemory& mem, const std::vector<std::byte>& img) {
    mem.map(kBase, img.size());
    mem.put(kBase, img.data(), img.size());
}

TEST(PrintkLog, ReadsRecordsWithLevelTimestampAndCaller) {
    PrbBuilder b(4, 10);
    b.add(0, 5, 0, "Linux version 6.1.0");
    b.add(1'234'567'000, 6, 148, "lockbomb: loaded");
    b.add(2'000'001'000, 0, 0x80000001u, "Kernel panic - not syncing: hung_task: blocked tasks");
    FakeMemory mem;
    load(mem, b.image(kBase));
    PrintkLog log = read_prb(mem, kBase, prb_layout());
    ASSERT_EQ(log.records.size(), 3u);
    EXPECT_TRUE(log.warnings.empty());
    EXPECT_EQ(log.records[0].text, "Linux version 6.1.0");
    EXPECT_EQ(log.records[0].level, 5);
    EXPECT_EQ(caller_name(log.records[0]), "T0");
    EXPECT_EQ(log.records[1].ts_nsec, 1'234'567'000u);
    EXPECT_EQ(log.records[1].level, 6);
    EXPECT_EQ(caller_name(log.records[1]), "T148");
    EXPECT_EQ(log.records[2].level, 0);
    EXPECT_EQ(caller_name(log.records[2]), "C1");
    EXPECT_EQ(log.records[2].seq, 2u);
}

TEST(PrintkLog, FollowsTheTextRingAcrossItsWrapAndKeepsOnlyLiveRecords) {
    PrbBuilder b(3, 8);  // 8 descriptors, 256 text bytes
    for (int i = 0; i < 40; ++i)
        b.add(static_cast<std::uint64_t>(i) * 1000,
              6,
              1,
              "message " + std::to_string(i) + " padding");
    FakeMemory mem;
    load(mem, b.image(kBase));
    PrintkLog log = read_prb(mem, kBase, prb_layout());
    EXPECT_TRUE(log.warnings.empty()) << log.warnings.front();
    ASSERT_FALSE(log.records.empty());
    ASSERT_EQ(log.records.size(), 40 - b.first_kept());
    for (std::size_t i = 0; i < log.records.size(); ++i) {
        std::uint64_t n = b.first_kept() + i;
        EXPECT_EQ(log.records[i].text, "message " + std::to_string(n) + " padding");
        EXPECT_EQ(log.records[i].seq, n);
    }
}

TEST(PrintkLog, WildIdsAndPositionsGiveTheRecordsThatParseAndOneWarning) {
    PrbBuilder b(4, 10);
    for (int i = 0; i < 6; ++i)
        b.add(static_cast<std::uint64_t>(i), 6, 1, "line " + std::to_string(i));
    auto img = b.image(kBase);
    // Tail id far behind head: more than the ring holds.
    PrbBuilder::put64(img, 32, 0x3fff'0000'0000'0000ull);
    // Record 2's text block ends before it starts, record 3's lies beyond the ring.
    PrbBuilder::put64(img, b.descs_offset() + 2 * PrbBuilder::kDescSize + 16, 8);
    PrbBuilder::put64(img, b.descs_offset() + 3 * PrbBuilder::kDescSize + 8, 1u << 20);
    PrbBuilder::put64(img, b.descs_offset() + 3 * PrbBuilder::kDescSize + 16, (1u << 20) + 64);
    FakeMemory mem;
    load(mem, img);
    PrintkLog log = read_prb(mem, kBase, prb_layout());
    EXPECT_EQ(log.warnings.size(), 1u);
    std::vector<std::string> texts;
    for (const auto& r : log.records) texts.push_back(r.text);
    EXPECT_EQ(texts, (std::vector<std::string>{"line 0", "line 1", "line 4", "line 5"}));
}

TEST(PrintkLog, HugeRingSizesAreRefusedAndUnmappedArraysDoNotHang) {
    PrbBuilder b(4, 10);
    b.add(1, 6, 1, "x");
    auto img = b.image(kBase);
    PrbBuilder::put32(img, 0, 62);  // 2^62 descriptors
    FakeMemory mem;
    load(mem, img);
    PrintkLog log = read_prb(mem, kBase, prb_layout());
    EXPECT_TRUE(log.records.empty());
    EXPECT_EQ(log.warnings.size(), 1u);

    // 2^30 descriptors claimed, arrays unmapped: bounded by the ring, one warning, quickly.
    PrbBuilder::put32(img, 0, 22);
    PrbBuilder::put64(img, 32, 0);
    PrbBuilder::put64(img, 24, (1u << 22) - 1);
    FakeMemory mem2;
    load(mem2, img);
    auto t0 = std::chrono::steady_clock::now();
    log = read_prb(mem2, kBase, prb_layout());
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
    ASSERT_EQ(log.warnings.size(), 1u);
    // It stops after 4096 descriptors in a row that hold no record (the fuzzer found a ring of
    // 2^22 such descriptors of 4 KiB each that took seconds), and says so.
    std::size_t unread = std::stoul(log.warnings[0].substr(log.warnings[0].find("): ") + 3));
    EXPECT_LE(unread, 4096u) << log.warnings[0];
    EXPECT_NE(log.warnings[0].find("1 had wild lengths"), std::string::npos) << log.warnings[0];
}

TEST(PrintkLog, ReadsLegacyLogBufRecordsAndStopsAtAWildLength) {
    // struct printk_log {u64 ts_nsec; u16 len, text_len, dict_len; u8 facility; u8 flags:5,
    // level:3; u32 caller_id} = 20 bytes, records 4-byte aligned.
    LegacyLogLayout l;
    l.header_size = 20, l.ts_nsec = 0, l.len = 8, l.text_len = 10, l.facility = 14;
    l.level_byte = 15, l.caller_id = 16;
    std::vector<std::byte> buf(256);
    std::uint64_t idx = 0;
    auto put = [&](std::uint64_t ts, int level, const std::string& text, std::uint16_t len = 0) {
        std::uint16_t tl = static_cast<std::uint16_t>(text.size());
        if (!len) len = static_cast<std::uint16_t>((20 + text.size() + 3) / 4 * 4);
        std::memcpy(buf.data() + idx, &ts, 8);
        std::memcpy(buf.data() + idx + 8, &len, 2);
        std::memcpy(buf.data() + idx + 10, &tl, 2);
        buf[idx + 15] = static_cast<std::byte>(level << 5);
        std::uint32_t caller = 7;
        std::memcpy(buf.data() + idx + 16, &caller, 4);
        std::memcpy(buf.data() + idx + 20, text.data(), text.size());
        idx += len;
    };
    put(100, 4, "first");
    put(200, 6, "second");
    std::uint64_t next = idx;
    FakeMemory mem;
    mem.map(kBase, buf.size());
    mem.put(kBase, buf.data(), buf.size());
    LegacyLogState s{kBase, 256, 0, static_cast<std::uint32_t>(next), 10};
    PrintkLog log = read_legacy_log(mem, s, l);
    EXPECT_TRUE(log.warnings.empty()) << log.warnings.front();
    ASSERT_EQ(log.records.size(), 2u);
    EXPECT_EQ(log.records[1].text, "second");
    EXPECT_EQ(log.records[1].level, 6);
    EXPECT_EQ(log.records[1].seq, 11u);
    EXPECT_EQ(caller_name(log.records[0]), "T7");

    put(300, 6, "wild", 0xfff0);                         // longer than the buffer
    s.next_idx = static_cast<std::uint32_t>(next + 40);  // past the wild record
    mem.put(kBase, buf.data(), buf.size());
    log = read_legacy_log(mem, s, l);
    EXPECT_EQ(log.records.size(), 2u);
    EXPECT_EQ(log.warnings.size(), 1u);
}

}  // namespace
}  // namespace lockhound::kernel
