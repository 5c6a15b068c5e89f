#include "debuginfo/dwarf_types.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gelf.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <mutex>
#include <set>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "debuginfo/build_id.h"
#include "debuginfo/internal/aranges.h"
#include "debuginfo/internal/elf_file.h"
#include "debuginfo/internal/member_path.h"
#include "debuginfo/internal/name_map.h"

namespace lockhound::debuginfo {

namespace {

using internal::NameMap;

constexpr int kMaxTypeDepth = 64;  // typedef/qualifier chains, pointer names, anonymous nesting

// Compile units scanned first: those that define the functions below, found by address through
// .debug_aranges. There a Linux vmlinux defines the types
// lockhound asks for first (the lock waiters, the switch frame, struct rq, struct module). A pure
// speed-up: a lookup scans on in file order until it finds its name, wherever it is. In file
// (link) order mutex_waiter is first defined in unit ~330 of ~2350 (kernel/locking/mutex.c);
// the ~470k top-level DIEs before it cost ~100 ms, half of `lockhound analyze` with DWARF.
constexpr std::array<std::string_view, 7> kPreferredFunctions = {
    "mutex_lock",     // kernel/locking/mutex.c: struct mutex_waiter
    "down_read",      // kernel/locking/rwsem.c: struct rwsem_waiter, enum rwsem_waiter_type
    "down",           // kernel/locking/semaphore.c: struct semaphore_waiter
    "rt_mutex_lock",  // kernel/locking/rtmutex_api.c: struct rt_mutex_waiter
    "copy_thread",    // arch/x86/kernel/process.c: struct inactive_task_frame
    "schedule",       // kernel/sched/core.c: struct rq
    "load_module",    // kernel/module/main.c: struct module
};

struct DwarfDeleter {
    void operator()(Dwarf* d) const { dwarf_end(d); }
};

std::string dwarf_error_text() {
    const char* m = dwarf_errmsg(-1);
    return m ? m : "unknown libdw error";
}

bool type_of(Dwarf_Die* die, Dwarf_Die* out) {
    Dwarf_Attribute attr;
    if (!dwarf_attr_integrate(die, DW_AT_type, &attr)) return false;
    return dwarf_formref_die(&attr, out) != nullptr;
}

bool is_qualifier_or_typedef(int tag) {
    switch (tag) {
        case DW_TAG_typedef:
        case DW_TAG_const_type:
        case DW_TAG_volatile_type:
        case DW_TAG_restrict_type:
        case DW_TAG_atomic_type:
        case DW_TAG_immutable_type:
        case DW_TAG_packed_type:
        case DW_TAG_shared_type:
            return true;
        default:
            return false;
    }
}

// Strips typedefs and qualifiers in place; false when the chain ends in void.
bool peel(Dwarf_Die* die) {
    for (int i = 0; i < kMaxTypeDepth; ++i) {
        if (!is_qualifier_or_typedef(dwarf_tag(die))) return true;
        Dwarf_Die next;
        if (!type_of(die, &next)) return false;
        *die = next;
    }
    return false;
}

std::optional<std::uint64_t> udata_attr(Dwarf_Die* die, unsigned int name) {
    Dwarf_Attribute attr;
    Dwarf_Word v = 0;
    if (!dwarf_attr_integrate(die, name, &attr) || dwarf_formudata(&attr, &v) != 0)
        return std::nullopt;
    return v;
}

// A signed constant attribute (sdata, implicit_const) or an unsigned one, as int64.
std::optional<std::int64_t> const_attr(Dwarf_Die* die, unsigned int name) {
    Dwarf_Attribute attr;
    if (!dwarf_attr_integrate(die, name, &attr)) return std::nullopt;
    unsigned int form = dwarf_whatform(&attr);
    if (form == DW_FORM_sdata || form == DW_FORM_implicit_const) {
        Dwarf_Sword s = 0;
        if (dwarf_formsdata(&attr, &s) != 0) return std::nullopt;
        return static_cast<std::int64_t>(s);
    }
    Dwarf_Word u = 0;
    if (dwarf_formudata(&attr, &u) != 0) return std::nullopt;
    return static_cast<std::int64_t>(u);
}

// Bit offset of a member from the start of its struct (0 for union members).
std::optional<std::uint64_t> member_bit_offset(Dwarf_Die* member) {
    if (auto dbo = udata_attr(member, DW_AT_data_bit_offset)) return dbo;
    std::uint64_t bytes = 0;
    Dwarf_Attribute attr;
    if (dwarf_attr_integrate(member, DW_AT_data_member_location, &attr)) {
        Dwarf_Word v = 0;
        if (dwarf_formudata(&attr, &v) == 0) {
            bytes = v;
        } else {
            // DWARF 2 style: a location expression, in practice DW_OP_plus_uconst N.
            Dwarf_Op* ops = nullptr;
            std::size_t n = 0;
            if (dwarf_getlocation(&attr, &ops, &n) != 0 || n != 1 ||
                ops[0].atom != DW_OP_plus_uconst)
                return std::nullopt;
            bytes = ops[0].number;
        }
    }
    std::uint64_t bits = bytes * 8;
    // DWARF 2/3 bitfields: DW_AT_bit_offset counts from the storage unit's most significant bit.
    auto old_bit_offset = udata_attr(member, DW_AT_bit_offset);
    auto bit_size = udata_attr(member, DW_AT_bit_size);
    if (old_bit_offset && bit_size) {
        std::uint64_t unit = udata_attr(member, DW_AT_byte_size).value_or(0);
        if (unit == 0) {
            Dwarf_Die t;
            if (type_of(member, &t) && peel(&t)) unit = udata_attr(&t, DW_AT_byte_size).value_or(0);
        }
        if (unit * 8 < *old_bit_offset + *bit_size) return std::nullopt;
        bits += unit * 8 - *old_bit_offset - *bit_size;
    }
    return bits;
}

struct TypeDesc {
    TypeKind kind = TypeKind::kOther;
    std::uint64_t size = 0;
    std::string name;
    std::uint64_t count = 0;
};

}  // namespace

struct DwarfTypes::Impl {
    internal::ElfFile file;
    std::unique_ptr<Dwarf, DwarfDeleter> dwarf;
    std::string build_id;
    std::mutex mu;

