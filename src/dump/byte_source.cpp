#include "dump/byte_source.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace lockhound::dump {

std::span<const std::byte> ByteSource::view(std::uint64_t /*offset*/, std::uint64_t /*len*/) const {
    return {};
}

static bool in_range(std::uint64_t size, std::uint64_t offset, std::uint64_t len) {
    return offset <= size && len <= size - offset;
}

Result<std::unique_ptr<MappedFile>> MappedFile::open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(ErrorKind::kIo, fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        int e = errno;
        ::close(fd);
        return fail(ErrorKind::kIo, fmt::format("cannot stat {}: {}", path, std::strerror(e)));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return fail(ErrorKind::kIo, fmt::format("{} is not a regular file", path));
    }
    auto size = static_cast<std::uint64_t>(st.st_size);
    if (size == 0) {
        ::close(fd);
        return fail(ErrorKind::kTruncated, fmt::format("{} is empty", path));
    }
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    ::close(fd);
    if (p == MAP_FAILED)
        return fail(ErrorKind::kIo, fmt::format("cannot map {}: {}", path, std::strerror(e)));
    ::madvise(p, size, MADV_RANDOM);
    return std::unique_ptr<MappedFile>(new MappedFile(static_cast<const std::byte*>(p), size));
}

MappedFile::~MappedFile() {
    ::munmap(const_cast<std::byte*>(data_), size_);
}

Result<> MappedFile::read(std::uint64_t offset, std::span<std::byte> out) const {
    if (!in_range(size_, offset, out.size()))
        return fail_at(ErrorKind::kTruncated, offset, "read past the end of the file");
    std::memcpy(out.data(), data_ + offset, out.size());
    return {};
}

std::span<const std::byte> MappedFile::view(std::uint64_t offset, std::uint64_t len) const {
    if (!in_range(size_, offset, len)) return {};
    return {data_ + offset, len};
}

Result<> MemoryBytes::read(std::uint64_t offset, std::span<std::byte> out) const {
    if (!in_range(bytes_.size(), offset, out.size()))
        return fail_at(ErrorKind::kTruncated, offset, "read past the end of the data");
    std::memcpy(out.data(), bytes_.data() + offset, out.size());
    return {};
}

std::span<const std::byte> MemoryBytes::view(std::uint64_t offset, std::uint64_t len) const {
    if (!in_range(bytes_.size(), offset, len)) return {};
    return {bytes_.data() + offset, len};
}

}  // namespace lockhound::dump
