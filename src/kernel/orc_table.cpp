#include "kernel/orc_table.h"

#include <algorithm>
#include <array>
#include <numeric>
#include <unordered_map>

#include <fmt/format.h>

#include "base/byte_reader.h"

namespace lockhound::kernel {
namespace {

constexpr std::uint64_t kLookupBlockSize = 256;  // LOOKUP_BLOCK_ORDER 8

// Index of the last IP <= ip in ips[lo, hi), or hi when there is none.
std::size_t rightmost_at_or_below(const std::vector<std::uint64_t>& ips,
                                  std::size_t lo,
                                  std::size_t hi,
                                  std::uint64_t ip) {
    auto it = std::upper_bound(ips.begin() + static_cast<std::ptrdiff_t>(lo),
                               ips.begin() + static_cast<std::ptrdiff_t>(hi),
                               ip);
    if (it == ips.begin() + static_cast<std::ptrdiff_t>(lo)) return hi;
    return static_cast<std::size_t>(it - ips.begin()) - 1;
}

// Entries [first, first + n) of a raw table: IPs made absolute (the IP table is self-relative,
// starting at ip_table_addr) and entries decoded.
class RawDecoder {
  public:
    explicit RawDecoder(OrcFormat format) : format_(format) {}
    void decode(std::uint64_t ip_table_addr,
                std::size_t first,
                std::span<const std::byte> ip_bytes,
                std::span<const std::byte> orc_bytes,
                std::uint64_t* ips,
                OrcEntry* entries) {
        ByteReader ipr(ip_bytes);
        ByteReader orr(orc_bytes);
        const std::size_t n = ip_bytes.size() / 4;
        for (std::size_t i = 0; i < n; ++i) {
            std::int32_t rel = ipr.i32(i * 4).value_or(0);
            ips[i] = ip_table_addr + (first + i) * 4 +
                     static_cast<std::uint64_t>(static_cast<std::int64_t>(rel));
            std::uint16_t bits = orr.u16(i * kOrcEntrySize + 4).value_or(0);
            Memo& m = memo_[(bits ^ (bits >> 8)) & 0xff];
            if (m.bits != bits) m = {bits, decode_orc_entry(0, 0, bits, format_)};
            OrcEntry e = m.entry;
            e.sp_offset = orr.le<std::int16_t>(i * kOrcEntrySize).value_or(0);
            e.bp_offset = orr.le<std::int16_t>(i * kOrcEntrySize + 2).value_or(0);
            entries[i] = e;
        }
    }

  private:
    // The flag bits take few distinct values: decode each once (a direct-mapped memo).
    struct Memo {
        std::uint32_t bits = ~0u;
        OrcEntry entry;
    };
    OrcFormat format_;
    std::array<Memo, 256> memo_{};
};

bool weak(const OrcEntry& e) {
    return e.type == OrcType::kUndefined;
}

// a before b in a sorted table: IPs rise, and a terminator comes first among equal IPs (after a
// real entry it would hide it).
bool in_order(std::uint64_t ip_a, const OrcEntry& a, std::uint64_t ip_b, const OrcEntry& b) {
    return ip_a < ip_b || (ip_a == ip_b && !(!weak(a) && weak(b)));
}

constexpr std::size_t kChunk = 1024;  // entries per on-demand read: 4 KiB of IPs, 6 KiB of entries

}  // namespace

Result<OrcTable> OrcTable::from_raw(std::uint64_t ip_table_addr,
                                    std::span<const std::byte> ip_bytes,
                                    std::span<const std::byte> orc_bytes,
                                    OrcFormat format,
                                    std::string name) {
    if (ip_bytes.size() % 4 != 0 || orc_bytes.size() % kOrcEntrySize != 0)
        return fail(ErrorKind::kBadData,
                    fmt::format("{}: ORC table sizes {} / {} are not multiples of 4 / 6",
                                name,
                                ip_bytes.size(),
                                orc_bytes.size()));
    const std::size_t n = ip_bytes.size() / 4;
    if (n == 0) return fail(ErrorKind::kBadData, fmt::format("{}: empty ORC table", name));
    if (orc_bytes.size() / kOrcEntrySize != n)
        return fail(
            ErrorKind::kBadData,
            fmt::format(
                "{}: {} ORC IPs but {} ORC entries", name, n, orc_bytes.size() / kOrcEntrySize));
    OrcTable t;
    t.name_ = std::move(name);
    t.format_ = format;
    t.ips_.resize(n);
    t.entries_.resize(n);
    RawDecoder(format).decode(
        ip_table_addr, 0, ip_bytes, orc_bytes, t.ips_.data(), t.entries_.data());
    t.sort_if_needed();
    t.first_ip_ = t.ips_.front();
    t.end_ = t.ips_.back() + 1;
    return t;
}

// The on-demand state: chunks of decoded IPs and entries, read when a lookup needs them.
struct OrcTable::Lazy {
    struct Chunk {
        bool ok = false;
        std::vector<std::uint64_t> ips;
        std::vector<OrcEntry> entries;
    };

