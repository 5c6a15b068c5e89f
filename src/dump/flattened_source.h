// FlattenedSource: makedumpfile's flattened stream format (what `makedumpfile -F` and QEMU's
// `dump-guest-memory -z` write), read in place as if it had been un-flattened with -R.
//
//   auto flat = FlattenedSource::open(std::move(file));   // indexes the records once
//   flat->read(offset, buf);                               // logical offsets
//
// The stream is a 4 KiB header ("makedumpfile", type, version) then records of
// {be64 offset, be64 size, bytes}; later records overwrite earlier ones at the same offsets.
#pragma once

#include <map>
#include <memory>

#include "dump/byte_source.h"

namespace lockhound::dump {

class FlattenedSource final : public ByteSource {
  public:
    static bool looks_flattened(const ByteSource& raw);
    [[nodiscard]] static Result<std::unique_ptr<FlattenedSource>> open(
        std::unique_ptr<ByteSource> raw);

    std::uint64_t size() const override { return size_; }
    Result<> read(std::uint64_t offset, std::span<std::byte> out) const override;
    std::span<const std::byte> view(std::uint64_t offset, std::uint64_t len) const override;
    std::size_t pieces() const { return pieces_.size(); }
    // The stream ended without its end marker (cut short); the bytes before the cut are usable.
    bool truncated() const { return truncated_; }

  private:
    struct Piece {
        std::uint64_t end;       // logical end (exclusive)
        std::uint64_t file_pos;  // where the logical start lives in the raw file
    };
    explicit FlattenedSource(std::unique_ptr<ByteSource> raw) : raw_(std::move(raw)) {}
    void paint(std::uint64_t start, std::uint64_t end, std::uint64_t file_pos);

    std::unique_ptr<ByteSource> raw_;
    std::map<std::uint64_t, Piece> pieces_;  // logical start -> piece, non-overlapping
    std::uint64_t size_ = 0;
    bool truncated_ = false;
};

}  // namespace lockhound::dump
