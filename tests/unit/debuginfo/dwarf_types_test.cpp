#include "debuginfo/dwarf_types.h"

#include <gtest/gtest.h>

#include <chrono>

#include "debuginfo/build_id.h"
#include "test_paths.h"

namespace lockhound::debuginfo {
namespace {

using testing::kBuildId;
using testing::reference_vmlinux;

class DwarfTypesTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        auto path = reference_vmlinux();
        if (!path) return;
        testing::Stopwatch time;
        auto r = DwarfTypes::open(*path);
        ASSERT_TRUE(r) << r.error().describe();
        types_ = std::move(*r).release();
        // The first lookups, timed: they scan compile units until the structs turn up.
        for (const char* s :
             {"task_struct", "rw_semaphore", "mutex", "rwsem_waiter", "mutex_waiter", "mm_struct"})
            EXPECT_TRUE(types_->struct_size(s)) << s;
        time.report("DWARF open + 6 structs",
                    std::to_string(types_->units_scanned()) + " units scanned");
    }
    static void TearDownTestSuite() {
        delete types_;
        types_ = nullptr;
    }
    void SetUp() override {
        if (!types_) GTEST_SKIP() << "no DWARF vmlinux for " << testing::kRelease;
    }
    static DwarfTypes* types_;
};
DwarfTypes* DwarfTypesTest::types_ = nullptr;

TEST_F(DwarfTypesTest, TaskStructReferenceOffsets) {
    auto& t = *types_;
    EXPECT_EQ(t.member("task_struct", "__state")->offset, 24u);
    EXPECT_EQ(t.member("task_struct", "stack")->offset, 32u);
    EXPECT_EQ(t.member("task_struct", "tasks")->offset, 2192u);
    EXPECT_EQ(t.member("task_struct", "mm")->offset, 2272u);
    EXPECT_EQ(t.member("task_struct", "pid")->offset, 2416u);
    EXPECT_EQ(t.member("task_struct", "comm")->offset, 2976u);
    EXPECT_EQ(t.member("task_struct", "thread")->offset, 5376u);
    EXPECT_EQ(t.member("task_struct", "thread.sp")->offset, 5400u);
}

TEST_F(DwarfTypesTest, LockReferenceOffsets) {
    auto& t = *types_;
    EXPECT_EQ(t.member("rw_semaphore", "count")->offset, 0u);
    EXPECT_EQ(t.member("rw_semaphore", "owner")->offset, 8u);
    EXPECT_EQ(t.member("rw_semaphore", "wait_list")->offset, 24u);
    EXPECT_EQ(t.member("mutex", "owner")->offset, 0u);
    EXPECT_EQ(t.member("mutex", "wait_list")->offset, 16u);
    EXPECT_EQ(t.member("rwsem_waiter", "list")->offset, 0u);
    EXPECT_EQ(t.member("rwsem_waiter", "task")->offset, 16u);
    EXPECT_EQ(t.member("rwsem_waiter", "type")->offset, 24u);
    EXPECT_EQ(t.member("mutex_waiter", "list")->offset, 0u);
    EXPECT_EQ(t.member("mutex_waiter", "task")->offset, 16u);
    EXPECT_EQ(t.member("mm_struct", "mmap_lock")->offset, 112u);
}

TEST_F(DwarfTypesTest, MemberKindsSizesAndNames) {
    auto& t = *types_;
    auto owner = t.member("mutex", "owner");  // atomic_long_t: typedef of an anonymous struct
    ASSERT_TRUE(owner);
    EXPECT_EQ(owner->kind, TypeKind::kStruct);
    EXPECT_EQ(owner->size, 8u);
    EXPECT_EQ(owner->type_name, "");
    auto counter = t.member("mutex", "owner.counter");
    ASSERT_TRUE(counter);
    EXPECT_EQ(counter->offset, 0u);
    EXPECT_EQ(counter->kind, TypeKind::kInteger);
    EXPECT_EQ(counter->type_name, "long long int");  // s64

    auto task = t.member("rwsem_waiter", "task");
    ASSERT_TRUE(task);
    EXPECT_EQ(task->kind, TypeKind::kPointer);
    EXPECT_EQ(task->size, 8u);
    EXPECT_EQ(task->type_name, "task_struct");

    auto type = t.member("rwsem_waiter", "type");
    ASSERT_TRUE(type);
    EXPECT_EQ(type->kind, TypeKind::kEnum);
    EXPECT_EQ(type->type_name, "rwsem_waiter_type");
    EXPECT_EQ(type->size, 4u);

    auto comm = t.member("task_struct", "comm");
    ASSERT_TRUE(comm);
    EXPECT_EQ(comm->kind, TypeKind::kArray);
    EXPECT_EQ(comm->array_count, 16u);
    EXPECT_EQ(comm->size, 16u);
    EXPECT_EQ(comm->type_name, "char");

    auto tasks = t.member("task_struct", "tasks");
    ASSERT_TRUE(tasks);
    EXPECT_EQ(tasks->kind, TypeKind::kStruct);
    EXPECT_EQ(tasks->type_name, "list_head");
    EXPECT_EQ(tasks->size, 16u);

    auto state = t.member("task_struct", "__state");
    ASSERT_TRUE(state);
    EXPECT_EQ(state->kind, TypeKind::kInteger);
    EXPECT_EQ(state->size, 4u);
    EXPECT_EQ(state->type_name, "unsigned int");

    auto on_rq = t.member("task_struct", "on_rq");
    ASSERT_TRUE(on_rq);
    EXPECT_EQ(on_rq->kind, TypeKind::kInteger);

    EXPECT_EQ(t.struct_size("list_head"), 16u);
    EXPECT_EQ(t.struct_size("mutex"), 32u);
    EXPECT_EQ(t.struct_size("rw_semaphore"), 40u);
    EXPECT_EQ(t.struct_size("task_struct"), 9792u);  // = nm size of init_task
}

