#include "debuginfo/btf_types.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>
#include <vector>

#include "debuginfo/internal/elf_file.h"
#include "debuginfo/symbol_table.h"
#include "support/fake_memory.h"
#include "test_paths.h"

namespace lockhound::debuginfo {
namespace {

// The vmlinux's own .BTF section: the same bytes the kernel keeps between __start_BTF and
// __stop_BTF (4,359,789 bytes, 100,751 types on 6.1.0-56-amd64).
std::vector<std::byte> vmlinux_btf_bytes() {
    auto path = testing::reference_vmlinux();
    if (!path) return {};
    auto f = internal::ElfFile::open(*path);
    if (!f) return {};
    auto s = f->section_data(".BTF");
    if (!s) return {};
    return std::vector<std::byte>(s->begin(), s->end());
}

class BtfTypesTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        raw_ = new std::vector<std::byte>(vmlinux_btf_bytes());
        if (raw_->empty()) return;
        testing::Stopwatch parse_time;
        auto r = BtfTypes::from_bytes(*raw_, "vmlinux .BTF");
        ASSERT_TRUE(r) << r.error().describe();
        parse_time.report("BTF parse (btf__new)");
        types_ = std::move(*r).release();
        testing::Stopwatch index_time;
        EXPECT_TRUE(types_->struct_size("task_struct"));  // builds the name index
        index_time.report("BTF name index", std::to_string(types_->type_count()) + " types");
        testing::Stopwatch lookup_time;
        for (const char* s :
             {"task_struct", "rw_semaphore", "mutex", "rwsem_waiter", "mutex_waiter", "mm_struct"})
            EXPECT_TRUE(types_->member(s, "wait_list") || types_->member(s, "tasks") ||
                        types_->member(s, "task") || types_->member(s, "mmap_lock"))
                << s;
        lookup_time.report("BTF 6 member lookups");
    }
    static void TearDownTestSuite() {
        delete types_;
        delete raw_;
        types_ = nullptr;
        raw_ = nullptr;
    }
    void SetUp() override {
        if (!types_) GTEST_SKIP() << "no vmlinux with .BTF for " << testing::kRelease;
    }
    static BtfTypes* types_;
    static std::vector<std::byte>* raw_;
};
BtfTypes* BtfTypesTest::types_ = nullptr;
std::vector<std::byte>* BtfTypesTest::raw_ = nullptr;

TEST_F(BtfTypesTest, CountsAndDescription) {
    EXPECT_EQ(types_->type_count(), 100751u);
    EXPECT_EQ(types_->byte_size(), 4359789u);
    EXPECT_EQ(types_->describe(), "BTF from vmlinux .BTF (4.4 MB)");
}

TEST_F(BtfTypesTest, ReferenceOffsets) {
    auto& t = *types_;
    EXPECT_EQ(t.member("task_struct", "__state")->offset, 24u);
    EXPECT_EQ(t.member("task_struct", "stack")->offset, 32u);
    EXPECT_EQ(t.member("task_struct", "tasks")->offset, 2192u);
    EXPECT_EQ(t.member("task_struct", "mm")->offset, 2272u);
    EXPECT_EQ(t.member("task_struct", "pid")->offset, 2416u);
    EXPECT_EQ(t.member("task_struct", "comm")->offset, 2976u);
    EXPECT_EQ(t.member("task_struct", "thread")->offset, 5376u);
    EXPECT_EQ(t.member("task_struct", "thread.sp")->offset, 5400u);
    EXPECT_EQ(t.member("rw_semaphore", "owner")->offset, 8u);
    EXPECT_EQ(t.member("rw_semaphore", "wait_list")->offset, 24u);
    EXPECT_EQ(t.member("mutex", "wait_list")->offset, 16u);
    EXPECT_EQ(t.member("rwsem_waiter", "task")->offset, 16u);
    EXPECT_EQ(t.member("rwsem_waiter", "type")->offset, 24u);
    EXPECT_EQ(t.member("mutex_waiter", "task")->offset, 16u);
    EXPECT_EQ(t.member("mm_struct", "mmap_lock")->offset, 112u);
    EXPECT_EQ(t.struct_size("task_struct"), 9792u);
}

TEST_F(BtfTypesTest, KindsNamesBitfieldsArrays) {
    auto& t = *types_;
    auto owner = t.member("mutex", "owner");
    ASSERT_TRUE(owner);
    EXPECT_EQ(owner->kind, TypeKind::kStruct);
    EXPECT_EQ(owner->type_name, "");
    EXPECT_EQ(owner->size, 8u);
    EXPECT_EQ(t.member("mutex", "owner.counter")->type_name, "long long int");
    auto task = t.member("rwsem_waiter", "task");
    EXPECT_EQ(task->kind, TypeKind::kPointer);
    EXPECT_EQ(task->type_name, "task_struct");
    EXPECT_EQ(t.member("rwsem_waiter", "type")->kind, TypeKind::kEnum);
    auto comm = t.member("task_struct", "comm");
    EXPECT_EQ(comm->kind, TypeKind::kArray);
    EXPECT_EQ(comm->array_count, 16u);
    EXPECT_EQ(comm->type_name, "char");
    EXPECT_EQ(t.member("task_struct", "comm[3]")->offset, 2979u);
    EXPECT_FALSE(t.member("task_struct", "comm[16]"));
    auto b = t.member("task_struct", "sched_reset_on_fork");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->bit_size, 1u);
    EXPECT_EQ(b->size, 4u);
    EXPECT_EQ(t.member("page", "lru")->offset, 8u);
    EXPECT_EQ(t.struct_size("atomic_t"), 4u);
    EXPECT_FALSE(t.member("task_struct", "mm.mmap_lock"));
    EXPECT_FALSE(t.struct_size("lockhound_no_such_struct"));
    EXPECT_EQ(t.enumerator("RWSEM_WAITING_FOR_READ"), 1);
    EXPECT_EQ(t.enumerator("TASK_COMM_LEN"), 16);
    EXPECT_FALSE(t.enumerator("LOCKHOUND_NO_SUCH_ENUMERATOR"));
}

