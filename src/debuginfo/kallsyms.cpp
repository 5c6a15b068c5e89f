#include "debuginfo/kallsyms.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "base/byte_reader.h"
#include "dump/vmcoreinfo.h"

namespace lockhound::debuginfo {

namespace {

constexpr std::size_t kMaxExpandedName = 1024;     // KSYM_NAME_LEN is 512 in 6.1
constexpr std::uint64_t kMaxTokenTable = 1 << 20;  // ~2 KiB in practice
constexpr std::size_t kMaxTokenLength = 256;
constexpr std::size_t kNamesChunk = 256 << 10;

Error with_context(Error e, std::string_view what) {
    e.message = fmt::format("kallsyms: reading {}: {}", what, e.message);
    return e;
}

// Reads len bytes at addr; when that faults, the bytes before the fault (at least `need`).
Result<std::vector<std::byte>> read_prefix(dump::VirtualMemory& mem,
                                           std::uint64_t addr,
                                           std::size_t len,
                                           std::size_t need) {
    std::vector<std::byte> buf(len);
    auto r = mem.read(addr, buf);
    if (r) return buf;
    const Error& e = r.error();
    if (!e.has_address || e.address < addr + need || e.address >= addr + len)
        return std::unexpected(e);
    buf.resize(e.address - addr);
    if (auto again = mem.read(addr, buf); !again) return std::unexpected(again.error());
    return buf;
}

// kallsyms_names, read a window at a time (its end is not known up front).
class NamesReader {
  public:
    NamesReader(dump::VirtualMemory& mem, std::uint64_t base, std::uint64_t max_bytes)
        : mem_(mem), base_(base), max_bytes_(max_bytes) {}

    // The bytes [pos, pos+n) of the table, or an Error.
    Result<const std::byte*> get(std::uint64_t pos, std::size_t n) {
        if (pos + n > max_bytes_)
            return fail(ErrorKind::kLimit,
                        fmt::format("kallsyms: names run past {} bytes", max_bytes_));
        if (pos < start_ || pos + n > start_ + buf_.size()) {
            std::size_t want = static_cast<std::size_t>(
                std::min<std::uint64_t>(std::max<std::size_t>(kNamesChunk, n), max_bytes_ - pos));
            auto b = read_prefix(mem_, base_ + pos, want, n);
            if (!b) return std::unexpected(with_context(b.error(), "kallsyms_names"));
            buf_ = std::move(*b);
            start_ = pos;
        }
        return buf_.data() + (pos - start_);
    }