    Dwarf_CU* cu = nullptr;  // the last unit scanned in file order; nullptr before the first
    bool done = false;
    std::size_t units = 0;
    // Units that define what lockhound asks for first (kPreferredFunctions): scanned before the
    // others, then skipped by the scan in file order.
    bool preferred_listed = false;
    std::vector<Dwarf_Die> preferred;
    std::size_t preferred_next = 0;
    std::unordered_set<Dwarf_Off> preferred_offsets;
    NameMap<Dwarf_Off> structs, unions, typedefs, enums;
    NameMap<std::int64_t> enumerators;

    bool scan_next_unit();
    void list_preferred_units();
    void scan_unit(Dwarf_Die* cudie);
    void note_top_level(Dwarf_Die* die);
    void note_enumerators(Dwarf_Die* enum_die);
    std::optional<Dwarf_Off> known_struct(std::string_view name, int depth);
    std::optional<Dwarf_Off> find_struct(std::string_view name, int depth = 0);
    bool complete(Dwarf_Die* die, int depth);
    TypeDesc describe_type(Dwarf_Die* type, int depth);
    bool find_member(Dwarf_Die* agg,
                     std::string_view name,
                     std::uint64_t base_bits,
                     Dwarf_Die* out,
                     std::uint64_t* out_bits,
                     int depth,
                     std::unordered_set<Dwarf_Off>* searched = nullptr);
};

void DwarfTypes::Impl::scan_unit(Dwarf_Die* cudie) {
    ++units;
    Dwarf_Die die;
    if (dwarf_child(cudie, &die) != 0) return;
    do {
        note_top_level(&die);
    } while (dwarf_siblingof(&die, &die) == 0);
}

void DwarfTypes::Impl::list_preferred_units() {
    preferred_listed = true;
    // Addresses of the functions, from the ELF symbol table (link addresses, like the DWARF's).
    std::vector<std::uint64_t> addresses;
    Elf* elf = file.elf();
    Elf_Scn* scn = nullptr;
    GElf_Shdr shdr;
    while ((scn = elf_nextscn(elf, scn)) != nullptr)
        if (gelf_getshdr(scn, &shdr) && shdr.sh_type == SHT_SYMTAB) break;
    Elf_Data* data = scn ? elf_getdata(scn, nullptr) : nullptr;
    if (!data || shdr.sh_entsize == 0) return;
    for (std::size_t i = 0, n = shdr.sh_size / shdr.sh_entsize;
         i < n && addresses.size() < std::size(kPreferredFunctions);
         ++i) {
        GElf_Sym sym;
        if (!gelf_getsym(data, static_cast<int>(i), &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC)
            continue;
        const char* name = elf_strptr(elf, shdr.sh_link, sym.st_name);
        if (name && std::ranges::find(kPreferredFunctions, std::string_view(name)) !=
                        kPreferredFunctions.end())
            addresses.push_back(sym.st_value);
    }
    // Their units, from .debug_aranges read here: libdw's dwarf_addrdie would create every unit
    // of the file (~120 MB on a distribution vmlinux); dwarf_offdie creates those up to the one
    // asked for only. Anything malformed just leaves units out.
    auto aranges = file.section_data(".debug_aranges");
    if (!aranges) return;
    std::set<Dwarf_Off> offsets;
    for (Dwarf_Off unit : internal::units_of_addresses(*aranges, addresses)) offsets.insert(unit);
    for (Dwarf_Off unit : offsets) {
        Dwarf_Off next = 0;
        std::size_t header_size = 0;
        Dwarf_Die cudie;
        if (dwarf_next_unit(dwarf.get(),
                            unit,
                            &next,
                            &header_size,
                            nullptr,
                            nullptr,
                            nullptr,
                            nullptr,
                            nullptr,
                            nullptr) != 0 ||
            !dwarf_offdie(dwarf.get(), unit + header_size, &cudie))
            continue;
        int tag = dwarf_tag(&cudie);
        if (tag != DW_TAG_compile_unit && tag != DW_TAG_partial_unit) continue;
        preferred.push_back(cudie);
        preferred_offsets.insert(dwarf_dieoffset(&cudie));
    }
}

bool DwarfTypes::Impl::scan_next_unit() {
    if (done) return false;
    if (!preferred_listed) list_preferred_units();
    if (preferred_next < preferred.size()) {
        scan_unit(&preferred[preferred_next++]);
        return true;
    }
    while (true) {
        Dwarf_CU* next = nullptr;
        Dwarf_Half version = 0;
        std::uint8_t unit_type = 0;
        Dwarf_Die cudie;
        Dwarf_Die subdie;
        if (dwarf_get_units(dwarf.get(), cu, &next, &version, &unit_type, &cudie, &subdie) != 0) {
            done = true;
            return false;
        }
        cu = next;
        if (preferred_offsets.contains(dwarf_dieoffset(&cudie))) continue;  // scanned already
        scan_unit(&cudie);
        return true;
    }
}

void DwarfTypes::Impl::note_top_level(Dwarf_Die* die) {
    int tag = dwarf_tag(die);
    switch (tag) {
        case DW_TAG_structure_type:
        case DW_TAG_union_type: {
            if (dwarf_hasattr(die, DW_AT_declaration)) return;
            const char* name = dwarf_diename(die);
            if (!name) return;
            internal::insert_if_absent(
                tag == DW_TAG_structure_type ? structs : unions, name, dwarf_dieoffset(die));
            return;
        }
        case DW_TAG_typedef: {
            const char* name = dwarf_diename(die);
            if (name) internal::insert_if_absent(typedefs, name, dwarf_dieoffset(die));
            return;
        }
        case DW_TAG_enumeration_type: {
            if (dwarf_hasattr(die, DW_AT_declaration)) return;
            const char* name = dwarf_diename(die);
            if (name) {
                if (enums.find(std::string_view(name)) != enums.end()) return;  // seen before
                enums.emplace(name, dwarf_dieoffset(die));
            }
            note_enumerators(die);
            return;
        }
        default:
            return;
    }
}

void DwarfTypes::Impl::note_enumerators(Dwarf_Die* enum_die) {
    Dwarf_Die e;
    if (dwarf_child(enum_die, &e) != 0) return;
    do {
        if (dwarf_tag(&e) != DW_TAG_enumerator) continue;
        const char* name = dwarf_diename(&e);
        if (!name || enumerators.find(std::string_view(name)) != enumerators.end()) continue;
        if (auto v = const_attr(&e, DW_AT_const_value)) enumerators.emplace(name, *v);
    } while (dwarf_siblingof(&e, &e) == 0);
}

// A complete struct/union called `name` among what has been scanned (struct, then union, then a
// typedef that resolves to one).
std::optional<Dwarf_Off> DwarfTypes::Impl::known_struct(std::string_view name, int depth) {
    if (auto it = structs.find(name); it != structs.end()) return it->second;
    if (auto it = unions.find(name); it != unions.end()) return it->second;
    auto it = typedefs.find(name);
    if (it == typedefs.end()) return std::nullopt;
    Dwarf_Die d;
    if (!dwarf_offdie(dwarf.get(), it->second, &d) || !peel(&d)) return std::nullopt;
    int tag = dwarf_tag(&d);
    if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type) return std::nullopt;
    if (!dwarf_hasattr(&d, DW_AT_declaration)) return dwarf_dieoffset(&d);
    const char* target = dwarf_diename(&d);
    if (!target || depth >= 4 || std::string_view(target) == name) return std::nullopt;
    return find_struct(target, depth + 1);
}

std::optional<Dwarf_Off> DwarfTypes::Impl::find_struct(std::string_view name, int depth) {
    while (true) {
        bool seen = structs.contains(name) || unions.contains(name) || typedefs.contains(name);
        if (seen) return known_struct(name, depth);
        if (!scan_next_unit()) return std::nullopt;
    }
}

// Replaces a struct/union declaration by its definition (found by name); false when none.
bool DwarfTypes::Impl::complete(Dwarf_Die* die, int depth) {
    if (!dwarf_hasattr(die, DW_AT_declaration)) return true;
    const char* name = dwarf_diename(die);
    if (!name) return false;
    int tag = dwarf_tag(die);
    std::string wanted(name);
    while (true) {
        auto& map = tag == DW_TAG_union_type ? unions : structs;
        if (auto it = map.find(wanted); it != map.end())
            return dwarf_offdie(dwarf.get(), it->second, die) != nullptr;
        if (depth > kMaxTypeDepth || !scan_next_unit()) return false;
    }
}

TypeDesc DwarfTypes::Impl::describe_type(Dwarf_Die* type, int depth) {
    TypeDesc d;
    if (!type || depth > kMaxTypeDepth) {
        d.name = "void";
        return d;
    }
    Dwarf_Die t = *type;
    if (!peel(&t)) {
        d.name = "void";
        return d;
    }
    const char* name = dwarf_diename(&t);
    int tag = dwarf_tag(&t);
    switch (tag) {
        case DW_TAG_base_type: {
            auto enc = udata_attr(&t, DW_AT_encoding).value_or(0);
            if (enc == DW_ATE_boolean)
                d.kind = TypeKind::kBool;
            else if (enc == DW_ATE_float || enc == DW_ATE_complex_float)
                d.kind = TypeKind::kOther;
            else
                d.kind = TypeKind::kInteger;
            d.size = udata_attr(&t, DW_AT_byte_size).value_or(0);
            d.name = name ? name : "";
            break;
        }
        case DW_TAG_enumeration_type:
            d.kind = TypeKind::kEnum;
            d.size = udata_attr(&t, DW_AT_byte_size).value_or(0);
            d.name = name ? name : "";
            break;
        case DW_TAG_pointer_type:
        case DW_TAG_reference_type: {
            d.kind = TypeKind::kPointer;
            d.size = udata_attr(&t, DW_AT_byte_size).value_or(8);
            Dwarf_Die pointee;
            d.name = type_of(&t, &pointee) ? describe_type(&pointee, depth + 1).name : "void";
            break;
        }
        case DW_TAG_structure_type:
        case DW_TAG_union_type:
            d.kind = tag == DW_TAG_structure_type ? TypeKind::kStruct : TypeKind::kUnion;
            d.name = name ? name : "";
            if (complete(&t, depth + 1)) d.size = udata_attr(&t, DW_AT_byte_size).value_or(0);
            break;
        case DW_TAG_array_type: {
            d.kind = TypeKind::kArray;
            Dwarf_Die elem;
            TypeDesc e = type_of(&t, &elem) ? describe_type(&elem, depth + 1) : TypeDesc{};
            d.name = e.name;
            std::uint64_t total = 1;
            bool first = true;
            Dwarf_Die sub;
            if (dwarf_child(&t, &sub) == 0) {
                do {
                    if (dwarf_tag(&sub) != DW_TAG_subrange_type) continue;
                    std::uint64_t n = 0;
                    if (auto c = const_attr(&sub, DW_AT_count)) {
                        n = *c > 0 ? static_cast<std::uint64_t>(*c) : 0;
                    } else if (auto ub = const_attr(&sub, DW_AT_upper_bound)) {
                        n = *ub >= 0 ? static_cast<std::uint64_t>(*ub) + 1 : 0;
                    }
                    if (first) d.count = n;
                    first = false;
                    total *= n;
                } while (dwarf_siblingof(&sub, &sub) == 0);
            }
            if (first) total = 0;
            d.size = total * e.size;
            break;
        }
        case DW_TAG_subroutine_type:
            d.kind = TypeKind::kFunction;
            break;
        default:
            d.name = name ? name : "";
            break;
    }
    return d;
}

bool DwarfTypes::Impl::find_member(Dwarf_Die* agg,
                                   std::string_view name,
                                   std::uint64_t base_bits,
                                   Dwarf_Die* out,
                                   std::uint64_t* out_bits,
                                   int depth,
                                   std::unordered_set<Dwarf_Off>* searched) {
    if (depth > kMaxTypeDepth) return false;
    // Each aggregate once per lookup (a cycle of anonymous members, or a subtree searched in
    // vain): k anonymous members per level leading back would otherwise cost k^64 calls.
    std::unordered_set<Dwarf_Off> own;
    if (!searched) searched = &own;
    if (!searched->insert(dwarf_dieoffset(agg)).second) return false;
    Dwarf_Die m;
    if (dwarf_child(agg, &m) != 0) return false;
    do {
        if (dwarf_tag(&m) != DW_TAG_member) continue;
        auto bits = member_bit_offset(&m);
        if (!bits) continue;
        const char* mname = dwarf_diename(&m);
        if (mname) {
            if (name == mname) {
                *out = m;
                *out_bits = base_bits + *bits;
                return true;
            }
            continue;
        }
        // Anonymous struct/union member: its members count as members of agg.
        Dwarf_Die t;
        if (!type_of(&m, &t) || !peel(&t)) continue;
        int tag = dwarf_tag(&t);
        if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type) continue;
        if (!complete(&t, depth + 1)) continue;
        if (find_member(&t, name, base_bits + *bits, out, out_bits, depth + 1, searched))
            return true;
    } while (dwarf_siblingof(&m, &m) == 0);
    return false;
}

