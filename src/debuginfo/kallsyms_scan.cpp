#include "debuginfo/kallsyms_scan.h"

#include <algorithm>
#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "base/byte_reader.h"

namespace lockhound::debuginfo {

namespace {

constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kChunk = 1ull << 20;
constexpr std::size_t kMaxToken = 256;  // bytes of one token, as decode allows
constexpr std::uint64_t kTokenBack = 0x30 * (kMaxToken + 1);
constexpr std::uint64_t kTokenForward = 0xd0 * (kMaxToken + 1) + 512 + 16;
constexpr std::uint64_t kMaxMarkers = 4'000'000 / 256 + 1;
// The markers and, when present, kallsyms_seqs_of_names (3 bytes a symbol): room for 1.3M symbols.
constexpr std::uint64_t kMarkersWindow = 4ull << 20;
constexpr std::uint64_t kMinBlock = 256 * 2;  // 256 names of >= 1 length + 1 token byte
constexpr std::uint64_t kMaxEntry = 2 + 512;  // a two-byte length and KSYM_NAME_LEN tokens
constexpr std::uint64_t kMaxBlock = 256 * kMaxEntry;

// "0\0" "1\0" ... "9\0": the digits' single-character tokens, at indexes 0x30..0x39.
constexpr std::array<char, 20> kDigitTokens = {'0', 0, '1', 0, '2', 0, '3', 0, '4', 0,
                                               '5', 0, '6', 0, '7', 0, '8', 0, '9', 0};

std::uint64_t align_up(std::uint64_t v, std::uint64_t a) {
    return (v + a - 1) & ~(a - 1);
}

bool is_kernel_address(std::uint64_t v) {
    return v >= 0xffff800000000000ull;
}

// [addr, addr+len) with unreadable pages as zeros (a hole never looks like a table).
struct Window {
    std::uint64_t base = 0;
    std::vector<std::byte> bytes;

