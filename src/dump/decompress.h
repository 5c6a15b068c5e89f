// Page decompression for kdump-compressed dumps: zlib, lzo1x, snappy, zstd.
//
//   auto r = decompress_page(Compression::kLzo, compressed, page);  // page.size() == page size
#pragma once

#include <cstddef>
#include <span>

#include "base/result.h"

namespace lockhound::dump {

enum class Compression { kNone, kZlib, kLzo, kSnappy, kZstd };
const char* to_string(Compression c);

// Decompresses into out, which must be exactly the uncompressed page size; any other size of
// output is an error (kBadData).
[[nodiscard]] Result<> decompress_page(Compression c,
                                       std::span<const std::byte> in,
                                       std::span<std::byte> out);

}  // namespace lockhound::dump
