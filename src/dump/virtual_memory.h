// VirtualMemory: the kernel's virtual address space as the layers above see it.
//
//   Result<std::uint64_t> next = mem.read_u64(list_head_addr);
//   Result<std::string> comm = mem.read_cstring(task + comm_off, 16);
//
// Implementations: KernelAddressSpace (x86_64 page walk over a dump's physical memory) and, in
// tests, FakeMemory (tests/support). Every read either fills the whole buffer or returns an
// Error carrying the faulting address; nothing here throws or reads out of bounds.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace lockhound::dump {

class VirtualMemory {
  public:
    virtual ~VirtualMemory() = default;

    // Reads out.size() bytes at vaddr (may cross pages). Fails with kUnmapped / kNotInDump and the
    // address of the first byte that could not be read.
    [[nodiscard]] virtual Result<> read(std::uint64_t vaddr, std::span<std::byte> out) = 0;

    template <typename T>
    [[nodiscard]] Result<T> read_as(std::uint64_t vaddr) {
        T v{};
        auto r = read(vaddr, std::as_writable_bytes(std::span<T, 1>(&v, 1)));
        if (!r) return std::unexpected(r.error());
        return v;
    }
    [[nodiscard]] Result<std::uint64_t> read_u64(std::uint64_t vaddr) {
        return read_as<std::uint64_t>(vaddr);
    }
    [[nodiscard]] Result<std::uint32_t> read_u32(std::uint64_t vaddr) {
        return read_as<std::uint32_t>(vaddr);
    }
    [[nodiscard]] Result<std::vector<std::byte>> read_bytes(std::uint64_t vaddr, std::size_t len) {
        std::vector<std::byte> buf(len);
        auto r = read(vaddr, buf);
        if (!r) return std::unexpected(r.error());
        return buf;
    }
    // The bytes at vaddr up to len, or up to the first page that cannot be read: a table or a
    // function may end just before a page the dump does not hold.
    [[nodiscard]] std::vector<std::byte> read_readable(std::uint64_t vaddr, std::size_t len) {
        std::vector<std::byte> buf(len);
        std::size_t got = 0;
        while (got < len) {
            const std::size_t n = std::min<std::size_t>(len - got, 4096 - ((vaddr + got) & 4095));
            if (!read(vaddr + got, std::span(buf.data() + got, n))) break;
            got += n;
        }
        buf.resize(got);
        return buf;
    }
    // A NUL-terminated string of at most max_len bytes (the NUL is not required).
    [[nodiscard]] Result<std::string> read_cstring(std::uint64_t vaddr, std::size_t max_len) {
        std::string s;
        std::byte buf[64];
        while (s.size() < max_len) {
            std::size_t chunk = std::min<std::size_t>(sizeof buf, max_len - s.size());
            // Do not cross a page boundary in one read: the next page may be missing.
            std::uint64_t to_page_end = 4096 - (vaddr & 4095);
            if (chunk > to_page_end) chunk = to_page_end;
            auto r = read(vaddr, std::span(buf, chunk));
            if (!r) {
                if (s.empty()) return std::unexpected(r.error());
                return s;
            }
            for (std::size_t i = 0; i < chunk; ++i) {
                if (buf[i] == std::byte{0}) return s;
                s.push_back(static_cast<char>(buf[i]));
            }
            vaddr += chunk;
        }
        return s;
    }
};

}  // namespace lockhound::dump