TEST_F(DwarfTypesTest, AnonymousMembersAndBitfields) {
    auto& t = *types_;
    // task_struct's randomized_struct_fields are wrapped in an anonymous struct on some configs;
    // `sched_remote_wakeup` etc. are bitfields.
    auto b = t.member("task_struct", "sched_reset_on_fork");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->bit_size, 1u);
    EXPECT_LT(b->bit_offset, 8u);
    EXPECT_EQ(b->size, 4u);  // unsigned int
    // A page's anonymous unions: page.lru is inside an anonymous struct in an anonymous union.
    auto lru = t.member("page", "lru");
    ASSERT_TRUE(lru);
    EXPECT_EQ(lru->offset, 8u);
    EXPECT_EQ(lru->type_name, "list_head");
}

TEST_F(DwarfTypesTest, TypedefsArraysIndexAndMisses) {
    auto& t = *types_;
    EXPECT_EQ(t.struct_size("atomic_t"), 4u);  // typedef of an anonymous struct
    EXPECT_EQ(t.member("atomic_long_t", "counter")->offset, 0u);
    auto sp = t.member("task_struct", "thread.sp");
    ASSERT_TRUE(sp);
    EXPECT_EQ(sp->kind, TypeKind::kInteger);
    EXPECT_EQ(sp->type_name, "long unsigned int");
    // Index into an array member: comm[3] is one char.
    auto c3 = t.member("task_struct", "comm[3]");
    ASSERT_TRUE(c3);
    EXPECT_EQ(c3->offset, 2979u);
    EXPECT_EQ(c3->size, 1u);
    EXPECT_FALSE(t.member("task_struct", "comm[16]"));
    EXPECT_FALSE(t.member("task_struct", "no_such_member"));
    EXPECT_FALSE(t.member("task_struct", "mm.mmap_lock"));  // no pointer chasing
    EXPECT_FALSE(t.member("task_struct", "thread..sp"));
    EXPECT_FALSE(t.member("task_struct", ""));
}

TEST_F(DwarfTypesTest, Enumerators) {
    auto& t = *types_;
    EXPECT_EQ(t.enumerator("RWSEM_WAITING_FOR_WRITE"), 0);
    EXPECT_EQ(t.enumerator("RWSEM_WAITING_FOR_READ"), 1);
    EXPECT_EQ(t.enumerator("TASK_COMM_LEN"), 16);  // an anonymous enum in sched.h
    EXPECT_FALSE(t.enumerator("LOCKHOUND_NO_SUCH_ENUMERATOR"));
}

TEST_F(DwarfTypesTest, MissingStructScansEverythingOnce) {
    auto& t = *types_;
    EXPECT_FALSE(t.struct_size("lockhound_no_such_struct"));
    std::size_t units = t.units_scanned();
    EXPECT_GT(units, 2000u);  // 2352 units in this vmlinux
    EXPECT_FALSE(t.member("lockhound_no_such_struct", "x"));
    EXPECT_EQ(t.units_scanned(), units);
    EXPECT_EQ(t.member("task_struct", "comm")->offset, 2976u);
}

TEST_F(DwarfTypesTest, BuildId) {
    EXPECT_EQ(types_->build_id(), kBuildId);
    EXPECT_EQ(read_build_id(types_->path()).value(), kBuildId);
    EXPECT_TRUE(check_build_id(types_->path(), "EB4FBCD037E7253717950BF2B93BD5566F47C56F"));
    EXPECT_TRUE(check_build_id(types_->path(), ""));
    auto bad = check_build_id(types_->path(), "00112233445566778899aabbccddeeff00112233");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().kind, ErrorKind::kMismatch);
    auto refused = DwarfTypes::open(types_->path(), "00112233445566778899aabbccddeeff00112233");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, ErrorKind::kMismatch);
    EXPECT_NE(types_->describe().find("DWARF from "), std::string::npos);
}

TEST(DwarfTypesOpen, Errors) {
    auto missing = DwarfTypes::open("/nonexistent/vmlinux");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind, ErrorKind::kIo);
    auto not_elf = DwarfTypes::open("/etc/hostname");
    ASSERT_FALSE(not_elf);
    EXPECT_EQ(not_elf.error().kind, ErrorKind::kBadData);
    auto no_dwarf = DwarfTypes::open("/proc/self/exe");  // may or may not have DWARF
    if (no_dwarf) {
        EXPECT_FALSE((*no_dwarf)->struct_size("lockhound_no_such_struct"));
    }
}

}  // namespace
}  // namespace lockhound::debuginfo