  private:
    dump::VirtualMemory& mem_;
    std::uint64_t base_;
    std::uint64_t max_bytes_;
    std::vector<std::byte> buf_;
    std::uint64_t start_ = 0;
};

}  // namespace

std::string_view to_string(KallsymsEncoding e) {
    switch (e) {
        case KallsymsEncoding::kAbsolute:
            return "absolute addresses";
        case KallsymsEncoding::kBaseRelativePercpu:
            return "base-relative offsets with absolute per-CPU symbols";
        case KallsymsEncoding::kBaseRelative:
            return "base-relative offsets";
        case KallsymsEncoding::kPlaceRelative:
            return "place-relative offsets";
    }
    return "?";
}

std::optional<KallsymsLocation> KallsymsLocation::from_vmcoreinfo(const dump::VmcoreInfo& info) {
    KallsymsLocation w;
    auto get = [&](const char* name) { return info.symbol(name).value_or(0); };
    w.names = get("kallsyms_names");
    w.num_syms = get("kallsyms_num_syms");
    w.token_table = get("kallsyms_token_table");
    w.token_index = get("kallsyms_token_index");
    w.offsets = get("kallsyms_offsets");
    w.relative_base = get("kallsyms_relative_base");
    w.addresses = get("kallsyms_addresses");
    w.stext = get("_stext");
    if (!w.complete()) return std::nullopt;
    return w;
}

std::vector<KallsymsEncoding> KallsymsLocation::candidate_encodings() const {
    std::vector<KallsymsEncoding> out;
    if (offsets && relative_base) {
        out.push_back(absolute_percpu ? KallsymsEncoding::kBaseRelativePercpu
                                      : KallsymsEncoding::kBaseRelative);
        out.push_back(absolute_percpu ? KallsymsEncoding::kBaseRelative
                                      : KallsymsEncoding::kBaseRelativePercpu);
    }
    if (offsets) out.push_back(KallsymsEncoding::kPlaceRelative);
    if (addresses) out.push_back(KallsymsEncoding::kAbsolute);
    return out;
}

namespace {

// Symbol i's address under encoding e; `table` holds the offsets (4 bytes each) or addresses (8).
std::uint64_t symbol_address(KallsymsEncoding e,
                             const ByteReader& table,
                             std::uint32_t i,
                             const KallsymsLocation& where,
                             std::uint64_t relative_base) {
    if (e == KallsymsEncoding::kAbsolute) return *table.u64(std::uint64_t{i} * 8);
    const std::int32_t off = *table.i32(std::uint64_t{i} * 4);
    switch (e) {
        case KallsymsEncoding::kBaseRelative:
            return relative_base + static_cast<std::uint32_t>(off);
        case KallsymsEncoding::kBaseRelativePercpu:
            if (off >= 0) return static_cast<std::uint64_t>(off);
            return relative_base - 1 - static_cast<std::uint64_t>(off);
        case KallsymsEncoding::kPlaceRelative:
            return where.offsets + std::uint64_t{i} * 4 +
                   static_cast<std::uint64_t>(static_cast<std::int64_t>(off));
        case KallsymsEncoding::kAbsolute:
            break;
    }
    return 0;
}

}  // namespace

Result<KallsymsDecoded> decode_kallsyms(dump::VirtualMemory& mem,
                                        const KallsymsLocation& where,
                                        SymbolTable& out,
                                        const KallsymsLimits& limits) {
    if (!where.complete())
        return fail(ErrorKind::kNotFound, "kallsyms: the table addresses are not all known");
    const std::vector<KallsymsEncoding> encodings = where.candidate_encodings();

    auto num = mem.read_u32(where.num_syms);
    if (!num) return std::unexpected(with_context(num.error(), "kallsyms_num_syms"));
    if (*num == 0 || *num > limits.max_symbols)
        return fail(
            ErrorKind::kBadData,
            fmt::format(
                "kallsyms: implausible symbol count {} (limit {})", *num, limits.max_symbols));
    const std::uint32_t count = *num;

    // Token index (256 u16) and token table (256 NUL-terminated strings).
    auto index_bytes = mem.read_bytes(where.token_index, 256 * 2);
    if (!index_bytes)
        return std::unexpected(with_context(index_bytes.error(), "kallsyms_token_index"));
    ByteReader index_reader(*index_bytes);
    std::array<std::uint16_t, 256> token_index{};
    for (std::size_t i = 0; i < 256; ++i) token_index[i] = *index_reader.u16(2 * i);
    std::size_t max_index = *std::max_element(token_index.begin(), token_index.end());
    std::uint64_t table_len = max_index + kMaxTokenLength + 1;
    // The token table normally ends where the index starts; prefer that exact length.
    if (where.token_index > where.token_table &&
        where.token_index - where.token_table <= kMaxTokenTable &&
        where.token_index - where.token_table > max_index)
        table_len = where.token_index - where.token_table;
    auto table_bytes = read_prefix(mem, where.token_table, table_len, max_index + 1);
    if (!table_bytes)
        return std::unexpected(with_context(table_bytes.error(), "kallsyms_token_table"));
    ByteReader table_reader(*table_bytes);
    std::array<std::string_view, 256> tokens;  // into table_bytes
    for (std::size_t i = 0; i < 256; ++i) {
        if (token_index[i] >= table_reader.size())
            return fail(ErrorKind::kBadData, fmt::format("kallsyms: token {} is out of range", i));
        tokens[i] = table_reader.cstring(token_index[i], kMaxTokenLength);
    }
    // Each token padded to kPadded bytes, so that a short one is copied with one fixed-size
    // memcpy (the store keeps kMaxTokenLength bytes of room past every name).
    constexpr std::size_t kPadded = 16;
    std::array<std::array<char, kPadded>, 256> padded{};
    for (std::size_t i = 0; i < 256; ++i)
        std::memcpy(padded[i].data(), tokens[i].data(), std::min(tokens[i].size(), kPadded));

    // Addresses: one bulk read of the whole offsets (or addresses) table.
    const bool relative = where.offsets != 0;
    std::uint64_t relative_base = 0;
    if (relative && where.relative_base) {
        auto base = mem.read_u64(where.relative_base);
        if (!base) return std::unexpected(with_context(base.error(), "kallsyms_relative_base"));
        relative_base = *base;
    }
    std::size_t entry = relative ? 4 : 8;
    auto addr_bytes =
        mem.read_bytes(relative ? where.offsets : where.addresses, std::size_t{count} * entry);
    if (!addr_bytes)
        return std::unexpected(
            with_context(addr_bytes.error(), relative ? "kallsyms_offsets" : "kallsyms_addresses"));
    ByteReader addrs(*addr_bytes);

    // Names: [len][len tokens] per symbol; len >= 0x80 takes a second byte (6.1 big symbols).
    // They are expanded into one store first: the encoding is chosen once _stext is known.
    NamesReader names(mem, where.names, limits.max_names_bytes);
    std::uint64_t pos = 0;
    // The table borrows its names from this store (no copy per symbol).
    auto shared_store = std::make_shared<std::string>();
    std::string& store = *shared_store;
    store.resize(std::min<std::size_t>(std::size_t{count} * 32, limits.max_names_bytes));
    std::size_t used = 0;             // bytes of `store` written
    std::vector<std::uint32_t> ends;  // ends[i]: one past symbol i's typed name in `store`
    ends.reserve(count);
    std::optional<std::uint32_t> stext_index;
    for (std::uint32_t i = 0; i < count; ++i) {
        auto head = names.get(pos, 1);
        if (!head) return std::unexpected(head.error());
        std::size_t len = static_cast<std::uint8_t>((*head)[0]);
        pos += 1;
        if (len & 0x80) {
            auto hi = names.get(pos, 1);
            if (!hi) return std::unexpected(hi.error());
            len =
                (len & 0x7f) | (static_cast<std::size_t>(static_cast<std::uint8_t>((*hi)[0])) << 7);
            pos += 1;
        }
        if (len == 0)
            return fail(ErrorKind::kBadData, fmt::format("kallsyms: symbol {} has no name", i));
        auto body = names.get(pos, len);
        if (!body) return std::unexpected(body.error());
        pos += len;
        // Room for the longest name allowed plus one token, so a token is copied unchecked.
        if (used + kMaxExpandedName + kMaxTokenLength > store.size())
            store.resize(std::max(store.size() * 2, used + kMaxExpandedName + kMaxTokenLength));
        const std::size_t begin = used;
        for (std::size_t k = 0; k < len; ++k) {
            const auto t = static_cast<std::uint8_t>((*body)[k]);
            const std::string_view token = tokens[t];
            if (token.size() <= kPadded)
                std::memcpy(store.data() + used, padded[t].data(), kPadded);
            else
                std::memcpy(store.data() + used, token.data(), token.size());
            used += token.size();
            if (used - begin > kMaxExpandedName)
                return fail(
                    ErrorKind::kBadData,
                    fmt::format(
                        "kallsyms: symbol {} expands beyond {} bytes", i, kMaxExpandedName));
        }
        if (used > limits.max_names_bytes)
            return fail(
                ErrorKind::kLimit,
                fmt::format("kallsyms: names expand beyond {} bytes", limits.max_names_bytes));
        std::string_view typed(store.data() + begin, used - begin);
        if (typed.size() < 2 || !std::isalpha(static_cast<unsigned char>(typed[0])))
            return fail(ErrorKind::kBadData,
                        fmt::format("kallsyms: symbol {} decodes to garbage", i));
        if (!stext_index && typed.substr(1) == "_stext") stext_index = i;
        ends.push_back(static_cast<std::uint32_t>(used));
    }
    store.resize(used);

    // The encoding: the first candidate that puts _stext where VMCOREINFO says it is.
    KallsymsEncoding encoding = encodings.front();
    if (where.stext && stext_index) {
        auto it = std::ranges::find_if(encodings, [&](KallsymsEncoding e) {
            return symbol_address(e, addrs, *stext_index, where, relative_base) == where.stext;
        });
        if (it == encodings.end()) {
            std::string tried;
            for (auto e : encodings)
                tried += fmt::format("{}{}", tried.empty() ? "" : ", ", to_string(e));
            return fail(ErrorKind::kBadData,
                        fmt::format("kallsyms: no address encoding puts _stext at {:#x} "
                                    "(tried {})",
                                    where.stext,
                                    tried));
        }
        encoding = *it;
    }

    out.reserve(out.size() + count);
    out.retain(shared_store);
    std::uint32_t begin = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
        std::string_view typed(store.data() + begin, ends[i] - begin);
        begin = ends[i];
        out.add_borrowed(Symbol{.address = symbol_address(encoding, addrs, i, where, relative_base),
                                .size = 0,
                                .name = typed.substr(1),
                                .module = {},
                                .type = typed[0]});
    }
    return KallsymsDecoded{.count = count, .encoding = encoding};
}

Result<SymbolTable> load_kallsyms(dump::VirtualMemory& memory,
                                  const KallsymsLocation& where,
                                  const KallsymsLimits& limits) {
    SymbolTable table;
    auto n = decode_kallsyms(memory, where, table, limits);
    if (!n) return std::unexpected(n.error());
    table.finalize();
    return table;
}

}  // namespace lockhound::debuginfo
