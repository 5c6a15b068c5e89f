#include "support/fake_memory.h"

#include <cstring>
#include <stdexcept>

namespace lockhound::testing {

void FakeMemory::map(std::uint64_t addr, std::uint64_t len) {
    segments_[addr] = std::vector<std::byte>(len);
}

void FakeMemory::put(std::uint64_t addr, const void* data, std::size_t len) {
    auto it = segments_.upper_bound(addr);
    if (it == segments_.begin()) throw std::out_of_range("FakeMemory::put outside a segment");
    --it;
    if (addr - it->first + len > it->second.size())
        throw std::out_of_range("FakeMemory::put outside a segment");
    std::memcpy(it->second.data() + (addr - it->first), data, len);
}

void FakeMemory::put_string(std::uint64_t addr, std::string_view s) {
    put(addr, s.data(), s.size());
    char nul = 0;
    put(addr + s.size(), &nul, 1);
}

void FakeMemory::unmap(std::uint64_t addr) {
    segments_.erase(addr);
}

Result<> FakeMemory::read(std::uint64_t vaddr, std::span<std::byte> out) {
    ++reads_;
    std::size_t done = 0;
    while (done < out.size()) {
        std::uint64_t a = vaddr + done;
        auto it = segments_.upper_bound(a);
        if (it == segments_.begin()) return fail_at(ErrorKind::kUnmapped, a, "unmapped");
        --it;
        std::uint64_t off = a - it->first;
        if (off >= it->second.size()) return fail_at(ErrorKind::kUnmapped, a, "unmapped");
        std::size_t n = std::min<std::size_t>(out.size() - done, it->second.size() - off);
        std::memcpy(out.data() + done, it->second.data() + off, n);
        done += n;
    }
    return {};
}

}  // namespace lockhound::testing
