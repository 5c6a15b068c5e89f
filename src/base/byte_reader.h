// Bounds-checked little/big-endian reads from untrusted bytes.
//
//   ByteReader r(bytes);
//   auto magic = r.u32(0);          // std::optional, empty when out of range
//   auto hdr = r.sub(64, 56);       // a sub-range, empty reader when out of range
//
// Nothing here ever reads past the span it was given.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

namespace lockhound {

class ByteReader {
  public:
    ByteReader() = default;
    explicit ByteReader(std::span<const std::byte> bytes) : bytes_(bytes) {}

    std::size_t size() const { return bytes_.size(); }
    std::span<const std::byte> bytes() const { return bytes_; }
    bool has(std::uint64_t offset, std::uint64_t len) const {
        return offset <= bytes_.size() && len <= bytes_.size() - offset;
    }

    template <typename T>
    std::optional<T> le(std::uint64_t offset) const {
        if (!has(offset, sizeof(T))) return std::nullopt;
        T v;
        std::memcpy(&v, bytes_.data() + offset, sizeof(T));
        if constexpr (std::endian::native == std::endian::big) v = std::byteswap(v);
        return v;
    }
    template <typename T>
    std::optional<T> be(std::uint64_t offset) const {
        auto v = le<T>(offset);
        if (v && std::endian::native == std::endian::little) return std::byteswap(*v);
        return v;
    }
    std::optional<std::uint8_t> u8(std::uint64_t o) const { return le<std::uint8_t>(o); }
    std::optional<std::uint16_t> u16(std::uint64_t o) const { return le<std::uint16_t>(o); }
    std::optional<std::uint32_t> u32(std::uint64_t o) const { return le<std::uint32_t>(o); }
    std::optional<std::uint64_t> u64(std::uint64_t o) const { return le<std::uint64_t>(o); }
    std::optional<std::int32_t> i32(std::uint64_t o) const { return le<std::int32_t>(o); }
    std::optional<std::int64_t> i64(std::uint64_t o) const { return le<std::int64_t>(o); }

    // A sub-range; empty when it does not fit.
    ByteReader sub(std::uint64_t offset, std::uint64_t len) const {
        if (!has(offset, len)) return ByteReader{};
        return ByteReader(bytes_.subspan(offset, len));
    }
    // A NUL-terminated (or max_len-bounded) string at offset; empty when out of range.
    std::string_view cstring(std::uint64_t offset, std::size_t max_len) const {
        if (offset >= bytes_.size()) return {};
        std::size_t avail = bytes_.size() - offset;
        max_len = std::min(max_len, avail);
        const char* p = reinterpret_cast<const char*>(bytes_.data() + offset);
        std::size_t n = 0;
        while (n < max_len && p[n] != '\0') ++n;
        return {p, n};
    }

  private:
    std::span<const std::byte> bytes_;
};

}  // namespace lockhound
