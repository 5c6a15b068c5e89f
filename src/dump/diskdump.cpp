#include "dump/diskdump.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "base/byte_reader.h"

namespace lockhound::dump {

namespace {
constexpr char kSignature[] = "KDUMP   ";
constexpr std::uint64_t kUtsLen = 65;
constexpr std::uint64_t kUtsOffset = 12;
constexpr std::uint64_t kAfterTimestamp = 408 + 16;  // status follows the 8-aligned timeval
constexpr std::uint64_t kPageDescSize = 24;
constexpr std::uint64_t kSubHeaderSize = 104;  // kdump_sub_header up to max_mapnr_64 (v6)
constexpr std::uint32_t kFlagZlib = 0x1, kFlagLzo = 0x2, kFlagSnappy = 0x4, kFlagZstd = 0x20;
constexpr std::uint64_t kMaxPfns = 1ull << 36;  // 256 TiB of 4 KiB pages

std::string fixed_string(const ByteReader& r, std::uint64_t off, std::uint64_t len) {
    return std::string(r.cstring(off, len));
}
}  // namespace

bool DiskDump::looks_diskdump(const ByteSource& bytes) {
    std::array<std::byte, 8> sig{};
    if (!bytes.read(0, sig)) return false;
    return std::memcmp(sig.data(), kSignature, 8) == 0;
}

Result<std::unique_ptr<DiskDump>> DiskDump::open(const ByteSource& bytes) {
    std::array<std::byte, 464> raw{};
    if (!bytes.read(0, raw))
        return fail(ErrorKind::kTruncated, "file too short for a kdump-compressed header");
    ByteReader h(raw);
    if (std::memcmp(raw.data(), kSignature, 8) != 0)
        return fail(ErrorKind::kBadData, "not a kdump-compressed file");
    std::unique_ptr<DiskDump> dd(new DiskDump(bytes));
    DiskDumpHeader& hd = dd->header_;
    hd.header_version = *h.i32(8);
    hd.release = fixed_string(h, kUtsOffset + 2 * kUtsLen, kUtsLen);
    hd.machine = fixed_string(h, kUtsOffset + 4 * kUtsLen, kUtsLen);
    std::uint64_t o = kAfterTimestamp;
    hd.status = *h.u32(o);
    auto block_size = *h.i32(o + 4);
    auto sub_hdr_size = *h.i32(o + 8);
    hd.bitmap_blocks = *h.u32(o + 12);
    hd.max_mapnr = *h.u32(o + 16);
    hd.nr_cpus = *h.i32(o + 36);
    if (block_size < 1024 || block_size > (1 << 20) || (block_size & (block_size - 1)) != 0)
        return fail(ErrorKind::kBadData, fmt::format("implausible block size {}", block_size));
    if (sub_hdr_size < 0 || sub_hdr_size > 1024)
        return fail(ErrorKind::kBadData, "implausible sub-header size");
    hd.block_size = static_cast<std::uint32_t>(block_size);
    hd.sub_hdr_size = static_cast<std::uint32_t>(sub_hdr_size);
    const std::uint64_t bs = hd.block_size;

    // kdump_sub_header at block 1.
    std::array<std::byte, kSubHeaderSize> sub{};
    if (!bytes.read(bs, sub)) return fail(ErrorKind::kTruncated, "kdump sub-header is missing");
    ByteReader s(sub);
    hd.phys_base = *s.i64(0);
    hd.dump_level = *s.i32(8);
    if (hd.header_version >= 3) {
        std::uint64_t vi_off = *s.u64(32), vi_size = *s.u64(40);
        if (vi_size > 0 && vi_size < (16u << 20) && vi_off <= bytes.size() &&
            vi_size <= bytes.size() - vi_off) {
            std::string text(vi_size, '\0');
            if (bytes.read(vi_off, std::as_writable_bytes(std::span(text)))) dd->vmcoreinfo_ = text;
        }
    }
    if (hd.header_version >= 4) {
        std::uint64_t note_off = *s.u64(48), note_size = *s.u64(56);
        if (note_size > 0 && note_size < (64u << 20) && note_off <= bytes.size() &&
            note_size <= bytes.size() - note_off) {
            std::vector<std::byte> notes(note_size);
            if (bytes.read(note_off, notes)) dd->notes_ = parse_notes(notes);
        }
    }
    if (hd.header_version >= 6) {
        std::uint64_t max64 = *s.u64(96);
        if (max64 > hd.max_mapnr) hd.max_mapnr = max64;
    }
    if (dd->vmcoreinfo_.empty()) dd->vmcoreinfo_ = dd->notes_.vmcoreinfo;
    if (hd.max_mapnr == 0 || hd.max_mapnr > kMaxPfns)
        return fail(ErrorKind::kBadData, fmt::format("implausible page count {}", hd.max_mapnr));

    // Bitmaps: the first half says which pages exist, the second which were dumped.
    std::uint64_t bitmap_off = (1 + static_cast<std::uint64_t>(hd.sub_hdr_size)) * bs;
    std::uint64_t bitmap_len = static_cast<std::uint64_t>(hd.bitmap_blocks) * bs;
    if (bitmap_len == 0 || bitmap_len / 2 * 8 < hd.max_mapnr)
        return fail(ErrorKind::kBadData, "bitmaps are smaller than the page count");
    std::uint64_t words = (hd.max_mapnr + 63) / 64;
    if (words * 8 > bitmap_len / 2) return fail(ErrorKind::kBadData, "bitmap size mismatch");
    // Check the file holds the bitmaps before allocating for them (the sizes are untrusted).
    if (bitmap_off > bytes.size() || bitmap_len > bytes.size() - bitmap_off)
        return fail(ErrorKind::kTruncated, "the page bitmaps are cut off");
    dd->valid_bitmap_.resize(words);
    dd->dump_bitmap_.resize(words);
    if (!bytes.read(bitmap_off, std::as_writable_bytes(std::span(dd->valid_bitmap_))) ||
        !bytes.read(bitmap_off + bitmap_len / 2,
                    std::as_writable_bytes(std::span(dd->dump_bitmap_))))
        return fail(ErrorKind::kTruncated, "the page bitmaps are cut off");
    // Bits past max_mapnr must not count.
    if (hd.max_mapnr % 64) {
        std::uint64_t mask = (1ull << (hd.max_mapnr % 64)) - 1;
        dd->valid_bitmap_.back() &= mask;
        dd->dump_bitmap_.back() &= mask;
    }
    dd->rank_.resize(words);
    std::uint64_t count = 0;
    for (std::uint64_t i = 0; i < words; ++i) {
        dd->rank_[i] = count;
        count += static_cast<std::uint64_t>(std::popcount(dd->dump_bitmap_[i]));
        dd->valid_pages_ += static_cast<std::uint64_t>(std::popcount(dd->valid_bitmap_[i]));
    }
    dd->dumped_pages_ = count;
    while (dd->cache_sets_ < kMaxCacheSets && dd->cache_sets_ * kCacheWays < count)
        dd->cache_sets_ *= 2;
    dd->cache_.resize(dd->cache_sets_ * kCacheWays);
    dd->desc_offset_ = bitmap_off + bitmap_len;
    if (dd->desc_offset_ > bytes.size())
        return fail(ErrorKind::kTruncated, "the file ends before the page descriptors");
    return dd;
}

bool DiskDump::dumped(std::uint64_t pfn) const {
    if (pfn >= header_.max_mapnr) return false;
    return (dump_bitmap_[pfn / 64] >> (pfn % 64)) & 1;
}

std::uint64_t DiskDump::rank(std::uint64_t pfn) const {
    std::uint64_t w = pfn / 64, b = pfn % 64;
    std::uint64_t below = b ? (dump_bitmap_[w] & ((1ull << b) - 1)) : 0;
    return rank_[w] + static_cast<std::uint64_t>(std::popcount(below));
}

bool DiskDump::has_page(std::uint64_t paddr) const {
    return dumped(paddr / header_.block_size);
}

DiskDump::Slot* DiskDump::cached(std::uint64_t pfn) {
    Slot* set = &cache_[(pfn % cache_sets_) * kCacheWays];
    for (std::size_t w = 0; w < kCacheWays; ++w)
        if (set[w].pfn == pfn) {
            set[w].last_use = ++clock_;
            return &set[w];
        }
    return nullptr;
}

Result<const std::byte*> DiskDump::page(std::uint64_t pfn) {
    if (Slot* hit = cached(pfn)) return hit->data.get();
    const std::uint64_t bs = header_.block_size;
    Slot* set = &cache_[(pfn % cache_sets_) * kCacheWays];
    Slot* victim = set;
    for (std::size_t w = 0; w < kCacheWays; ++w)
        if (set[w].last_use < victim->last_use) victim = &set[w];
    Slot& slot = *victim;
    if (!slot.data) slot.data = std::make_unique_for_overwrite<std::byte[]>(bs);
    slot.pfn = ~0ull;
    auto r = decode(pfn, std::span(slot.data.get(), bs));
    if (!r) return std::unexpected(r.error());
    slot.pfn = pfn;
    slot.last_use = ++clock_;
    return slot.data.get();
}

Result<> DiskDump::decode(std::uint64_t pfn, std::span<std::byte> dest) {
    unsigned methods = 0;
    auto r = decode_page(pfn, dest, methods);
    seen_methods_ |= methods;
    if (r) ++pages_decoded_;
    return r;
}

Result<> DiskDump::decode_page(std::uint64_t pfn,
                               std::span<std::byte> dest,
                               unsigned& methods) const {
    const std::uint64_t bs = header_.block_size;
    if (!dumped(pfn))
        return fail_at(ErrorKind::kNotInDump,
                       pfn * bs,
                       "page is not in the dump (excluded or beyond the dumped range)");

    std::array<std::byte, kPageDescSize> d{};
    std::uint64_t desc_at = desc_offset_ + rank(pfn) * kPageDescSize;
    if (!bytes_.read(desc_at, d))
        return fail_at(ErrorKind::kNotInDump,
                       pfn * bs,
                       "the page descriptor is beyond the end of the file (truncated dump)");
    ByteReader pd(d);
    std::uint64_t offset = *pd.u64(0);
    std::uint32_t size = *pd.u32(8), flags = *pd.u32(12);
    // An all-zero descriptor was never written: makedumpfile stopped early (the header's
    // DUMP_DH_COMPRESSED_INCOMPLETE) or the file has a hole there.
    if (offset == 0 && size == 0 && flags == 0)
        return fail_at(ErrorKind::kNotInDump,
                       pfn * bs,
                       "the page descriptor was never written (incomplete dump)");
    if (size == 0 || size > 2 * bs)
        return fail_at(
            ErrorKind::kBadData, pfn * bs, fmt::format("corrupt page descriptor (size {})", size));

    Compression method = Compression::kNone;
    if (flags & kFlagZlib)
        method = Compression::kZlib;
    else if (flags & kFlagLzo)
        method = Compression::kLzo;
    else if (flags & kFlagSnappy)
        method = Compression::kSnappy;
    else if (flags & kFlagZstd)
        method = Compression::kZstd;
    else if (size != bs)
        return fail_at(ErrorKind::kBadData, pfn * bs, "uncompressed page of the wrong size");
    methods |= 1u << static_cast<unsigned>(method);

    std::span<const std::byte> in = bytes_.view(offset, size);
    std::vector<std::byte> copy;
    if (in.empty()) {
        copy.resize(size);
        if (!bytes_.read(offset, copy))
            return fail_at(ErrorKind::kNotInDump,
                           pfn * bs,
                           "page data is beyond the end of the file (truncated dump)");
        in = copy;
    }
    auto r = decompress_page(method, in, dest);
    if (!r) {
        Error e = r.error();
        e.address = pfn * bs;
        e.has_address = true;
        e.kind = ErrorKind::kBadData;
        return std::unexpected(e);
    }
    return {};
}

Result<> DiskDump::read_pages(std::span<const std::uint64_t> paddrs,
                              std::size_t page_size,
                              std::span<std::byte> out,
                              std::size_t& failed) {
    const std::uint64_t bs = header_.block_size;
    const bool aligned = std::ranges::all_of(paddrs, [&](std::uint64_t p) { return p % bs == 0; });
    if (page_size != bs || !aligned || paddrs.size() < kParallelPages ||
        std::thread::hardware_concurrency() < 2)
        return PhysicalMemory::read_pages(paddrs, page_size, out, failed);
    // Cached pages are copied; the others are decoded, the second half on another thread.
    std::vector<std::size_t> todo;
    todo.reserve(paddrs.size());
    for (std::size_t i = 0; i < paddrs.size(); ++i) {
        if (Slot* hit = cached(paddrs[i] / bs))
            std::memcpy(out.data() + i * bs, hit->data.get(), bs);
        else
            todo.push_back(i);
    }
    struct Part {
        std::optional<std::size_t> failed_at;
        std::optional<Error> error;
        unsigned methods = 0;
        std::uint64_t decoded = 0;
    };
    auto run = [&](std::span<const std::size_t> indices, Part& part) {
        for (std::size_t i : indices) {
            auto r = decode_page(paddrs[i] / bs, out.subspan(i * bs, bs), part.methods);
            if (!r) {
                part.failed_at = i;
                part.error = r.error();
                return;
            }
            ++part.decoded;
        }
    };
    const std::span<const std::size_t> all(todo);
    const std::size_t half = todo.size() / 2;
    Part first, second;
    {
        std::jthread helper(run, all.subspan(half), std::ref(second));
        run(all.first(half), first);
    }
    seen_methods_ |= first.methods | second.methods;
    pages_decoded_ += first.decoded + second.decoded;
    // The first page that failed, in order: the first half's pages come first.
    for (Part* part : {&first, &second}) {
        if (part->error) {
            failed = *part->failed_at;
            return std::unexpected(*part->error);
        }
    }
    return {};
}

Result<> DiskDump::read_phys(std::uint64_t paddr, std::span<std::byte> out) {
    const std::uint64_t bs = header_.block_size;
    std::size_t done = 0;
    while (done < out.size()) {
        std::uint64_t at = paddr + done;
        // A whole page that is not cached (bulk reads: BTF, ORC, kallsyms tables) is decoded
        // straight into the caller's buffer and not cached: it would only evict pages that are
        // read again, and cost a copy.
        if (at % bs == 0 && out.size() - done >= bs && !cached(at / bs)) {
            // (decode's errors already carry this page's address)
            if (auto r = decode(at / bs, out.subspan(done, bs)); !r) return r;
            done += bs;
            continue;
        }
        auto p = page(at / bs);
        if (!p) {
            Error e = p.error();
            e.address = at;
            return std::unexpected(e);
        }
        std::uint64_t in_page = at % bs;
        std::size_t n = std::min<std::size_t>(out.size() - done, bs - in_page);
        std::memcpy(out.data() + done, *p + in_page, n);
        done += n;
    }
    return {};
}

std::string DiskDump::compression_summary() const {
    std::string s;
    auto add = [&](Compression c) {
        if (!s.empty()) s += "+";
        s += to_string(c);
    };
    unsigned m = seen_methods_;
    if (!m) {
        if (header_.status & kFlagZlib) add(Compression::kZlib);
        if (header_.status & kFlagLzo) add(Compression::kLzo);
        if (header_.status & kFlagSnappy) add(Compression::kSnappy);
        if (header_.status & kFlagZstd) add(Compression::kZstd);
        return s.empty() ? "uncompressed" : s;
    }
    for (auto c : {Compression::kZlib,
                   Compression::kLzo,
                   Compression::kSnappy,
                   Compression::kZstd,
                   Compression::kNone})
        if (m & (1u << static_cast<unsigned>(c))) add(c);
    return s;
}

}  // namespace lockhound::dump
