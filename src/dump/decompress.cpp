#include "dump/decompress.h"

#include <libdeflate.h>
#include <lzo/lzo1x.h>
#include <snappy-c.h>
#include <zstd.h>

#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace lockhound::dump {

namespace {

struct DeflateDecompressorDeleter {
    void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

// One decompressor per thread, made on first use (libdeflate's state is not shared).
libdeflate_decompressor* deflate_decompressor() {
    thread_local std::unique_ptr<libdeflate_decompressor, DeflateDecompressorDeleter> d(
        libdeflate_alloc_decompressor());
    return d.get();
}

}  // namespace

const char* to_string(Compression c) {
    switch (c) {
        case Compression::kNone:
            return "uncompressed";
        case Compression::kZlib:
            return "zlib";
        case Compression::kLzo:
            return "lzo";
        case Compression::kSnappy:
            return "snappy";
        case Compression::kZstd:
            return "zstd";
    }
    return "?";
}

Result<> decompress_page(Compression c, std::span<const std::byte> in, std::span<std::byte> out) {
    auto bad = [&](const char* what) {
        return fail(ErrorKind::kBadData,
                    fmt::format("{} page does not decompress ({})", to_string(c), what));
    };
    switch (c) {
        case Compression::kNone:
            if (in.size() != out.size()) return bad("size");
            std::memcpy(out.data(), in.data(), out.size());
            return {};
        case Compression::kZlib: {
            // makedumpfile's compress2() pages: zlib streams; libdeflate decodes whole buffers.
            libdeflate_decompressor* d = deflate_decompressor();
            if (d == nullptr) return bad("no memory for the zlib decompressor");
            std::size_t len = 0;
            libdeflate_result rc =
                libdeflate_zlib_decompress(d, in.data(), in.size(), out.data(), out.size(), &len);
            if (rc != LIBDEFLATE_SUCCESS || len != out.size()) return bad("zlib error");
            return {};
        }
        case Compression::kLzo: {
            static const bool ok = lzo_init() == LZO_E_OK;
            if (!ok) return bad("lzo_init");
            lzo_uint len = out.size();
            int rc = lzo1x_decompress_safe(reinterpret_cast<const unsigned char*>(in.data()),
                                           in.size(),
                                           reinterpret_cast<unsigned char*>(out.data()),
                                           &len,
                                           nullptr);
            if (rc != LZO_E_OK || len != out.size()) return bad("lzo error");
            return {};
        }
        case Compression::kSnappy: {
            std::size_t len = 0;
            auto src = reinterpret_cast<const char*>(in.data());
            if (snappy_uncompressed_length(src, in.size(), &len) != SNAPPY_OK || len != out.size())
                return bad("snappy length");
            if (snappy_uncompress(src, in.size(), reinterpret_cast<char*>(out.data()), &len) !=
                    SNAPPY_OK ||
                len != out.size())
                return bad("snappy error");
            return {};
        }
        case Compression::kZstd: {
            std::size_t n = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
            if (ZSTD_isError(n) || n != out.size()) return bad("zstd error");
            return {};
        }
    }
    return bad("unknown method");
}

}  // namespace lockhound::dump
