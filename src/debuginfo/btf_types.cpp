#include "debuginfo/btf_types.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <mutex>
#include <unordered_set>

#include <fmt/format.h>

#include "base/byte_reader.h"
#include "debuginfo/internal/elf_file.h"
#include "debuginfo/internal/member_path.h"
#include "debuginfo/internal/name_map.h"
#include "debuginfo/symbol_table.h"

namespace lockhound::debuginfo {

namespace {

using internal::NameMap;

constexpr int kMaxTypeDepth = 64;
constexpr std::uint16_t kBtfMagic = 0xeB9F;

struct BtfDeleter {
    void operator()(btf* b) const { btf__free(b); }
};

int silent_print(enum libbpf_print_level /*level*/, const char* /*format*/, va_list /*args*/) {
    return 0;
}

// The header fields libbpf will trust, checked against the buffer first.
Result<> check_header(std::span<const std::byte> raw) {
    ByteReader r(raw);
    auto magic = r.u16(0);
    auto version = r.u8(2);
    auto hdr_len = r.u32(4);
    auto type_off = r.u32(8);
    auto type_len = r.u32(12);
    auto str_off = r.u32(16);
    auto str_len = r.u32(20);
    if (!magic || !version || !hdr_len || !type_off || !type_len || !str_off || !str_len)
        return fail(ErrorKind::kTruncated, "BTF: shorter than its header");
    if (*magic != kBtfMagic)
        return fail(ErrorKind::kBadData, fmt::format("BTF: bad magic {:#06x}", *magic));
    if (*version != 1)
        return fail(ErrorKind::kUnsupported, fmt::format("BTF: version {}", *version));
    std::uint64_t body = raw.size();
    if (*hdr_len < 24 || *hdr_len > body)
        return fail(ErrorKind::kBadData, fmt::format("BTF: header length {}", *hdr_len));
    body -= *hdr_len;
    if (std::uint64_t{*type_off} + *type_len > body || std::uint64_t{*str_off} + *str_len > body)
        return fail(ErrorKind::kTruncated, "BTF: type or string section beyond the data");
    if (raw.size() > kMaxBtfBytes) return fail(ErrorKind::kLimit, "BTF: too large");
    return {};
}

bool is_modifier(int kind) {
    switch (kind) {
        case BTF_KIND_TYPEDEF:
        case BTF_KIND_VOLATILE:
        case BTF_KIND_CONST:
        case BTF_KIND_RESTRICT:
        case BTF_KIND_TYPE_TAG:
            return true;
        default:
            return false;
    }
}

struct TypeDesc {
    TypeKind kind = TypeKind::kOther;
    std::uint64_t size = 0;
    std::string name;
    std::uint64_t count = 0;
};

}  // namespace

struct BtfTypes::Impl {
    std::unique_ptr<btf, BtfDeleter> btf_;
    std::string origin;
    std::size_t bytes = 0;
    std::mutex mu;

    bool indexed = false;
    NameMap<std::uint32_t> structs, unions, typedefs;
    NameMap<std::int64_t> enumerators;

