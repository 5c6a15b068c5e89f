// ImageMemory: a VirtualMemory made of the fuzz input's bytes mapped at one base address;
// everything else is unmapped. Shared by the fuzz targets above the dump layer.
//
//   ImageMemory mem(base, std::span(data, size));
//   mem.read_u64(base + 8);   // the input's bytes 8..15; reads outside fail like a dump's
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "dump/virtual_memory.h"

namespace lockhound::fuzz {

class ImageMemory final : public dump::VirtualMemory {
  public:
    ImageMemory(std::uint64_t base, std::span<const std::byte> image)
        : base_(base), image_(image) {}
    // As VirtualMemory promises: a failed read names the first byte that could not be read.
    Result<> read(std::uint64_t vaddr, std::span<std::byte> out) override {
        if (vaddr < base_ || vaddr - base_ >= image_.size())
            return out.empty() ? Result<>{}
                               : fail_at(ErrorKind::kUnmapped, vaddr, "outside the fuzz image");
        if (out.size() > image_.size() - (vaddr - base_))
            return fail_at(ErrorKind::kUnmapped, end(), "outside the fuzz image");
        if (!out.empty()) std::memcpy(out.data(), image_.data() + (vaddr - base_), out.size());
        return {};
    }
    std::uint64_t base() const { return base_; }
    std::uint64_t end() const { return base_ + image_.size(); }

  private:
    std::uint64_t base_;
    std::span<const std::byte> image_;
};

}  // namespace lockhound::fuzz