    bool has(std::uint64_t addr, std::uint64_t n) const {
        return addr >= base && n <= bytes.size() && addr - base <= bytes.size() - n;
    }
    std::uint8_t u8(std::uint64_t addr) const {
        return static_cast<std::uint8_t>(bytes[addr - base]);
    }
    std::uint64_t uint(std::uint64_t addr, unsigned width) const {
        std::uint64_t v = 0;
        for (unsigned i = 0; i < width; ++i) v |= std::uint64_t{u8(addr + i)} << (8 * i);
        return v;
    }
};

Window read_window(dump::VirtualMemory& mem, std::uint64_t addr, std::uint64_t len) {
    Window w;
    w.base = addr;
    w.bytes.assign(len, std::byte{0});
    if (mem.read(addr, w.bytes)) return w;
    for (std::uint64_t off = 0; off < len;) {
        std::uint64_t n = std::min(len - off, kPage - ((addr + off) & (kPage - 1)));
        std::span<std::byte> part(w.bytes.data() + off, n);
        if (!mem.read(addr + off, part)) std::ranges::fill(part, std::byte{0});
        off += n;
    }
    return w;
}

// Window [from, to) clipped to the address space's start.
Window read_range(dump::VirtualMemory& mem, std::uint64_t from, std::uint64_t to) {
    return read_window(mem, from, to > from ? to - from : 0);
}

struct TokenTable {
    std::uint64_t table = 0;
    std::uint64_t index = 0;
};

// The token table around the digit run at `digits`, and its index.
Result<TokenTable> token_table_at(dump::VirtualMemory& mem, std::uint64_t digits) {
    const std::uint64_t from = digits > kTokenBack ? digits - kTokenBack : 0;
    Window w = read_range(mem, from, digits + kTokenForward);
    // Back 0x30 tokens: each ends with the NUL before the one after it.
    std::uint64_t at = digits;
    for (int k = 0; k < 0x30; ++k) {
        if (at <= w.base || w.u8(at - 1) != 0)
            return fail(ErrorKind::kNotFound, "token 0x2f does not end before token '0'");
        std::uint64_t j = at - 1;
        while (j > w.base && w.u8(j - 1) != 0 && at - 1 - (j - 1) <= kMaxToken) --j;
        if (at - 1 - j > kMaxToken)
            return fail(ErrorKind::kNotFound, "a token before '0' is too long");
        at = j;
    }
    TokenTable t;
    t.table = at;
    // Forward 256 tokens, keeping their offsets.
    std::array<std::uint64_t, 256> offsets{};
    std::uint64_t p = t.table;
    for (auto& off : offsets) {
        off = p - t.table;
        if (off > 0xffff) return fail(ErrorKind::kNotFound, "the token table exceeds 64 KiB");
        std::uint64_t len = 0;
        while (w.has(p, 1) && w.u8(p) != 0 && len <= kMaxToken) {
            ++p;
            ++len;
        }
        if (!w.has(p, 1) || len > kMaxToken)
            return fail(ErrorKind::kNotFound, "a token after '9' does not end");
        ++p;  // the NUL
    }
    // The index follows, aligned: its 256 u16 are exactly those offsets.
    for (std::uint64_t a : {8, 4, 2, 1}) {
        std::uint64_t index = align_up(p, a);
        if (!w.has(index, 512)) continue;
        bool same = true;
        for (std::size_t i = 0; i < 256 && same; ++i) same = w.uint(index + 2 * i, 2) == offsets[i];
        if (same) {
            t.index = index;
            return t;
        }
    }
    return fail(ErrorKind::kNotFound, "no token index after the token table lists its offsets");
}

struct Markers {
    std::uint64_t address = 0;
    std::uint64_t count = 0;
    std::uint64_t last = 0;    // markers[count-1]
    std::uint64_t second = 0;  // markers[1]
    std::uint64_t seqs = 0;    // kallsyms_seqs_of_names between them and the token table, or 0
};

// Markers that end at the token table: 0 first (8-aligned), each >= 512 above the one before,
// then either the token table (after alignment) or, as 6.2 and 6.1 stable lay it out,
// kallsyms_seqs_of_names (3 bytes per symbol) and then the token table. At least two markers
// (every kernel has more than 256 symbols). Nearest first, at most kMaxCandidates.
std::vector<Markers> markers_before(const Window& w, std::uint64_t table, unsigned width) {
    constexpr std::size_t kMaxCandidates = 16;
    std::vector<Markers> out;
    if (table < w.base + 2 * width) return out;
    for (std::uint64_t start = (table - 2 * width) & ~std::uint64_t{7};
         start >= w.base && out.size() < kMaxCandidates;
         start -= 8) {
        if (w.uint(start, width) != 0) continue;
        std::vector<std::uint64_t> run{0};
        for (std::uint64_t p = start + width;
             p + width <= table && w.has(p, width) && run.size() < kMaxMarkers;
             p += width) {
            const std::uint64_t v = w.uint(p, width);
            if (v <= run.back() || v - run.back() < kMinBlock) break;
            run.push_back(v);
        }
        // The run may go on into the bytes after the markers: each length of it is a candidate.
        for (std::uint64_t count = run.size(); count >= 2 && out.size() < kMaxCandidates; --count) {
            const std::uint64_t after = align_up(start + width * count, 8);
            const std::uint64_t gap = table - after;
            Markers m{.address = start, .count = count, .last = run[count - 1], .second = run[1]};
            if (gap == 0) {
                out.push_back(m);
            } else if (width == 4) {
                // 3n <= gap < 3n + 8 for a symbol count n that needs exactly `count` markers
                const std::uint64_t n_hi = std::min(gap / 3, count * 256);
                const std::uint64_t n_lo =
                    std::max(gap >= 7 ? (gap - 5) / 3 : 0, (count - 1) * 256 + 1);
                if (n_lo <= n_hi) {
                    m.seqs = after;
                    out.push_back(m);
                }
            }
        }
        if (start < w.base + 8) break;
    }
    return out;
}

// Walks n names from `at` (length-prefixed, 6.1's two-byte lengths); where they end.
std::optional<std::uint64_t> walk_names(const Window& w, std::uint64_t at, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
        if (!w.has(at, 1)) return std::nullopt;
        std::uint64_t len = w.u8(at++);
        if (len & 0x80) {
            if (!w.has(at, 1)) return std::nullopt;
            len = (len & 0x7f) | (std::uint64_t{w.u8(at++)} << 7);
        }
        if (len == 0 || !w.has(at, len)) return std::nullopt;
        at += len;
    }
    return at;
}

struct NamesFound {
    std::uint64_t num_syms = 0;  // address of kallsyms_num_syms
    std::uint64_t names = 0;
    std::uint32_t count = 0;
};

// The names (and the count before them) that end at the markers.
std::optional<NamesFound> names_before(dump::VirtualMemory& mem, const Markers& m) {
    if (m.address < m.last + kMaxBlock + 16 + 8) return std::nullopt;  // no room for the names
    // The last block of <= 256 names starts within kMaxBlock of the markers.
    Window tail = read_range(mem, m.address - kMaxBlock - 16, m.address);
    Window head;
    for (std::uint64_t block = m.address - kMinBlock / 256; block + kMaxBlock + 16 > m.address;
         --block) {
        if (block < m.last + 8) break;
        const std::uint64_t names = block - m.last;
        if (names % 8 != 0) continue;
        if (!tail.has(block, 1)) break;
        if (!head.has(names - 8, 8))
            head = read_range(mem, names - 8 - kMaxBlock, names + kMaxBlock);
        if (!head.has(names - 8, 4)) continue;
        const std::uint64_t count = head.uint(names - 8, 4);
        if (count <= (m.count - 1) * 256 || count > m.count * 256) continue;
        auto end = walk_names(tail, block, count - (m.count - 1) * 256);
        if (!end || *end > m.address || m.address - *end >= 8) continue;
        if (m.count >= 2) {
            auto first = walk_names(head, names, 256);
            if (!first || *first != names + m.second) continue;
        }
        return NamesFound{
            .num_syms = names - 8, .names = names, .count = static_cast<std::uint32_t>(count)};
    }
    return std::nullopt;
}

// Where the offsets (or addresses) may be, for both layouts; likeliest first.
std::vector<KallsymsLocation> address_tables(dump::VirtualMemory& mem,
                                             const TokenTable& t,
                                             const NamesFound& n,
                                             std::uint64_t stext) {
    std::vector<KallsymsLocation> out;
    KallsymsLocation base;
    base.names = n.names;
    base.num_syms = n.num_syms;
    base.token_table = t.table;
    base.token_index = t.index;
    base.stext = stext;
    auto kernel_word = [&](std::uint64_t at) {
        auto v = mem.read_u64(at);
        return v && is_kernel_address(*v);
    };
    const std::uint64_t offsets_len = align_up(std::uint64_t{n.count} * 4, 8);
    // Before 6.4: [offsets][relative_base][num_syms].
    if (n.num_syms >= 8 + offsets_len && kernel_word(n.num_syms - 8)) {
        KallsymsLocation l = base;
        l.relative_base = n.num_syms - 8;
        l.offsets = l.relative_base - offsets_len;
        out.push_back(l);
    }
    // 6.4+: [token_index][offsets][relative_base]; 7.0+ without relative_base.
    {
        KallsymsLocation l = base;
        l.offsets = align_up(t.index + 512, 8);
        if (kernel_word(l.offsets + offsets_len)) {
            l.relative_base = l.offsets + offsets_len;
            out.push_back(l);
        }
        l.relative_base = 0;
        out.push_back(l);
    }
    // Old kernels without base-relative offsets: [addresses][num_syms].
    if (n.num_syms >= std::uint64_t{n.count} * 8 && kernel_word(n.num_syms - 8)) {
        KallsymsLocation l = base;
        l.addresses = n.num_syms - std::uint64_t{n.count} * 8;
        out.push_back(l);
    }
    return out;
}

}  // namespace