    const btf_type* type(std::uint32_t id) const {
        return id == 0 ? nullptr : btf__type_by_id(btf_.get(), id);
    }
    std::string_view name_of(const btf_type* t) const {
        if (!t || t->name_off == 0) return {};
        const char* n = btf__name_by_offset(btf_.get(), t->name_off);
        return n ? std::string_view(n) : std::string_view();
    }
    // Strips typedefs and modifiers; 0 for void (or a broken chain).
    std::uint32_t peel(std::uint32_t id) const {
        for (int i = 0; i < kMaxTypeDepth; ++i) {
            const btf_type* t = type(id);
            if (!t || !is_modifier(btf_kind(t))) return t ? id : 0;
            id = t->type;
        }
        return 0;
    }
    void build_index();
    std::optional<std::uint32_t> find_struct(std::string_view name, int depth = 0);
    std::uint32_t complete(std::uint32_t id, int depth);
    TypeDesc describe_type(std::uint32_t id, int depth);
    bool find_member(std::uint32_t agg,
                     std::string_view name,
                     std::uint64_t base_bits,
                     std::uint32_t* out_type,
                     std::uint64_t* out_bits,
                     std::uint32_t* out_bit_size,
                     int depth,
                     std::unordered_set<std::uint32_t>* searched = nullptr);
};

void BtfTypes::Impl::build_index() {
    if (indexed) return;
    indexed = true;
    std::uint32_t n = btf__type_cnt(btf_.get());
    for (std::uint32_t id = 1; id < n; ++id) {
        const btf_type* t = type(id);
        if (!t) continue;
        int kind = btf_kind(t);
        switch (kind) {
            case BTF_KIND_STRUCT:
            case BTF_KIND_UNION: {
                auto name = name_of(t);
                if (!name.empty())
                    internal::insert_if_absent(
                        kind == BTF_KIND_STRUCT ? structs : unions, name, id);
                break;
            }
            case BTF_KIND_TYPEDEF: {
                auto name = name_of(t);
                if (!name.empty()) internal::insert_if_absent(typedefs, name, id);
                break;
            }
            case BTF_KIND_ENUM: {
                const struct btf_enum* e = btf_enum(t);
                for (std::uint16_t i = 0; i < btf_vlen(t); ++i) {
                    const char* en = btf__name_by_offset(btf_.get(), e[i].name_off);
                    if (!en || !*en) continue;
                    // kind_flag set: signed values; clear: unsigned (BTF since Linux 6.0).
                    std::int64_t v = btf_kflag(t)
                                         ? std::int64_t{e[i].val}
                                         : std::int64_t{static_cast<std::uint32_t>(e[i].val)};
                    internal::insert_if_absent(enumerators, en, v);
                }
                break;
            }
            case BTF_KIND_ENUM64: {
                const struct btf_enum64* e = btf_enum64(t);
                for (std::uint16_t i = 0; i < btf_vlen(t); ++i) {
                    const char* en = btf__name_by_offset(btf_.get(), e[i].name_off);
                    if (!en || !*en) continue;
                    internal::insert_if_absent(
                        enumerators, en, static_cast<std::int64_t>(btf_enum64_value(&e[i])));
                }
                break;
            }
            default:
                break;
        }
    }
}

std::optional<std::uint32_t> BtfTypes::Impl::find_struct(std::string_view name, int depth) {
    build_index();
    if (auto it = structs.find(name); it != structs.end()) return it->second;
    if (auto it = unions.find(name); it != unions.end()) return it->second;
    auto it = typedefs.find(name);
    if (it == typedefs.end()) return std::nullopt;
    std::uint32_t id = complete(peel(it->second), depth + 1);
    const btf_type* t = type(id);
    if (!t || (!btf_is_struct(t) && !btf_is_union(t))) return std::nullopt;
    return id;
}

// A forward declaration replaced by the definition of the same name (0 when there is none).
std::uint32_t BtfTypes::Impl::complete(std::uint32_t id, int depth) {
    const btf_type* t = type(id);
    if (!t || btf_kind(t) != BTF_KIND_FWD) return id;
    auto name = name_of(t);
    if (name.empty() || depth > 4) return 0;
    build_index();
    auto& map = btf_kflag(t) ? unions : structs;
    auto it = map.find(name);
    return it == map.end() ? 0 : it->second;
}

TypeDesc BtfTypes::Impl::describe_type(std::uint32_t id, int depth) {
    TypeDesc d;
    id = peel(id);
    const btf_type* t = type(id);
    if (!t || depth > kMaxTypeDepth) {
        d.name = "void";
        return d;
    }
    int kind = btf_kind(t);
    if (kind == BTF_KIND_FWD) {
        d.kind = btf_kflag(t) ? TypeKind::kUnion : TypeKind::kStruct;
        d.name = std::string(name_of(t));
        std::uint32_t def = complete(id, depth + 1);
        if (const btf_type* dt = type(def); dt && def != id) d.size = dt->size;
        return d;
    }
    switch (kind) {
        case BTF_KIND_INT:
            d.kind = (btf_int_encoding(t) & BTF_INT_BOOL) ? TypeKind::kBool : TypeKind::kInteger;
            d.size = t->size;
            d.name = std::string(name_of(t));
            break;
        case BTF_KIND_FLOAT:
            d.size = t->size;
            d.name = std::string(name_of(t));
            break;
        case BTF_KIND_ENUM:
        case BTF_KIND_ENUM64:
            d.kind = TypeKind::kEnum;
            d.size = t->size;
            d.name = std::string(name_of(t));
            break;
        case BTF_KIND_PTR: {
            d.kind = TypeKind::kPointer;
            std::size_t ps = btf__pointer_size(btf_.get());
            d.size = ps ? ps : 8;
            d.name = describe_type(t->type, depth + 1).name;
            break;
        }
        case BTF_KIND_STRUCT:
        case BTF_KIND_UNION:
            d.kind = kind == BTF_KIND_STRUCT ? TypeKind::kStruct : TypeKind::kUnion;
            d.size = t->size;
            d.name = std::string(name_of(t));
            break;
        case BTF_KIND_ARRAY: {
            const struct btf_array* a = btf_array(t);
            TypeDesc e = describe_type(a->type, depth + 1);
            d.kind = TypeKind::kArray;
            d.count = a->nelems;
            d.size = std::uint64_t{a->nelems} * e.size;
            d.name = std::move(e.name);
            break;
        }
        case BTF_KIND_FUNC_PROTO:
            d.kind = TypeKind::kFunction;
            break;
        default:
            d.name = std::string(name_of(t));
            break;
    }
    return d;
}

bool BtfTypes::Impl::find_member(std::uint32_t agg,
                                 std::string_view name,
                                 std::uint64_t base_bits,
                                 std::uint32_t* out_type,
                                 std::uint64_t* out_bits,
                                 std::uint32_t* out_bit_size,
                                 int depth,
                                 std::unordered_set<std::uint32_t>* searched) {
    const btf_type* t = type(agg);
    if (!t || depth > kMaxTypeDepth || (!btf_is_struct(t) && !btf_is_union(t))) return false;
    // Each aggregate is searched once per lookup: a second visit is a cycle of anonymous members
    // or a subtree already searched in vain. Without this, k anonymous members per level that
    // lead back (untrusted BTF can) cost k^64 calls.
    std::unordered_set<std::uint32_t> own;
    if (!searched) searched = &own;
    if (!searched->insert(agg).second) return false;
    const btf_member* m = btf_members(t);
    for (std::uint32_t i = 0; i < btf_vlen(t); ++i) {
        std::uint64_t bits = base_bits + btf_member_bit_offset(t, i);
        if (m[i].name_off != 0) {
            const char* mn = btf__name_by_offset(btf_.get(), m[i].name_off);
            if (mn && name == mn) {
                *out_type = m[i].type;
                *out_bits = bits;
                *out_bit_size = btf_member_bitfield_size(t, i);
                return true;
            }
            continue;
        }
        // Anonymous struct/union member: its members count as members of agg.
        std::uint32_t inner = complete(peel(m[i].type), depth + 1);
        if (find_member(inner, name, bits, out_type, out_bits, out_bit_size, depth + 1, searched))
            return true;
    }
    return false;
}

BtfTypes::BtfTypes(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BtfTypes::~BtfTypes() = default;

Result<std::unique_ptr<BtfTypes>> BtfTypes::from_bytes(std::span<const std::byte> raw,
                                                       std::string origin) {
    if (auto ok = check_header(raw); !ok) {
        Error e = ok.error();
        e.message = fmt::format("{} (from {})", e.message, origin);
        return std::unexpected(e);
    }
    static std::once_flag once;
    std::call_once(once, [] { libbpf_set_print(silent_print); });
    errno = 0;
    btf* b = btf__new(raw.data(), static_cast<std::uint32_t>(raw.size()));
    if (!b) {  // libbpf >= 1.0: NULL and errno on failure
        int err = errno;
        return fail(ErrorKind::kBadData,
                    fmt::format("BTF from {} is not valid: {}",
                                origin,
                                err ? std::strerror(err) : "rejected by libbpf"));
    }
    auto impl = std::make_unique<Impl>();
    impl->btf_.reset(b);
    impl->origin = std::move(origin);
    impl->bytes = raw.size();
    return std::unique_ptr<BtfTypes>(new BtfTypes(std::move(impl)));
}

Result<std::unique_ptr<BtfTypes>> BtfTypes::from_elf_section(const std::string& path) {
    auto file = internal::ElfFile::open(path);
    if (!file) return std::unexpected(file.error());
    auto bytes = file->section_data(".BTF");
    if (!bytes) return std::unexpected(bytes.error());
    return from_bytes(*bytes, path);
}

std::string BtfTypes::describe() const {
    return fmt::format(
        "BTF from {} ({:.1f} MB)", impl_->origin, static_cast<double>(impl_->bytes) / 1e6);
}

std::size_t BtfTypes::type_count() const {
    return btf__type_cnt(impl_->btf_.get());
}
std::size_t BtfTypes::byte_size() const {
    return impl_->bytes;
}

std::optional<std::uint64_t> BtfTypes::struct_size(std::string_view name) {
    std::lock_guard lock(impl_->mu);
    auto id = impl_->find_struct(name);
    if (!id) return std::nullopt;
    return impl_->type(*id)->size;
}

std::optional<MemberInfo> BtfTypes::member(std::string_view struct_name, std::string_view path) {
    auto parts = internal::split_member_path(path);
    if (!parts) return std::nullopt;
    std::lock_guard lock(impl_->mu);
    Impl& im = *impl_;
    auto start = im.find_struct(struct_name);
    if (!start) return std::nullopt;
    std::uint32_t cur = *start;
    std::uint64_t bits = 0;
    for (std::size_t i = 0; i < parts->size(); ++i) {
        const auto& part = (*parts)[i];
        std::uint32_t mtype = 0;
        std::uint32_t bit_size = 0;
        std::uint64_t mbits = 0;
        if (!im.find_member(cur, part.name, bits, &mtype, &mbits, &bit_size, 0))
            return std::nullopt;
        bits = mbits;
        if (part.index) {
            const btf_type* arr = im.type(im.peel(mtype));
            if (!arr || !btf_is_array(arr)) return std::nullopt;
            const struct btf_array* a = btf_array(arr);
            if (a->nelems > 0 && *part.index >= a->nelems) return std::nullopt;
            TypeDesc ed = im.describe_type(a->type, 0);
            if (ed.kind == TypeKind::kArray) return std::nullopt;  // multi-dimensional
            bits += *part.index * ed.size * 8;
            mtype = a->type;
            bit_size = 0;
        }
        if (i + 1 == parts->size()) {
            TypeDesc d = im.describe_type(mtype, 0);
            MemberInfo info;
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
        std::uint32_t next = im.complete(im.peel(mtype), 0);
        const btf_type* nt = im.type(next);
        if (!nt || (!btf_is_struct(nt) && !btf_is_union(nt))) return std::nullopt;
        cur = next;
    }
    return std::nullopt;
}

std::optional<std::int64_t> BtfTypes::enumerator(std::string_view name) {
    std::lock_guard lock(impl_->mu);
    impl_->build_index();
    auto it = impl_->enumerators.find(name);
    if (it == impl_->enumerators.end()) return std::nullopt;
    return it->second;
}

Result<std::unique_ptr<BtfTypes>> load_btf_from_memory(dump::VirtualMemory& memory,
                                                       std::uint64_t start,
                                                       std::uint64_t stop) {
    if (stop <= start)
        return fail(ErrorKind::kBadData,
                    fmt::format("BTF bounds are inverted ({:#x}..{:#x})", start, stop));
    if (stop - start > kMaxBtfBytes)
        return fail(ErrorKind::kLimit,
                    fmt::format("BTF at {:#x} would be {} bytes; refusing more than {}",
                                start,
                                stop - start,
                                kMaxBtfBytes));
    auto bytes = memory.read_bytes(start, stop - start);
    if (!bytes) {
        Error e = bytes.error();
        e.message = fmt::format("reading the dump's BTF: {}", e.message);
        return std::unexpected(e);
    }
    return BtfTypes::from_bytes(*bytes, "the dump");
}

Result<std::unique_ptr<BtfTypes>> load_btf_from_memory(dump::VirtualMemory& memory,
                                                       const SymbolTable& symbols) {
    auto start = symbols.address_of("__start_BTF");
    auto stop = symbols.address_of("__stop_BTF");
    if (!start || !stop)
        return fail(ErrorKind::kNotFound,
                    "the kernel has no __start_BTF/__stop_BTF symbols (built without BTF)");
    return load_btf_from_memory(memory, *start, *stop);
}

}  // namespace lockhound::debuginfo
