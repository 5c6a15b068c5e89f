// VmcoreInfo: the VMCOREINFO note the kernel leaves for dump tools.
//
//   auto info = VmcoreInfo::parse(text);
//   info.osrelease();                    // "6.1.0-56-amd64"
//   info.symbol("init_top_pgt");         // SYMBOL(init_top_pgt)=ffffffff...
//   info.number("phys_base");            // NUMBER(phys_base)=-369098752 (may be negative)
//   info.offset("list_head.next");       // OFFSET(list_head.next)=0
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace lockhound::dump {

class VmcoreInfo {
  public:
    // Never fails: unknown or malformed lines are skipped (the text is untrusted).
    static VmcoreInfo parse(std::string_view text);

    bool empty() const { return raw_.empty(); }
    std::optional<std::string> value(std::string_view key) const;  // raw KEY=VALUE lookup
    std::optional<std::uint64_t> symbol(std::string_view name) const;
    std::optional<std::int64_t> number(std::string_view name) const;
    std::optional<std::uint64_t> offset(std::string_view name) const;
    std::optional<std::uint64_t> size(std::string_view name) const;
    std::optional<std::uint64_t> length(std::string_view name) const;

    std::string osrelease() const { return value("OSRELEASE").value_or(""); }
    std::string build_id() const { return value("BUILD-ID").value_or(""); }
    std::uint64_t page_size() const;                 // PAGESIZE, default 4096
    std::uint64_t kernel_offset() const;             // KERNELOFFSET (KASLR), default 0
    std::optional<std::int64_t> crash_time() const;  // CRASHTIME
    const std::map<std::string, std::string, std::less<>>& entries() const { return raw_; }

  private:
    std::map<std::string, std::string, std::less<>> raw_;
};

}  // namespace lockhound::dump
