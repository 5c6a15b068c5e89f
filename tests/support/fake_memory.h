// FakeMemory: a VirtualMemory made of segments the test writes itself.
//
//   FakeMemory mem;
//   mem.map(0xffff888000001000, 4096);         // zero-filled
//   mem.put_u64(0xffff888000001008, 0x1234);
//   mem.read_u64(0xffff888000001008);           // 0x1234; unmapped addresses fail like a dump
#pragma once

#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

#include "dump/virtual_memory.h"

namespace lockhound::testing {

class FakeMemory final : public dump::VirtualMemory {
  public:
    void map(std::uint64_t addr, std::uint64_t len);
    void put(std::uint64_t addr, const void* data, std::size_t len);
    void put_u64(std::uint64_t addr, std::uint64_t v) { put(addr, &v, 8); }
    void put_u32(std::uint64_t addr, std::uint32_t v) { put(addr, &v, 4); }
    void put_string(std::uint64_t addr, std::string_view s);
    void unmap(std::uint64_t addr);  // removes the segment starting at addr
    Result<> read(std::uint64_t vaddr, std::span<std::byte> out) override;
    std::uint64_t reads() const { return reads_; }

  private:
    std::map<std::uint64_t, std::vector<std::byte>> segments_;
    std::uint64_t reads_ = 0;
};

}  // namespace lockhound::testing
