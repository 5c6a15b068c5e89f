#include "base/result.h"

#include <fmt/format.h>

namespace lockhound {

const char* to_string(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::kIo:
            return "I/O error";
        case ErrorKind::kBadData:
            return "bad data";
        case ErrorKind::kTruncated:
            return "truncated";
        case ErrorKind::kNotInDump:
            return "not in dump";
        case ErrorKind::kUnmapped:
            return "unmapped";
        case ErrorKind::kNotFound:
            return "not found";
        case ErrorKind::kUnsupported:
            return "unsupported";
        case ErrorKind::kMismatch:
            return "mismatch";
        case ErrorKind::kLimit:
            return "limit";
    }
    return "error";
}

std::string Error::describe() const {
    if (has_address) return fmt::format("{} (address {:#x})", message, address);
    return message;
}

}  // namespace lockhound