Result<KallsymsScanResult> find_kallsyms_tables(dump::VirtualMemory& mem,
                                                const KallsymsScan& scan) {
    if (scan.end <= scan.start)
        return fail(ErrorKind::kNotFound, "kallsyms scan: the image range is empty");
    const std::uint64_t end = std::min(scan.end, scan.start + scan.max_bytes);
    KallsymsScanResult out;
    int why_stage = 0;  // the furthest step a hit reached: its failure is the one to report
    std::string why = "no digit tokens (\"0\\0\" ... \"9\\0\") in the image";
    const std::string_view needle(kDigitTokens.data(), kDigitTokens.size());
    // Backwards from the end: the tables sit at the end of .rodata, nearer .data than the text.
    for (std::uint64_t hi = end; hi > scan.start;) {
        const std::uint64_t lo = hi - scan.start > kChunk ? hi - kChunk : scan.start;
        Window w = read_range(mem, lo, std::min(end, hi + needle.size()));
        out.bytes_scanned += hi - lo;
        const std::string_view text(reinterpret_cast<const char*>(w.bytes.data()), w.bytes.size());
        for (std::size_t at = text.find(needle); at != std::string_view::npos;
             at = text.find(needle, at + 1)) {
            auto t = token_table_at(mem, w.base + at);
            if (!t) {
                if (why_stage <= 1)
                    why = fmt::format(
                        "digit tokens at {:#x}, but {}", w.base + at, t.error().message);
                why_stage = 1;
                continue;
            }
            out.token_table = t->table;
            Window before =
                read_range(mem, t->table - std::min(t->table, kMarkersWindow), t->table);
            bool any_markers = false;
            for (unsigned width : {4u, 8u}) {
                for (const Markers& m : markers_before(before, t->table, width)) {
                    any_markers = true;
                    auto n = names_before(mem, m);
                    if (!n) continue;
                    if (m.seqs) {
                        const std::uint64_t gap = t->table - m.seqs;
                        if (gap < 3ull * n->count || gap >= 3ull * n->count + 8) continue;
                    }
                    out.candidates = address_tables(mem, *t, *n, scan.stext);
                    return out;
                }
            }
            why_stage = 2;
            why = fmt::format("a token table at {:#x}, but {}",
                              t->table,
                              any_markers ? "no names and symbol count end at its markers"
                                          : "no markers (0, rising) end at it");
        }
        hi = lo;
    }
    return fail(ErrorKind::kNotFound,
                fmt::format("kallsyms scan of {:#x}-{:#x}: {}", scan.start, end, why));
}

Result<SymbolTable> load_kallsyms_by_scan(dump::VirtualMemory& mem,
                                          const KallsymsScan& scan,
                                          const KallsymsLimits& limits) {
    auto found = find_kallsyms_tables(mem, scan);
    if (!found) return std::unexpected(found.error());
    std::string tried;
    for (const auto& where : found->candidates) {
        auto table = load_kallsyms(mem, where, limits);
        if (table) return table;
        tried += fmt::format("; {}", table.error().message);
    }
    return fail(
        ErrorKind::kBadData,
        fmt::format(
            "kallsyms tables at {:#x}, but no offsets table decodes{}", found->token_table, tried));
}

}  // namespace lockhound::debuginfo
