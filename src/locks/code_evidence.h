// Evidence from machine code (capstone, decoding the bytes in the dump, which carry the kernel's
// runtime patches): does a function load a given lock address and call a lock-acquire function?
//
//   CodeScanner code(kernel);
//   auto hit = code.references(func_start, func_size, lock_addr, {"down_read",
//   "down_read_killable"}); if (hit) hit->description;   // "table_scan_fn+0x1c loads
//   0xffffffffc057a6c0 and calls down_read"
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lockhound::kernel {
class Kernel;
}

namespace lockhound::locks {

struct CodeReference {
    std::uint64_t load_site = 0;  // instruction that puts the lock address in a register/operand
    std::uint64_t call_site = 0;  // the following call of an acquire function
    std::string acquire;          // the called function's name
    std::string description;
};

class CodeScanner {
  public:
    explicit CodeScanner(kernel::Kernel& kernel);
    ~CodeScanner();
    CodeScanner(const CodeScanner&) = delete;
    CodeScanner& operator=(const CodeScanner&) = delete;

    // In [start, start+size): an instruction with `value` as an immediate or RIP-relative address,
    // followed (within a few instructions) by a call to one of `acquire` (names compared without
    // .isra/.constprop/.part suffixes).
    std::optional<CodeReference> references(std::uint64_t start,
                                            std::uint64_t size,
                                            std::uint64_t value,
                                            const std::vector<std::string>& acquire);

  private:
    struct Insn {
        std::uint64_t address;
        std::vector<std::uint64_t> values;  // immediates and RIP-relative targets
        std::optional<std::uint64_t> call_target;
        std::optional<std::uint64_t> loads_from;  // `mov reg, [rip+x]`: the 8-byte variable read
    };
    std::optional<std::string> calls_any(std::uint64_t start,
                                         std::uint64_t size,
                                         const std::vector<std::string>& names);
    const std::vector<Insn>* decode(std::uint64_t start, std::uint64_t size);

    kernel::Kernel& kernel_;
    std::uint64_t handle_ = 0;  // capstone csh
    bool ok_ = false;
    std::map<std::uint64_t, std::vector<Insn>> cache_;
};

}  // namespace lockhound::locks
