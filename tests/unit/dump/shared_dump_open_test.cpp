// Opens every real dump under ../shared/dumps in every format present and checks what the dump
// layer alone can establish: VMCOREINFO, CPU notes, page-table walk to kernel data.
#include <gtest/gtest.h>

#include "dump/dump_file.h"
#include "dump/kernel_address_space.h"
#include "support/shared_dumps.h"

namespace lockhound::dump {
namespace {

using testing::shared_dumps;

TEST(SharedDumpOpen, EveryFormatOpensAndTranslates) {
    auto dumps = shared_dumps();
    if (dumps.empty()) GTEST_SKIP() << "../shared/dumps is not present";
    int opened = 0;
    for (const auto& d : dumps) {
        for (const auto& path : d.vmcores) {
            SCOPED_TRACE(path);
            auto f = open_dump(path);
            ASSERT_TRUE(f.has_value()) << f.error().describe();
            EXPECT_EQ(f->vmcoreinfo.osrelease(), d.truth["kernel_release"].get<std::string>());
            EXPECT_EQ(f->vmcoreinfo.page_size(), 4096u);
            EXPECT_EQ(f->cpus.size(), 2u);  // the guests have 2 vCPUs
            auto setup = PagingSetup::from_vmcoreinfo(f->vmcoreinfo);
            ASSERT_TRUE(setup.has_value()) << setup.error().describe();
            KernelAddressSpace kas(*f->memory, *setup);
            // init_uts_ns.name.release holds the release string the kernel booted with.
            auto uts = f->vmcoreinfo.symbol("init_uts_ns");
            ASSERT_TRUE(uts.has_value());
            // struct uts_namespace { struct new_utsname name; ...} on 6.1 starts with a kref (4
            // bytes) — find the release string near the start rather than hard-coding.
            auto bytes = kas.read_bytes(*uts, 512);
            ASSERT_TRUE(bytes.has_value()) << bytes.error().describe();
            std::string text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
            EXPECT_NE(text.find(d.truth["kernel_release"].get<std::string>()), std::string::npos);
            ++opened;
        }
    }
    EXPECT_GE(opened, 6);
}

}  // namespace
}  // namespace lockhound::dump
