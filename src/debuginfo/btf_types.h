// BtfTypes: TypeInfo over BTF (libbpf), e.g. the dump's own copy of the kernel's BTF.
//
//   auto types = load_btf_from_memory(kas, start_btf, stop_btf);  // kallsyms __start/__stop_BTF
//   (*types)->member("task_struct", "thread.sp")->offset;          // 5400 on 6.1.0-56-amd64
//   auto from_file = BtfTypes::from_elf_section(vmlinux_path);    // a vmlinux's .BTF section
//
// Same answers as DwarfTypes (typedefs and qualifiers stripped for `kind`, anonymous members
// searched, bitfields, array counts, enumerators including ENUM64). The bytes are untrusted:
// they are checked before libbpf parses them and every failure is an Error. A name index is
// built on the first lookup (one pass over the ~100k types, a few ms). Not thread-safe by itself;
// calls are serialized with a mutex. libbpf's own warnings are silenced (they would go to stderr).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "debuginfo/type_info.h"
#include "dump/virtual_memory.h"

namespace lockhound::debuginfo {

class SymbolTable;

class BtfTypes final : public TypeInfo {
  public:
    // Parses raw .BTF bytes (copied; `raw` need not outlive the result). `origin` is shown by
    // describe(): "the dump", "/boot/vmlinux-...".
    [[nodiscard]] static Result<std::unique_ptr<BtfTypes>> from_bytes(
        std::span<const std::byte> raw, std::string origin);
    // The .BTF section of an ELF file (vmlinux).
    [[nodiscard]] static Result<std::unique_ptr<BtfTypes>> from_elf_section(
        const std::string& path);
    ~BtfTypes() override;
    BtfTypes(const BtfTypes&) = delete;
    BtfTypes& operator=(const BtfTypes&) = delete;

    std::string describe() const override;
    std::optional<std::uint64_t> struct_size(std::string_view name) override;
    std::optional<MemberInfo> member(std::string_view struct_name, std::string_view path) override;
    std::optional<std::int64_t> enumerator(std::string_view name) override;

    std::size_t type_count() const;  // type ids incl. the implicit void 0 (btf__type_cnt)
    std::size_t byte_size() const;   // size of the raw BTF

  private:
    struct Impl;
    explicit BtfTypes(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// The largest BTF accepted from a dump (vmlinux BTF is ~5 MB).
inline constexpr std::uint64_t kMaxBtfBytes = 64ull << 20;

// Reads [start, stop) (kallsyms __start_BTF / __stop_BTF) from kernel memory and parses it.
[[nodiscard]] Result<std::unique_ptr<BtfTypes>> load_btf_from_memory(dump::VirtualMemory& memory,
                                                                     std::uint64_t start,
                                                                     std::uint64_t stop);
// The same, with the bounds looked up in a symbol table (kallsyms of the dump).
[[nodiscard]] Result<std::unique_ptr<BtfTypes>> load_btf_from_memory(dump::VirtualMemory& memory,
                                                                     const SymbolTable& symbols);

}  // namespace lockhound::debuginfo