    OrcMemoryReader read;
    std::uint64_t ip_table = 0;
    std::uint64_t orc_table = 0;
    std::size_t n = 0;
    RawDecoder decoder;
    std::unordered_map<std::size_t, Chunk> chunks;  // node-based: entry pointers stay valid
    bool out_of_order = false;
    std::unique_ptr<OrcTable> full;  // the whole table, read and sorted once out of order
    bool full_failed = false;
    std::string name;

    Lazy(OrcMemoryReader r, std::uint64_t ip, std::uint64_t orc, std::size_t count, OrcFormat f)
        : read(std::move(r)), ip_table(ip), orc_table(orc), n(count), decoder(f) {}

    const Chunk& chunk(std::size_t c) {
        auto [it, fresh] = chunks.try_emplace(c);
        Chunk& ch = it->second;
        if (!fresh) return ch;
        const std::size_t first = c * kChunk;
        const std::size_t count = std::min(kChunk, n - first);
        std::vector<std::byte> ipb(count * 4), orcb(count * kOrcEntrySize);
        if (!read(ip_table + first * 4, ipb) || !read(orc_table + first * kOrcEntrySize, orcb))
            return ch;
        ch.ips.resize(count);
        ch.entries.resize(count);
        decoder.decode(ip_table, first, ipb, orcb, ch.ips.data(), ch.entries.data());
        ch.ok = true;
        for (std::size_t i = 1; i < count && !out_of_order; ++i)
            if (!in_order(ch.ips[i - 1], ch.entries[i - 1], ch.ips[i], ch.entries[i]))
                out_of_order = true;
        return ch;
    }
    std::optional<std::uint64_t> ip(std::size_t i) {
        const Chunk& ch = chunk(i / kChunk);
        if (!ch.ok) return std::nullopt;
        return ch.ips[i % kChunk];
    }
    const OrcEntry* entry(std::size_t i) {
        const Chunk& ch = chunk(i / kChunk);
        return ch.ok ? &ch.entries[i % kChunk] : nullptr;
    }
    // The whole table, once a chunk was out of order (nullptr if it cannot be read).
    const OrcTable* whole(OrcFormat format) {
        if (full || full_failed) return full.get();
        std::vector<std::byte> ipb(n * 4), orcb(n * kOrcEntrySize);
        auto t = read(ip_table, ipb) && read(orc_table, orcb)
                     ? OrcTable::from_raw(ip_table, ipb, orcb, format, name)
                     : Result<OrcTable>(fail(ErrorKind::kNotFound, "unreadable"));
        if (t) full = std::make_unique<OrcTable>(std::move(*t));
        full_failed = !t;
        return full.get();
    }
    // Index of the last IP <= ip in [lo, hi), hi when there is none; nullopt when unreadable.
    std::optional<std::size_t> rightmost(std::size_t lo, std::size_t hi, std::uint64_t ip) {
        std::size_t a = lo, b = hi;  // the answer's successor is in [a, b]
        while (a < b) {
            std::size_t mid = a + (b - a) / 2;
            auto v = this->ip(mid);
            if (!v) return std::nullopt;
            if (*v <= ip)
                a = mid + 1;
            else
                b = mid;
        }
        return a == lo ? hi : a - 1;
    }
};

Result<OrcTable> OrcTable::on_demand(std::uint64_t ip_table_addr,
                                     std::uint64_t orc_table_addr,
                                     std::size_t n,
                                     OrcFormat format,
                                     std::string name,
                                     OrcMemoryReader read) {
    if (n == 0) return fail(ErrorKind::kBadData, fmt::format("{}: empty ORC table", name));
    OrcTable t;
    t.name_ = name;
    t.format_ = format;
    t.lazy_ = std::make_shared<Lazy>(std::move(read), ip_table_addr, orc_table_addr, n, format);
    t.lazy_->name = std::move(name);
    t.lazy_size_ = n;
    auto first = t.lazy_->ip(0);
    auto last = t.lazy_->ip(n - 1);
    if (!first || !last)
        return fail_at(
            ErrorKind::kNotFound,
            ip_table_addr,
            fmt::format("{}: the ORC IP table's first or last chunk is not in the dump", t.name_));
    t.first_ip_ = *first;
    t.end_ = *last + 1;
    return t;
}

void OrcTable::set_lookup_words_at(std::uint64_t text_start,
                                   std::uint64_t text_end,
                                   std::uint64_t address,
                                   std::size_t words) {
    if (text_end <= text_start) return;
    end_ = std::max(end_, text_end);
    if (address == 0 || words < (text_end - text_start) / kLookupBlockSize + 1) return;
    lookup_start_ = text_start;
    lookup_end_ = text_end;
    lookup_address_ = address;
    lookup_words_ = words;
}

std::uint64_t OrcTable::ip_at(std::size_t i) const {
    if (!lazy_) return ips_[i];
    return lazy_->ip(i).value_or(0);
}

const OrcEntry& OrcTable::entry_at(std::size_t i) const {
    if (!lazy_) return entries_[i];
    static const OrcEntry kUnreadable{};
    const OrcEntry* e = lazy_->entry(i);
    return e ? *e : kUnreadable;
}

std::size_t OrcTable::chunks_read() const {
    return lazy_ ? lazy_->chunks.size() : 0;
}

const OrcEntry* OrcTable::find_on_demand(std::uint64_t ip) const {
    Lazy& z = *lazy_;
    // An unsorted table is answered from the whole table, sorted; binary searches over the
    // chunks could be wrong, so none at all when it cannot be read.
    auto from_whole = [&]() -> const OrcEntry* {
        const OrcTable* whole = z.whole(format_);
        return whole ? whole->find(ip) : nullptr;
    };
    if (z.out_of_order) return from_whole();
    if (ip < first_ip_ || ip >= end_) return nullptr;
    const std::size_t n = z.n;
    std::size_t lo = 0, hi = n;
    bool narrowed = false;
    if (lookup_words_ && ip >= lookup_start_ && ip < lookup_end_) {
        std::uint64_t idx = (ip - lookup_start_) / kLookupBlockSize;
        std::array<std::byte, 8> w{};
        if (idx + 1 < lookup_words_ && z.read(lookup_address_ + idx * 4, w)) {
            ByteReader r(w);
            std::uint32_t start = r.u32(0).value_or(0), stop = r.u32(4).value_or(0);
            if (start <= stop && stop < n) {
                lo = start;
                hi = std::min<std::size_t>(n, std::size_t{stop} + 1);
                narrowed = true;
            }
        }
    }
    auto i = z.rightmost(lo, hi, ip);
    if (!i) return nullptr;
    if (narrowed) {
        // The narrowed range must bracket ip: entry i at or below it, the next one above it.
        bool brackets = *i != hi;
        if (brackets && *i + 1 < n) {
            auto next = z.ip(*i + 1);
            brackets = next && *next > ip;
        }
        if (!brackets) i = z.rightmost(0, n, ip);
        if (!i) return nullptr;
    }
    if (*i == n) return nullptr;  // no IP at or below ip
    const OrcEntry* e = z.entry(*i);
    return z.out_of_order ? from_whole() : e;  // this lookup may have found the table unsorted
}

Result<OrcTable> OrcTable::from_entries(std::vector<std::uint64_t> ips,
                                        std::vector<OrcEntry> entries,
                                        std::string name) {
    if (ips.empty() || ips.size() != entries.size())
        return fail(ErrorKind::kBadData,
                    fmt::format("{}: {} ORC IPs but {} entries", name, ips.size(), entries.size()));
    OrcTable t;
    t.name_ = std::move(name);
    t.ips_ = std::move(ips);
    t.entries_ = std::move(entries);
    t.sort_if_needed();
    t.first_ip_ = t.ips_.front();
    t.end_ = t.ips_.back() + 1;
    return t;
}

void OrcTable::sort_if_needed() {
    bool sorted = true;
    for (std::size_t i = 1; i < ips_.size() && sorted; ++i)
        sorted = in_order(ips_[i - 1], entries_[i - 1], ips_[i], entries_[i]);
    if (sorted) return;
    std::vector<std::size_t> order(ips_.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (ips_[a] != ips_[b]) return ips_[a] < ips_[b];
        return weak(entries_[a]) && !weak(entries_[b]);
    });
    std::vector<std::uint64_t> ips(ips_.size());
    std::vector<OrcEntry> entries(entries_.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        ips[i] = ips_[order[i]];
        entries[i] = entries_[order[i]];
    }
    ips_ = std::move(ips);
    entries_ = std::move(entries);
}

