// TypeInfo: struct layouts by name, from DWARF (vmlinux) or BTF (the dump's own), alike.
//
//   auto m = types.member("task_struct", "thread.sp");   // dotted path; anonymous
//   if (m) offset = m->offset;                           // struct/union members searched
//   types.member("task_struct", "comm[3]");              // [N]: element N of an array member
//   types.struct_size("inactive_task_frame");
//   types.member("mutex", "owner")->kind == TypeKind::kStruct;   // atomic_long_t, not a pointer
//
// Layers above never know which source is in use. To add a source, implement this interface.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lockhound::debuginfo {

enum class TypeKind {
    kInteger,
    kBool,
    kEnum,
    kPointer,
    kStruct,
    kUnion,
    kArray,
    kFunction,
    kOther
};

const char* to_string(TypeKind kind);

struct MemberInfo {
    std::uint64_t offset = 0;          // byte offset from the start of the outermost struct
    std::uint64_t size = 0;            // byte size of the member's type (array: whole array)
    TypeKind kind = TypeKind::kOther;  // after stripping typedefs and qualifiers
    std::string type_name;          // name of the resolved type: "list_head", "task_struct" for a
                                    // pointer to it, "" for anonymous types; integers: "int", ...
                                    // arrays: the element's; "void" for void pointers
    std::uint32_t bit_offset = 0;   // bitfields: bit offset within `offset`'s byte; 0 otherwise
    std::uint32_t bit_size = 0;     // bitfields: width in bits; 0 when not a bitfield
    std::uint64_t array_count = 0;  // arrays: element count (0 for flexible arrays)
};

class TypeInfo {
  public:
    virtual ~TypeInfo() = default;
    // "DWARF from /usr/lib/debug/boot/vmlinux-6.1.0-56-amd64", "BTF from the dump (4.4 MB)".
    virtual std::string describe() const = 0;
    // Size of `struct NAME` (or union NAME, or a typedef to one); nullopt if unknown.
    virtual std::optional<std::uint64_t> struct_size(std::string_view name) = 0;
    // Member by dotted path ("thread.sp", "owner.counter"); members of anonymous struct/union
    // members are found as if they were direct members. "name[N]" steps into element N of a
    // one-dimensional array member ("mem[1].base"). Paths never follow pointers.
    virtual std::optional<MemberInfo> member(std::string_view struct_name,
                                             std::string_view path) = 0;
    // Value of an enumerator ("RWSEM_WAITING_FOR_WRITE") in any enum.
    virtual std::optional<std::int64_t> enumerator(std::string_view name) = 0;

    bool has_member(std::string_view struct_name, std::string_view path) {
        return member(struct_name, path).has_value();
    }
};

}  // namespace lockhound::debuginfo
