#include "dump/flattened_source.h"

#include <array>
#include <cstring>

#include <fmt/format.h>

#include "base/byte_reader.h"

namespace lockhound::dump {

namespace {
constexpr std::uint64_t kHeaderSize = 4096;
constexpr std::array<char, 13> kSignature = {"makedumpfile"};
constexpr std::uint64_t kMaxRecords = 1ull << 26;
}  // namespace

bool FlattenedSource::looks_flattened(const ByteSource& raw) {
    std::array<std::byte, 16> sig{};
    if (!raw.read(0, sig)) return false;
    return std::memcmp(sig.data(), kSignature.data(), kSignature.size()) == 0;
}

void FlattenedSource::paint(std::uint64_t start, std::uint64_t end, std::uint64_t file_pos) {
    // Trim or split every piece overlapping [start, end), then insert the new one.
    auto it = pieces_.lower_bound(start);
    if (it != pieces_.begin()) {
        auto prev = std::prev(it);
        if (prev->second.end > start) {
            Piece tail = prev->second;
            std::uint64_t tail_start = end;
            prev->second.end = start;
            if (tail.end > end)
                pieces_[tail_start] = Piece{tail.end, tail.file_pos + (tail_start - prev->first)};
        }
    }
    it = pieces_.lower_bound(start);
    while (it != pieces_.end() && it->first < end) {
        if (it->second.end > end) {
            Piece rest{it->second.end, it->second.file_pos + (end - it->first)};
            pieces_.erase(it);
            pieces_[end] = rest;
            break;
        }
        it = pieces_.erase(it);
    }
    pieces_[start] = Piece{end, file_pos};
}

Result<std::unique_ptr<FlattenedSource>> FlattenedSource::open(std::unique_ptr<ByteSource> raw) {
    if (!looks_flattened(*raw))
        return fail(ErrorKind::kBadData, "not a flattened makedumpfile stream");
    std::unique_ptr<FlattenedSource> src(new FlattenedSource(std::move(raw)));
    const ByteSource& r = *src->raw_;
    std::uint64_t pos = kHeaderSize;
    std::uint64_t records = 0;
    bool ended = false;
    while (pos + 16 <= r.size()) {
        std::array<std::byte, 16> hdr{};
        if (!r.read(pos, hdr)) break;
        ByteReader br(hdr);
        auto off = static_cast<std::int64_t>(br.be<std::uint64_t>(0).value_or(0));
        auto len = static_cast<std::int64_t>(br.be<std::uint64_t>(8).value_or(0));
        if (off < 0 || len < 0) {  // END_FLAG_FLAT_HEADER
            ended = true;
            break;
        }
        pos += 16;
        auto ulen = static_cast<std::uint64_t>(len);
        auto uoff = static_cast<std::uint64_t>(off);
        if (uoff > (1ull << 52) || ulen > (1ull << 52))
            return fail_at(ErrorKind::kBadData, pos - 16, "flattened record offset is implausible");
        if (++records > kMaxRecords) return fail(ErrorKind::kLimit, "too many flattened records");
        // A record cut off by the end of the file (a truncated stream) keeps the bytes it has.
        std::uint64_t have = std::min(ulen, r.size() - pos);
        if (have > 0) {
            src->paint(uoff, uoff + have, pos);
            src->size_ = std::max(src->size_, uoff + have);
        }
        if (have < ulen) break;
        pos += ulen;
    }
    if (src->pieces_.empty()) return fail(ErrorKind::kTruncated, "flattened stream holds no data");
    // Without the end marker the stream was cut short; what was read is still usable.
    src->truncated_ = !ended;
    return src;
}

Result<> FlattenedSource::read(std::uint64_t offset, std::span<std::byte> out) const {
    std::size_t done = 0;
    while (done < out.size()) {
        std::uint64_t at = offset + done;
        auto it = pieces_.upper_bound(at);
        if (it == pieces_.begin())
            return fail_at(ErrorKind::kTruncated, at, "offset not in the flattened stream");
        --it;
        if (at >= it->second.end)
            return fail_at(ErrorKind::kTruncated, at, "offset not in the flattened stream");
        std::uint64_t n = std::min<std::uint64_t>(out.size() - done, it->second.end - at);
        auto r = raw_->read(it->second.file_pos + (at - it->first), out.subspan(done, n));
        if (!r) return r;
        done += n;
    }
    return {};
}

std::span<const std::byte> FlattenedSource::view(std::uint64_t offset, std::uint64_t len) const {
    auto it = pieces_.upper_bound(offset);
    if (it == pieces_.begin()) return {};
    --it;
    if (offset >= it->second.end || len > it->second.end - offset) return {};
    return raw_->view(it->second.file_pos + (offset - it->first), len);
}

}  // namespace lockhound::dump
