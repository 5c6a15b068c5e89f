// The kernel log reader takes printk_info's facility and level from the two bytes VMCOREINFO
// leaves between text_len and caller_id, without a type lookup. On every shared, sample and
// generated dump (5.10 ... 7.2), the dump's own types (BTF, and the DWARF vmlinux where there is
// one) put them exactly there.
#include <gtest/gtest.h>

#include "kernel/kernel.h"
#include "support/shared_dumps.h"

namespace lockhound::kernel {
namespace {

void expect_layout_agrees(Kernel& k) {
    const auto& vi = k.dump().vmcoreinfo;
    auto text_len = vi.offset("printk_info.text_len");
    auto caller_id = vi.offset("printk_info.caller_id");
    ASSERT_TRUE(text_len && caller_id);
    ASSERT_EQ(*caller_id, *text_len + 4);
    auto facility = k.types().member("printk_info", "facility");
    auto level = k.types().member("printk_info", "level");
    ASSERT_TRUE(facility && level);
    EXPECT_EQ(facility->offset, *text_len + 2);
    EXPECT_EQ(level->offset, *text_len + 3);
    EXPECT_EQ(level->bit_offset, 5u);
    EXPECT_EQ(level->bit_size, 3u);
}

TEST(PrintkLayoutDumps, FacilityAndLevelSitBetweenTextLenAndCallerId) {
    auto dumps = lockhound::testing::every_dump();
    if (dumps.empty()) GTEST_SKIP() << "no shared or generated dumps";
    int checked = 0;
    for (const auto& d : dumps) {
        SCOPED_TRACE(d.name());
        OpenOptions btf{.dump_path = d.vmcores.front()};
        btf.no_vmlinux = true;
        auto k = Kernel::open(btf);
        ASSERT_TRUE(k) << k.error().describe();
        ASSERT_NO_FATAL_FAILURE(expect_layout_agrees(**k));
        ++checked;
        if (auto v = lockhound::testing::release_vmlinux(d.release)) {
            SCOPED_TRACE(*v);
            OpenOptions dwarf{.dump_path = d.vmcores.front(), .vmlinux_path = *v};
            auto kd = Kernel::open(dwarf);
            ASSERT_TRUE(kd) << kd.error().describe();
            ASSERT_NO_FATAL_FAILURE(expect_layout_agrees(**kd));
            ++checked;
        }
    }
    RecordProperty("checked", checked);
    EXPECT_GT(checked, 0);
}

}  // namespace
}  // namespace lockhound::kernel
