// Helpers shared by the dump-layer tests.
//
//   auto f = open_built(build_kdump(mem, spec));      // open_dump() over bytes in memory
//   ImageMemory phys(mem);                            // PhysicalMemory straight from a PhysImage
//   TempFile t(bytes);  open_dump(t.path());          // a file under /tmp, deleted afterwards
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <span>
#include <string>

#include "dump/byte_source.h"
#include "dump/dump_file.h"
#include "dump/physical_memory.h"
#include "support/dump_builder.h"

namespace lockhound::dump::test {

using lockhound::testing::Bytes;

inline std::unique_ptr<MemoryBytes> memory_bytes(std::span<const std::byte> b) {
    return std::make_unique<MemoryBytes>(Bytes(b.begin(), b.end()));
}

inline Result<DumpFile> open_built(std::span<const std::byte> b) {
    return open_dump(memory_bytes(b), "built");
}

// PhysicalMemory over a PhysImage: pages not in the image are kNotInDump.
class ImageMemory final : public PhysicalMemory {
  public:
    explicit ImageMemory(const lockhound::testing::PhysImage& mem) : mem_(mem) {}
    Result<> read_phys(std::uint64_t paddr, std::span<std::byte> out) override {
        for (std::size_t i = 0; i < out.size(); ++i) {
            std::uint64_t at = paddr + i;
            if (!mem_.has_page(at / 4096)) return fail_at(ErrorKind::kNotInDump, at, "no page");
        }
        Bytes b = mem_.read(paddr, out.size());
        std::copy(b.begin(), b.end(), out.begin());
        ++reads_;
        return {};
    }
    bool has_page(std::uint64_t paddr) const override { return mem_.has_page(paddr / 4096); }
    std::uint64_t phys_end() const override { return mem_.end(); }
    int reads() const { return reads_; }

  private:
    const lockhound::testing::PhysImage& mem_;
    int reads_ = 0;
};

// A file under /tmp holding the given bytes; removed by the destructor.
class TempFile {
  public:
    explicit TempFile(std::span<const std::byte> bytes) {
        char tmpl[] = "/tmp/lh-dumptest-XXXXXX";
        int fd = mkstemp(tmpl);
        if (fd < 0) std::abort();
        path_ = tmpl;
        std::size_t done = 0;
        while (done < bytes.size()) {
            ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
            if (n <= 0) std::abort();
            done += static_cast<std::size_t>(n);
        }
        ::close(fd);
    }
    ~TempFile() { ::unlink(path_.c_str()); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

inline Bytes read_all(const ByteSource& src) {
    Bytes b(src.size());
    if (!src.read(0, b)) b.clear();
    return b;
}

}  // namespace lockhound::dump::test