bool OrcTable::set_lookup_blocks(std::uint64_t text_start,
                                 std::uint64_t text_end,
                                 std::span<const std::uint32_t> words) {
    lookup_.clear();
    if (lazy_) return false;  // on demand: set_lookup_words_at()
    if (ips_.empty() || text_end <= text_start) return false;
    const std::uint64_t blocks = (text_end - text_start) / kLookupBlockSize + 1;
    // A bound against absurd text ranges from untrusted symbols (1 GiB of text at most).
    if (blocks > (1ull << 30) / kLookupBlockSize + 1) return false;
    std::vector<std::uint32_t> lookup;
    if (words.empty()) {
        // Block starts rise: one sweep finds each block's last IP at or below its start (what a
        // binary search per block would), or 0 when there is none.
        lookup.resize(blocks + 1);
        std::size_t j = 0;
        for (std::uint64_t i = 0; i <= blocks; ++i) {
            const std::uint64_t at = text_start + i * kLookupBlockSize;
            while (j + 1 < ips_.size() && ips_[j + 1] <= at) ++j;
            lookup[i] = ips_[j] <= at ? static_cast<std::uint32_t>(j) : 0;
        }
    } else {
        if (words.size() < blocks) return false;
        lookup.assign(words.begin(), words.end());
        // Validate: non-decreasing, in range, and each block's first candidate really is at or
        // below the block's start (else the narrowed search could miss the right entry).
        for (std::size_t i = 0; i < lookup.size(); ++i) {
            if (lookup[i] >= ips_.size()) return false;
            if (i > 0 && lookup[i] < lookup[i - 1]) return false;
            std::uint64_t block_start = text_start + i * kLookupBlockSize;
            if (lookup[i] > 0 && ips_[lookup[i]] > block_start) return false;
            // (The last word is for _etext, which may lie before its block's start.)
            if (i + 1 < lookup.size() && lookup[i] + 1 < ips_.size() &&
                ips_[lookup[i] + 1] <= block_start)
                return false;
        }
    }
    lookup_ = std::move(lookup);
    lookup_start_ = text_start;
    lookup_end_ = text_end;
    end_ = std::max(end_, text_end);
    return true;
}

