// Fuzz target: the x86_64 page walk (KernelAddressSpace) over fuzzed page tables.
//
// Input: u64 top table address, u8 flags (bit 0: 5-level), 7 bytes padding, four u64 virtual
// addresses to read, then physical memory from address 0 (everything else is not in the dump).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "dump/kernel_address_space.h"

using namespace lockhound;
using namespace lockhound::dump;

namespace {

class FuzzMemory final : public PhysicalMemory {
  public:
    explicit FuzzMemory(std::span<const std::byte> b) : b_(b) {}
    Result<> read_phys(std::uint64_t paddr, std::span<std::byte> out) override {
        if (paddr > b_.size() || out.size() > b_.size() - paddr)
            return fail_at(ErrorKind::kNotInDump, paddr, "not in the fuzz input");
        std::memcpy(out.data(), b_.data() + paddr, out.size());
        return {};
    }
    bool has_page(std::uint64_t paddr) const override { return paddr < b_.size(); }
    std::uint64_t phys_end() const override { return b_.size(); }

  private:
    std::span<const std::byte> b_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr std::size_t kHeader = 48;
    if (size < kHeader) return 0;
    std::uint64_t words[6];
    std::memcpy(words, data, sizeof words);
    PagingSetup setup;
    setup.top_pgt_phys = words[0];
    setup.five_level = (words[1] & 1) != 0;
    setup.phys_base = static_cast<std::int64_t>(words[1] >> 8);
    FuzzMemory phys(std::span(reinterpret_cast<const std::byte*>(data) + kHeader, size - kHeader));
    KernelAddressSpace kas(phys, setup);
    std::vector<std::byte> buf(64);
    for (int i = 2; i < 6; ++i) {
        (void)kas.translate(words[i]);
        (void)kas.read(words[i], buf);
        (void)kas.read_cstring(words[i], 100);
        (void)kas.translate(words[i]);  // cached
    }
    return 0;
}