TEST_F(BtfTypesTest, FromDumpMemoryBetweenKallsymsBounds) {
    // The BTF as the dump holds it: kernel memory between __start_BTF and __stop_BTF.
    constexpr std::uint64_t kStart = 0xffffffffa06c1b88;  // __start_BTF with KASLR, one dump
    lockhound::testing::FakeMemory mem;
    mem.map(kStart, raw_->size());
    mem.put(kStart, raw_->data(), raw_->size());
    SymbolTable syms;
    syms.add({.address = kStart, .name = "__start_BTF", .type = 'R'});
    syms.add({.address = kStart + raw_->size(), .name = "__stop_BTF", .type = 'R'});
    syms.finalize();
    auto r = load_btf_from_memory(mem, syms);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ((*r)->type_count(), 100751u);
    EXPECT_EQ((*r)->member("task_struct", "thread.sp")->offset, 5400u);
    EXPECT_EQ((*r)->describe(), "BTF from the dump (4.4 MB)");
    // A page missing inside the range: the fault address comes back.
    lockhound::testing::FakeMemory holey;
    holey.map(kStart, 4096);
    auto bad = load_btf_from_memory(holey, kStart, kStart + raw_->size());
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().kind, ErrorKind::kUnmapped);
    EXPECT_TRUE(bad.error().has_address);
}

TEST_F(BtfTypesTest, CorruptedCopiesFailCleanly) {
    // Random bytes changed in the header or in the type section of the full BTF: libbpf must
    // reject or accept each copy, never crash, and lookups on an accepted one must stay bounded
    // (cycles, wild ids). Each --gtest_repeat run uses new seeds.
    static std::uint32_t run = 0;
    std::mt19937 rng(12345 + run++);
    std::uint32_t type_len = 0;
    std::memcpy(&type_len, raw_->data() + 12, 4);
    int parsed = 0, rejected = 0;
    for (int round = 0; round < 40; ++round) {
        std::vector<std::byte> copy(*raw_);
        int flips = round % 4 == 0 ? 1 : 1 + static_cast<int>(rng() % 16);
        for (int k = 0; k < flips; ++k) {
            std::size_t pos = round % 4 == 0 ? rng() % 24 : 24 + rng() % type_len;
            copy[pos] = static_cast<std::byte>(rng());
        }
        auto r = BtfTypes::from_bytes(copy, "corrupt");
        if (!r) {
            ++rejected;
            continue;
        }
        ++parsed;
        for (const char* st : {"task_struct", "mutex", "rwsem_waiter", "module"}) {
            (void)(*r)->struct_size(st);
            (void)(*r)->member(st, "thread.sp");
            (void)(*r)->member(st, "wait_list");
            (void)(*r)->member(st, "comm[2]");
        }
        (void)(*r)->enumerator("TASK_COMM_LEN");
    }
    EXPECT_EQ(parsed + rejected, 40);
    EXPECT_GT(rejected, 0);
    EXPECT_GT(parsed, 0);
}

TEST(BtfTypesBytes, GarbageIsAnError) {
    std::vector<std::byte> empty;
    auto r = BtfTypes::from_bytes(empty, "nothing");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kTruncated);

    std::vector<std::byte> junk(4096, std::byte{0x5a});
    auto j = BtfTypes::from_bytes(junk, "junk");
    ASSERT_FALSE(j);
    EXPECT_EQ(j.error().kind, ErrorKind::kBadData);
    EXPECT_NE(j.error().message.find("magic"), std::string::npos);

    // A valid-looking header whose sections run past the end.
    std::vector<std::byte> hdr(64);
    std::uint16_t magic = 0xeB9F;
    std::uint32_t fields[5] = {24, 0, 1000, 1000, 10};  // hdr_len, type_off/len, str_off/len
    std::memcpy(hdr.data(), &magic, 2);
    hdr[2] = std::byte{1};
    std::memcpy(hdr.data() + 4, fields, sizeof fields);
    auto h = BtfTypes::from_bytes(hdr, "short");
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().kind, ErrorKind::kTruncated);

    // Consistent header, empty sections: libbpf decides (an empty string section is invalid).
    std::uint32_t ok_fields[5] = {24, 0, 0, 0, 0};
    std::memcpy(hdr.data() + 4, ok_fields, sizeof ok_fields);
    auto e = BtfTypes::from_bytes(std::span(hdr).first(24), "empty");
    EXPECT_FALSE(e);

    lockhound::testing::FakeMemory mem;
    EXPECT_EQ(load_btf_from_memory(mem, 0x2000, 0x1000).error().kind, ErrorKind::kBadData);
    EXPECT_EQ(load_btf_from_memory(mem, 0x1000, 0x1000 + (1ull << 40)).error().kind,
              ErrorKind::kLimit);
    SymbolTable none;
    none.finalize();
    EXPECT_EQ(load_btf_from_memory(mem, none).error().kind, ErrorKind::kNotFound);
}

TEST(BtfTypesFile, FromElfSection) {
    auto path = testing::reference_vmlinux();
    if (!path) GTEST_SKIP() << "no vmlinux for " << testing::kRelease;
    auto r = BtfTypes::from_elf_section(*path);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ((*r)->member("mm_struct", "mmap_lock")->offset, 112u);
    auto none = BtfTypes::from_elf_section("/proc/self/exe");
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().kind, ErrorKind::kNotFound);
}

}  // namespace
}  // namespace lockhound::debuginfo
