// Result<T> and Error: the one error convention of lockhound.
//
//   Result<uint64_t> r = mem.read_u64(addr);
//   if (!r) warn(r.error().describe());
//
// Errors are values (std::expected); exceptions are reserved for fatal user errors caught in main.
// A fault (a page not in the dump, an unmapped address) always carries the address.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <utility>

namespace lockhound {

enum class ErrorKind {
    kIo,           // the file could not be opened or read
    kBadData,      // the bytes do not have the expected format (corrupt or unknown)
    kTruncated,    // the file ends before the data it promises
    kNotInDump,    // the page exists but the dump does not contain it (filtered / excluded)
    kUnmapped,     // no translation for a virtual address (page table entry not present)
    kNotFound,     // a symbol, type or member that is not there
    kUnsupported,  // a format or layout lockhound does not handle
    kMismatch,     // e.g. the vmlinux does not belong to the dump
    kLimit,        // a bound was hit (list too long, loop detected)
};

const char* to_string(ErrorKind kind);

struct Error {
    ErrorKind kind = ErrorKind::kBadData;
    std::string message;
    std::uint64_t address = 0;  // the faulting address for kNotInDump / kUnmapped
    bool has_address = false;

    static Error make(ErrorKind kind, std::string message) {
        return Error{kind, std::move(message)};
    }
    static Error fault(ErrorKind kind, std::uint64_t address, std::string message) {
        return Error{kind, std::move(message), address, true};
    }
    // "page 0x1234000 is not in the dump" style text, with the address when there is one.
    std::string describe() const;
};

template <typename T = void>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(ErrorKind kind, std::string message) {
    return std::unexpected(Error::make(kind, std::move(message)));
}
inline std::unexpected<Error> fail_at(ErrorKind kind, std::uint64_t address, std::string message) {
    return std::unexpected(Error::fault(kind, address, std::move(message)));
}

}  // namespace lockhound
