// DwarfTypes: TypeInfo over a vmlinux's DWARF (libdw), looked up lazily.
//
//   auto types = DwarfTypes::open(vmlinux_path, dump.vmcoreinfo.build_id());  // kMismatch if
//   if (!types) die(types.error().describe());                              // not this kernel
//   (*types)->member("task_struct", "thread.sp")->offset;   // 5400 on 6.1.0-56-amd64
//
// Nothing is indexed up front: a lookup scans the top-level DIEs of one compile unit after the
// other until the wanted definition appears, remembering every named struct/union/typedef/enum
// and every enumerator it passes, so later lookups are mostly cache hits. A name that does not
// exist costs one pass over all units (~0.4 s on a distribution kernel).
// libdw is not thread-safe; a DwarfTypes serializes its own calls with a mutex.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "debuginfo/type_info.h"

namespace lockhound::debuginfo {

class DwarfTypes final : public TypeInfo {
  public:
    // Opens the ELF file and its DWARF. With a non-empty expected_build_id, a file whose
    // NT_GNU_BUILD_ID differs is refused with kMismatch.
    [[nodiscard]] static Result<std::unique_ptr<DwarfTypes>> open(
        const std::string& vmlinux_path, std::string_view expected_build_id = {});
    ~DwarfTypes() override;
    DwarfTypes(const DwarfTypes&) = delete;
    DwarfTypes& operator=(const DwarfTypes&) = delete;

    std::string describe() const override;
    std::optional<std::uint64_t> struct_size(std::string_view name) override;
    std::optional<MemberInfo> member(std::string_view struct_name, std::string_view path) override;
    std::optional<std::int64_t> enumerator(std::string_view name) override;

    const std::string& path() const;
    const std::string& build_id() const;  // "" when the file has no build-id note
    std::size_t units_scanned() const;    // compile units scanned so far (for diagnostics)

  private:
    struct Impl;
    explicit DwarfTypes(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace lockhound::debuginfo
