// ByteSource: random access to the bytes of a dump file, whatever its container.
//
//   auto file = MappedFile::open("vmcore");               // mmap of a plain file
//   auto flat = FlattenedSource::open(std::move(*file));  // makedumpfile flattened stream
//   flat->read(offset, buffer);                           // as if un-flattened
//
// MemoryBytes wraps a buffer (tests, fuzzers). All reads are bounds-checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace lockhound::dump {

class ByteSource {
  public:
    virtual ~ByteSource() = default;
    virtual std::uint64_t size() const = 0;
    // Fills out completely or fails (kTruncated when the range passes the end).
    [[nodiscard]] virtual Result<> read(std::uint64_t offset, std::span<std::byte> out) const = 0;
    // A zero-copy view of [offset, offset+len) when the source is contiguous; empty otherwise.
    virtual std::span<const std::byte> view(std::uint64_t offset, std::uint64_t len) const;
};

// A read-only mmap of a file.
class MappedFile final : public ByteSource {
  public:
    [[nodiscard]] static Result<std::unique_ptr<MappedFile>> open(const std::string& path);
    ~MappedFile() override;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    std::uint64_t size() const override { return size_; }
    Result<> read(std::uint64_t offset, std::span<std::byte> out) const override;
    std::span<const std::byte> view(std::uint64_t offset, std::uint64_t len) const override;

  private:
    MappedFile(const std::byte* data, std::uint64_t size) : data_(data), size_(size) {}
    const std::byte* data_;
    std::uint64_t size_;
};

// Bytes held in memory (tests, fuzz targets).
class MemoryBytes final : public ByteSource {
  public:
    explicit MemoryBytes(std::vector<std::byte> bytes) : bytes_(std::move(bytes)) {}
    std::uint64_t size() const override { return bytes_.size(); }
    Result<> read(std::uint64_t offset, std::span<std::byte> out) const override;
    std::span<const std::byte> view(std::uint64_t offset, std::uint64_t len) const override;

  private:
    std::vector<std::byte> bytes_;
};

}  // namespace lockhound::dump
