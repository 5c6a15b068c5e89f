// Fuzz target: VMCOREINFO text (VmcoreInfo::parse and every accessor), and the paging setup
// derived from it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dump/kernel_address_space.h"
#include "dump/vmcoreinfo.h"

using namespace lockhound::dump;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    VmcoreInfo info = VmcoreInfo::parse(text);
    int asked = 0;
    for (const auto& [key, value] : info.entries()) {
        if (++asked > 64) break;
        // KIND(name)=...: ask for the name under every kind.
        auto open = key.find('(');
        if (open == std::string::npos || key.back() != ')') continue;
        std::string_view name(key.data() + open + 1, key.size() - open - 2);
        (void)info.symbol(name);
        (void)info.number(name);
        (void)info.offset(name);
        (void)info.size(name);
        (void)info.length(name);
    }
    (void)info.osrelease();
    (void)info.build_id();
    (void)info.page_size();
    (void)info.kernel_offset();
    (void)info.crash_time();
    (void)PagingSetup::from_vmcoreinfo(info);
    return 0;
}
