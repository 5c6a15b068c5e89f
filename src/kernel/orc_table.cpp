#include "kernel/orc_table.h"

#include <algorithm>
#include <numeric>

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
    ByteReader ipr(ip_bytes);
    ByteReader orr(orc_bytes);
    for (std::size_t i = 0; i < n; ++i) {
        std::int32_t rel = ipr.i32(i * 4).value_or(0);
        t.ips_[i] =
            ip_table_addr + i * 4 + static_cast<std::uint64_t>(static_cast<std::int64_t>(rel));
        t.entries_[i] = decode_orc_entry(orr.le<std::int16_t>(i * kOrcEntrySize).value_or(0),
                                         orr.le<std::int16_t>((i * kOrcEntrySize) + 2).value_or(0),
                                         orr.u16((i * kOrcEntrySize) + 4).value_or(0),
                                         format);
    }
    t.sort_if_needed();
    t.end_ = t.ips_.back() + 1;
    return t;
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
    t.end_ = t.ips_.back() + 1;
    return t;
}

void OrcTable::sort_if_needed() {
    auto weak = [](const OrcEntry& e) { return e.type == OrcType::kUndefined; };
    bool sorted = true;
    for (std::size_t i = 1; i < ips_.size() && sorted; ++i) {
        if (ips_[i - 1] > ips_[i]) sorted = false;
        // A terminator after a real entry at the same IP would hide it.
        if (ips_[i - 1] == ips_[i] && !weak(entries_[i - 1]) && weak(entries_[i])) sorted = false;
    }
    if (sorted) return;
    std::vector<std::size_t> order(ips_.size());
    // NOLINTNEXTLINE(modernize-use-ranges): libstdc++ 12 has no std::ranges::iota
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::ranges::stable_sort(order, [&](std::size_t a, std::size_t b) {
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
    if (ips_.empty() || text_end <= text_start) return false;
    const std::uint64_t blocks = ((text_end - text_start) / kLookupBlockSize) + 1;
    // A bound against absurd text ranges from untrusted symbols (1 GiB of text at most).
    if (blocks > (1ull << 30) / kLookupBlockSize + 1) return false;
    std::vector<std::uint32_t> lookup;
    if (words.empty()) {
        lookup.resize(blocks + 1);
        for (std::uint64_t i = 0; i <= blocks; ++i) {
            std::size_t idx =
                rightmost_at_or_below(ips_, 0, ips_.size(), text_start + (i * kLookupBlockSize));
            lookup[i] = idx == ips_.size() ? 0 : static_cast<std::uint32_t>(idx);
        }
    } else {
        if (words.size() < blocks) return false;
        lookup.assign(words.begin(), words.end());
        // Validate: non-decreasing, in range, and each block's first candidate really is at or
        // below the block's start (else the narrowed search could miss the right entry).
        for (std::size_t i = 0; i < lookup.size(); ++i) {
            if (lookup[i] >= ips_.size()) return false;
            if (i > 0 && lookup[i] < lookup[i - 1]) return false;
            std::uint64_t block_start = text_start + (i * kLookupBlockSize);
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
    if (ips_.empty() || ip < ips_.front() || ip >= end_) return nullptr;
    std::size_t lo = 0;
    std::size_t hi = ips_.size();
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
    auto pos = std::ranges::upper_bound(modules_, m.start, {}, &ModuleTable::start);
    modules_.insert(pos, std::move(m));
}

OrcTables::Found OrcTables::find(std::uint64_t ip) const {
    if (const OrcEntry* e = kernel_.find(ip)) return {e, &kernel_};
    auto it = std::ranges::upper_bound(modules_, ip, {}, &ModuleTable::start);
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
