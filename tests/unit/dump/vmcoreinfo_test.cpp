// VMCOREINFO text parsing: well-formed lines, the kernel's number formats and garbage.
#include "dump/vmcoreinfo.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "dump/kernel_address_space.h"

namespace lockhound::dump {
namespace {

constexpr char kSample[] =
    "OSRELEASE=6.1.0-56-amd64\n"
    "BUILD-ID=eb4fbcd037e7253717950bf2b93bd5566f47c56f\n"
    "PAGESIZE=4096\n"
    "SYMBOL(init_uts_ns)=ffffffff82c1a5a0\n"
    "SYMBOL(init_top_pgt)=ffffffff8300a000\n"
    "OFFSET(list_head.next)=0\n"
    "OFFSET(task_struct.tasks)=2200\n"
    "SIZE(list_head)=16\n"
    "LENGTH(zone.free_area)=11\n"
    "NUMBER(phys_base)=-369098752\n"
    "NUMBER(pgtable_l5_enabled)=0\n"
    "KERNELOFFSET=1e00000\n"
    "CRASHTIME=1732175000\n";

TEST(VmcoreInfo, ParsesTheKernelsFormats) {
    auto info = VmcoreInfo::parse(kSample);
    EXPECT_FALSE(info.empty());
    EXPECT_EQ(info.osrelease(), "6.1.0-56-amd64");
    EXPECT_EQ(info.build_id(), "eb4fbcd037e7253717950bf2b93bd5566f47c56f");
    EXPECT_EQ(info.page_size(), 4096u);
    EXPECT_EQ(info.symbol("init_uts_ns"), 0xffffffff82c1a5a0ull);
    EXPECT_EQ(info.offset("list_head.next"), 0u);
    EXPECT_EQ(info.offset("task_struct.tasks"), 2200u);
    EXPECT_EQ(info.size("list_head"), 16u);
    EXPECT_EQ(info.length("zone.free_area"), 11u);
    EXPECT_EQ(info.number("phys_base"), -369098752);
    EXPECT_EQ(info.kernel_offset(), 0x1e00000u);
    EXPECT_EQ(info.crash_time(), 1732175000);
    EXPECT_EQ(info.entries().size(), 13u);
}

TEST(VmcoreInfo, MissingKeysGiveNothingOrDefaults) {
    auto info = VmcoreInfo::parse("OSRELEASE=x\n");
    EXPECT_FALSE(info.symbol("init_top_pgt").has_value());
    EXPECT_FALSE(info.number("phys_base").has_value());
    EXPECT_FALSE(info.offset("list_head.next").has_value());
    EXPECT_FALSE(info.size("list_head").has_value());
    EXPECT_FALSE(info.length("x").has_value());
    EXPECT_FALSE(info.crash_time().has_value());
    EXPECT_EQ(info.page_size(), 4096u);
    EXPECT_EQ(info.kernel_offset(), 0u);
    EXPECT_EQ(info.build_id(), "");
    // The kind matters: a SYMBOL is not a NUMBER.
    auto k = VmcoreInfo::parse("SYMBOL(phys_base)=10\n");
    EXPECT_FALSE(k.number("phys_base").has_value());
    EXPECT_EQ(k.symbol("phys_base"), 0x10u);
}

TEST(VmcoreInfo, EmptyAndGarbageTextIsEmpty) {
    EXPECT_TRUE(VmcoreInfo::parse("").empty());
    EXPECT_TRUE(VmcoreInfo::parse("\n\n\n").empty());
    EXPECT_TRUE(VmcoreInfo::parse("no equals sign here\n=value without key\n").empty());
    std::string binary;
    for (int i = 0; i < 512; ++i) binary.push_back(static_cast<char>((i * 37) & 0xff));
    binary.erase(std::remove(binary.begin(), binary.end(), '='), binary.end());
    EXPECT_TRUE(VmcoreInfo::parse(binary).empty());
}

TEST(VmcoreInfo, GarbageLinesAreSkippedAndGoodOnesKept) {
    std::string text =
        "garbage\n"
        "\x01\x02\xff\xfe\n"
        "=novalue\n"
        "OSRELEASE=6.1.0-test\r\n"  // CRLF
        "SYMBOL(bad)=zzzz\n"
        "SYMBOL(toolong)=1ffffffffffffffff\n"
        "SYMBOL(prefixed)=0xffffffff81000000\n"
        "SYMBOL(empty)=\n"
        "SYMBOL(space)=ffff 1234\n"
        "NUMBER(trailing)=12abc\n"
        "NUMBER(huge)=99999999999999999999\n"
        "NUMBER(plus)=+5\n"
        "OFFSET(neg)=-8\n"
        "SIZE(neg)=-1\n"
        "LENGTH(hex)=0x10\n"
        "PAGESIZE=4095\n"
        "KERNELOFFSET=nothex\n"
        "CRASHTIME=\n"
        "VALUE(eq)=a=b\n"
        "LAST=kept";           // no trailing newline
    text.append("\0\0\0", 3);  // the note's padding
    auto info = VmcoreInfo::parse(text);
    EXPECT_EQ(info.osrelease(), "6.1.0-test");
    EXPECT_FALSE(info.symbol("bad").has_value());
    EXPECT_FALSE(info.symbol("toolong").has_value());
    EXPECT_EQ(info.symbol("prefixed"), 0xffffffff81000000ull);
    EXPECT_FALSE(info.symbol("empty").has_value());
    EXPECT_FALSE(info.symbol("space").has_value());
    EXPECT_FALSE(info.number("trailing").has_value());
    EXPECT_FALSE(info.number("huge").has_value());
    EXPECT_FALSE(info.number("plus").has_value());
    EXPECT_FALSE(info.offset("neg").has_value());
    EXPECT_FALSE(info.size("neg").has_value());
    EXPECT_FALSE(info.length("hex").has_value());
    EXPECT_EQ(info.page_size(), 4096u);  // not a power of two: the default
    EXPECT_EQ(info.kernel_offset(), 0u);
    EXPECT_FALSE(info.crash_time().has_value());
    EXPECT_EQ(info.value("VALUE(eq)"), "a=b");
    EXPECT_EQ(info.value("LAST"), "kept");
}

TEST(VmcoreInfo, PageSizeMustBePositivePowerOfTwo) {
    EXPECT_EQ(VmcoreInfo::parse("PAGESIZE=0\n").page_size(), 4096u);
    EXPECT_EQ(VmcoreInfo::parse("PAGESIZE=-4096\n").page_size(), 4096u);
    EXPECT_EQ(VmcoreInfo::parse("PAGESIZE=16384\n").page_size(), 16384u);
}

TEST(PagingSetup, FromVmcoreinfoWithNegativePhysBase) {
    auto info = VmcoreInfo::parse(kSample);
    auto s = PagingSetup::from_vmcoreinfo(info);
    ASSERT_TRUE(s.has_value()) << s.error().describe();
    EXPECT_EQ(s->phys_base, -369098752);
    // 0xffffffff8300a000 - __START_KERNEL_map + phys_base
    EXPECT_EQ(s->top_pgt_phys, 0x300a000ull - 369098752ull);
    EXPECT_FALSE(s->five_level);
}

TEST(PagingSetup, NeedsPhysBaseAndTopTable) {
    auto no_base =
        PagingSetup::from_vmcoreinfo(VmcoreInfo::parse("SYMBOL(init_top_pgt)=ffffffff82000000\n"));
    ASSERT_FALSE(no_base.has_value());
    EXPECT_EQ(no_base.error().kind, ErrorKind::kNotFound);
    auto no_pgt = PagingSetup::from_vmcoreinfo(VmcoreInfo::parse("NUMBER(phys_base)=0\n"));
    ASSERT_FALSE(no_pgt.has_value());
    EXPECT_EQ(no_pgt.error().kind, ErrorKind::kNotFound);
    auto user = PagingSetup::from_vmcoreinfo(
        VmcoreInfo::parse("NUMBER(phys_base)=0\nSYMBOL(init_top_pgt)=1000\n"));
    ASSERT_FALSE(user.has_value());
    EXPECT_EQ(user.error().kind, ErrorKind::kBadData);
    // Older kernels name it swapper_pg_dir.
    auto old = PagingSetup::from_vmcoreinfo(
        VmcoreInfo::parse("NUMBER(phys_base)=4096\nSYMBOL(swapper_pg_dir)=ffffffff80100000\n"
                          "NUMBER(pgtable_l5_enabled)=1\nNUMBER(KERNEL_IMAGE_SIZE)=536870912\n"));
    ASSERT_TRUE(old.has_value());
    EXPECT_EQ(old->top_pgt_phys, 0x101000u);
    EXPECT_TRUE(old->five_level);
    EXPECT_EQ(old->kernel_image_size, 512u << 20);
}

}  // namespace
}  // namespace lockhound::dump