const OrcEntry* OrcTable::find(std::uint64_t ip) const {
    if (lazy_) return find_on_demand(ip);
    if (ips_.empty() || ip < ips_.front() || ip >= end_) return nullptr;
    std::size_t lo = 0, hi = ips_.size();
    if (!lookup_.empty() && ip >= lookup_start_ && ip < lookup_end_) {
        std::uint64_t idx = (ip - lookup_start_) / kLookupBlockSize;
        if (idx + 1 < lookup_.size()) {
            lo = lookup_[idx];
            hi = std::min<std::size_t>(ips_.size(), std::size_t{lookup_[idx + 1]} + 1);
        }
    }
    std::size_t i = rightmost_at_or_below(ips_, lo, hi, ip);
    if (i == hi) {
        if (lo == 0) return nullptr;
        i = rightmost_at_or_below(ips_, 0, ips_.size(), ip);  // the narrowed range missed it
        if (i == ips_.size()) return nullptr;
    }
    return &entries_[i];
}

void OrcTables::add_module(OrcTable table, std::uint64_t text_start, std::uint64_t text_end) {
    if (table.empty()) return;
    if (text_end <= text_start) {
        text_start = table.first_ip();
        text_end = table.end();
    }
    // The last entry covers up to the end of the module's text.
    table.set_end(std::max(table.end(), text_end));
    ModuleTable m{std::move(table), text_start, text_end};
    auto pos = std::upper_bound(
        modules_.begin(), modules_.end(), m.start, [](std::uint64_t s, const ModuleTable& x) {
            return s < x.start;
        });
    modules_.insert(pos, std::move(m));
}

OrcTables::Found OrcTables::find(std::uint64_t ip) const {
    if (const OrcEntry* e = kernel_.find(ip)) return {e, &kernel_};
    auto it = std::upper_bound(
        modules_.begin(), modules_.end(), ip, [](std::uint64_t a, const ModuleTable& x) {
            return a < x.start;
        });
    // Module ranges do not overlap, but be tolerant: look at a few candidates below ip.
    for (int k = 0; k < 4 && it != modules_.begin(); ++k) {
        --it;
        if (ip >= it->start && ip < it->end) {
            if (const OrcEntry* e = it->table.find(ip)) return {e, &it->table};
        }
    }
    return {};
}

}  // namespace lockhound::kernel