DwarfTypes::DwarfTypes(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DwarfTypes::~DwarfTypes() = default;

Result<std::unique_ptr<DwarfTypes>> DwarfTypes::open(const std::string& vmlinux_path,
                                                     std::string_view expected_build_id) {
    auto file = internal::ElfFile::open(vmlinux_path);
    if (!file) return std::unexpected(file.error());
    auto impl = std::make_unique<Impl>();
    impl->file = std::move(*file);
    if (auto id = impl->file.build_id()) impl->build_id = *id;
    std::string want = normalize_build_id(expected_build_id);
    if (!want.empty() && impl->build_id != want)
        return fail(ErrorKind::kMismatch,
                    fmt::format("{} has build-id {}, but the dump's kernel has {}",
                                vmlinux_path,
                                impl->build_id.empty() ? "(none)" : impl->build_id,
                                want));
    impl->dwarf.reset(dwarf_begin_elf(impl->file.elf(), DWARF_C_READ, nullptr));
    if (!impl->dwarf)
        return fail(ErrorKind::kNotFound,
                    fmt::format("{} has no usable DWARF: {}", vmlinux_path, dwarf_error_text()));
    return std::unique_ptr<DwarfTypes>(new DwarfTypes(std::move(impl)));
}

std::string DwarfTypes::describe() const {
    return "DWARF from " + impl_->file.path();
}
const std::string& DwarfTypes::path() const {
    return impl_->file.path();
}
const std::string& DwarfTypes::build_id() const {
    return impl_->build_id;
}

std::size_t DwarfTypes::units_scanned() const {
    std::lock_guard lock(impl_->mu);
    return impl_->units;
}

std::optional<std::uint64_t> DwarfTypes::struct_size(std::string_view name) {
    std::lock_guard lock(impl_->mu);
    auto off = impl_->find_struct(name);
    Dwarf_Die d;
    if (!off || !dwarf_offdie(impl_->dwarf.get(), *off, &d)) return std::nullopt;
    return udata_attr(&d, DW_AT_byte_size);
}

std::optional<MemberInfo> DwarfTypes::member(std::string_view struct_name, std::string_view path) {
    auto parts = internal::split_member_path(path);
    if (!parts) return std::nullopt;
    std::lock_guard lock(impl_->mu);
    Impl& im = *impl_;
    auto off = im.find_struct(struct_name);
    Dwarf_Die cur;
    if (!off || !dwarf_offdie(im.dwarf.get(), *off, &cur)) return std::nullopt;

    std::uint64_t bits = 0;
    MemberInfo info;
    for (std::size_t i = 0; i < parts->size(); ++i) {
        const auto& part = (*parts)[i];
        Dwarf_Die m;
        std::uint64_t mbits = 0;
        if (!im.find_member(&cur, part.name, bits, &m, &mbits, 0)) return std::nullopt;
        bits = mbits;
        Dwarf_Die type;
        bool has_type = type_of(&m, &type);
        std::uint32_t bit_size =
            static_cast<std::uint32_t>(udata_attr(&m, DW_AT_bit_size).value_or(0));
        if (part.index) {
            // "name[N]": step into element N of a one-dimensional array.
            Dwarf_Die arr = type;
            if (!has_type || !peel(&arr) || dwarf_tag(&arr) != DW_TAG_array_type)
                return std::nullopt;
            TypeDesc ad = im.describe_type(&arr, 0);
            Dwarf_Die elem;
            if (!type_of(&arr, &elem)) return std::nullopt;
            TypeDesc ed = im.describe_type(&elem, 0);
            if (ad.count > 0 && *part.index >= ad.count) return std::nullopt;
            if (ad.size != ad.count * ed.size) return std::nullopt;  // multi-dimensional
            bits += *part.index * ed.size * 8;
            type = elem;
            bit_size = 0;
        }
        if (i + 1 == parts->size()) {
            TypeDesc d = im.describe_type(has_type ? &type : nullptr, 0);
            info.offset = bits / 8;
            info.size = d.size;
            info.kind = d.kind;
            info.type_name = std::move(d.name);
            info.array_count = d.kind == TypeKind::kArray ? d.count : 0;
            if (bit_size > 0) {
                info.bit_offset = static_cast<std::uint32_t>(bits % 8);
                info.bit_size = bit_size;
            }
            return info;
        }
        // An intermediate component must be an embedded struct or union (no pointer chasing).
        if (!has_type || !peel(&type)) return std::nullopt;
        int tag = dwarf_tag(&type);
        if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type) return std::nullopt;
        if (!im.complete(&type, 0)) return std::nullopt;
        cur = type;
    }
    return std::nullopt;
}

std::optional<std::int64_t> DwarfTypes::enumerator(std::string_view name) {
    std::lock_guard lock(impl_->mu);
    Impl& im = *impl_;
    while (true) {
        if (auto it = im.enumerators.find(name); it != im.enumerators.end()) return it->second;
        if (!im.scan_next_unit()) return std::nullopt;
    }
}

}  // namespace lockhound::debuginfo
