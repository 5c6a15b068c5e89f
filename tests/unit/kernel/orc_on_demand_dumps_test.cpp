// On every shared, sample and generated dump: the kernel's ORC table as the unwinder now reads
// it (on demand, from the dump's memory) gives, for an IP every 64 bytes of kernel text, exactly
// the entry that the whole table, read and decoded at once, gives.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "kernel/kernel.h"
#include "kernel/orc_loader.h"
#include "support/shared_dumps.h"

namespace lockhound::kernel {
namespace {

TEST(OrcOnDemandDumps, EveryTextBlockGetsTheWholeTablesEntry) {
    auto dumps = lockhound::testing::every_dump();
    if (dumps.empty()) GTEST_SKIP() << "no shared or generated dumps";
    int checked = 0;
    for (const auto& d : dumps) {
        SCOPED_TRACE(d.name());
        OpenOptions oo{.dump_path = d.vmcores.front()};
        oo.no_vmlinux = true;
        auto k = Kernel::open(oo);
        ASSERT_TRUE(k) << k.error().describe();
        const auto& syms = (*k)->symbols();
        auto& mem = (*k)->memory();
        OrcFormatHints hints{.release = (*k)->release(), .types = &(*k)->types()};
        auto lazy = load_kernel_orc_from_memory(mem, syms, hints);
        ASSERT_TRUE(lazy) << lazy.error().describe();
        ASSERT_TRUE(lazy->on_demand_table()) << lazy->description();

        auto start_ip = syms.address_of("__start_orc_unwind_ip");
        auto start_orc = syms.address_of("__start_orc_unwind");
        auto stext = syms.address_of("_stext");
        auto etext = syms.address_of("_etext");
        ASSERT_TRUE(start_ip && start_orc && stext && etext);
        const std::size_t n = lazy->size();
        auto ips = read_bulk(mem, *start_ip, n * 4);
        auto orcs = read_bulk(mem, *start_orc, n * kOrcEntrySize);
        ASSERT_TRUE(ips && orcs);
        auto whole = OrcTable::from_raw(*start_ip, *ips, *orcs, lazy->format(), "vmlinux");
        ASSERT_TRUE(whole) << whole.error().describe();
        whole->set_lookup_blocks(*stext, *etext);

        std::size_t found = 0, differ = 0;
        for (std::uint64_t ip = *stext - 64; ip < *etext + 64; ip += 64) {
            const OrcEntry* a = whole->find(ip);
            const OrcEntry* b = lazy->find(ip);
            if ((a == nullptr) != (b == nullptr) || (a && !(*a == *b))) {
                if (++differ <= 5) ADD_FAILURE() << fmt::format("ip {:#x} differs", ip);
                continue;
            }
            found += a != nullptr;
        }
        EXPECT_EQ(differ, 0u);
        EXPECT_GT(found, (*etext - *stext) / 64 / 2) << "most of the text has ORC entries";
        ++checked;
    }
    RecordProperty("dumps", checked);
    EXPECT_GT(checked, 0);
}

}  // namespace
}  // namespace lockhound::kernel
