#include "dump/elf_vmcore.h"

#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>

#include "base/byte_reader.h"

namespace lockhound::dump {

namespace {
constexpr std::uint32_t kPtLoad = 1;
constexpr std::uint32_t kPtNote = 4;
constexpr std::uint16_t kEtCore = 4;
constexpr std::uint16_t kEmX86_64 = 62;
constexpr std::uint64_t kEhdrSize = 64;
constexpr std::uint64_t kPhdrSize = 56;
constexpr std::uint64_t kMaxNoteBytes = 64ull << 20;
}  // namespace

bool ElfVmcore::looks_elf(const ByteSource& bytes) {
    std::array<std::byte, 4> m{};
    if (!bytes.read(0, m)) return false;
    return std::memcmp(m.data(),
                       "\x7f"
                       "ELF",
                       4) == 0;
}

Result<std::unique_ptr<ElfVmcore>> ElfVmcore::open(const ByteSource& bytes) {
    std::array<std::byte, kEhdrSize> eh{};
    if (!bytes.read(0, eh)) return fail(ErrorKind::kTruncated, "file too short for an ELF header");
    ByteReader h(eh);
    if (std::memcmp(eh.data(),
                    "\x7f"
                    "ELF",
                    4) != 0)
        return fail(ErrorKind::kBadData, "not an ELF file");
    if (h.u8(4).value_or(0) != 2)
        return fail(ErrorKind::kUnsupported, "only 64-bit ELF vmcores are supported");
    if (h.u8(5).value_or(0) != 1)
        return fail(ErrorKind::kUnsupported, "only little-endian ELF vmcores are supported");
    if (h.u16(16).value_or(0) != kEtCore)
        return fail(ErrorKind::kBadData, "ELF file is not a core dump (e_type != ET_CORE)");
    if (h.u16(18).value_or(0) != kEmX86_64)
        return fail(ErrorKind::kUnsupported,
                    fmt::format("ELF machine {} is not x86_64", h.u16(18).value_or(0)));
    std::uint64_t phoff = h.u64(32).value_or(0);
    std::uint16_t phentsize = h.u16(54).value_or(0);
    std::uint64_t phnum = h.u16(56).value_or(0);
    if (phnum == 0xffff) {  // PN_XNUM: the real count is in section 0's sh_info
        std::uint64_t shoff = h.u64(40).value_or(0);
        std::array<std::byte, 64> sh{};
        if (!bytes.read(shoff, sh))
            return fail(ErrorKind::kTruncated, "section header 0 is missing (PN_XNUM)");
        phnum = ByteReader(sh).u32(44).value_or(0);
    }
    if (phentsize < kPhdrSize)
        return fail(ErrorKind::kBadData, "ELF program header entries are too small");
    if (phnum == 0 || phnum > 1'000'000)
        return fail(ErrorKind::kBadData, fmt::format("implausible program header count {}", phnum));

    std::unique_ptr<ElfVmcore> core(new ElfVmcore(bytes));
    for (std::uint64_t i = 0; i < phnum; ++i) {
        std::array<std::byte, kPhdrSize> ph{};
        if (!bytes.read(phoff + (i * phentsize), ph))
            return fail_at(
                ErrorKind::kTruncated, phoff + (i * phentsize), "program header table is cut off");
        ByteReader p(ph);
        std::uint32_t type = p.u32(0).value_or(0);
        std::uint64_t offset = p.u64(8).value_or(0);
        std::uint64_t paddr = p.u64(24).value_or(0);
        std::uint64_t filesz = p.u64(32).value_or(0);
        std::uint64_t memsz = p.u64(40).value_or(0);
        if (type == kPtNote) {
            if (filesz > kMaxNoteBytes) continue;
            auto v = bytes.view(offset, filesz);
            std::vector<std::byte> copy;
            if (v.empty() && filesz) {
                copy.resize(filesz);
                if (!bytes.read(offset, copy)) continue;
                v = copy;
            }
            NoteContents n = parse_notes(v);
            if (core->notes_.vmcoreinfo.empty()) core->notes_.vmcoreinfo = n.vmcoreinfo;
            for (auto& c : n.cpus) {
                c.cpu = static_cast<int>(core->notes_.cpus.size());
                core->notes_.cpus.push_back(c);
            }
            for (auto& c : n.qemu_cpus) {
                c.cpu = static_cast<int>(core->notes_.qemu_cpus.size());
                core->notes_.qemu_cpus.push_back(c);
            }
            core->notes_.skipped += n.skipped;
        } else if (type == kPtLoad && memsz > 0) {
            if (paddr + memsz < paddr) continue;  // wraps
            // A segment whose file part passes the end of the file (a truncated dump) keeps what
            // is there; reads beyond fail as "not in dump".
            std::uint64_t avail = offset < bytes.size() ? bytes.size() - offset : 0;
            std::uint64_t fsz = std::min(filesz, memsz);
            core->segments_.push_back(Segment{paddr, fsz, memsz, offset, std::min(fsz, avail)});
            core->phys_end_ = std::max(core->phys_end_, paddr + memsz);
        }
    }
    if (core->segments_.empty())
        return fail(ErrorKind::kBadData, "ELF core has no PT_LOAD segments");
    std::sort(core->segments_.begin(),
              core->segments_.end(),
              [](const Segment& a, const Segment& b) { return a.paddr < b.paddr; });
    std::uint64_t max_end = 0;
    for (const auto& s : core->segments_) {
        max_end = std::max(max_end, s.paddr + s.memsz);
        core->max_end_.push_back(max_end);
    }
    return core;
}

const ElfVmcore::Segment* ElfVmcore::find(std::uint64_t paddr) const {
    auto it = std::ranges::upper_bound(segments_, paddr, {}, &Segment::paddr);
    // Segments may overlap (kdump ELF: a kernel-text alias of RAM); search back while an
    // earlier segment can still reach paddr.
    while (it != segments_.begin()) {
        --it;
        if (paddr - it->paddr < it->memsz) return &*it;
        if (max_end_[static_cast<std::size_t>(it - segments_.begin())] <= paddr) break;
    }
    return nullptr;
}

Result<> ElfVmcore::read_phys(std::uint64_t paddr, std::span<std::byte> out) {
    std::size_t done = 0;
    while (done < out.size()) {
        std::uint64_t at = paddr + done;
        const Segment* s = find(at);
        if (!s) return fail_at(ErrorKind::kNotInDump, at, "physical address is not in the dump");
        std::uint64_t rel = at - s->paddr;
        std::uint64_t n = std::min<std::uint64_t>(out.size() - done, s->memsz - rel);
        if (rel >= s->filesz) {
            std::memset(out.data() + done, 0, n);  // p_memsz beyond p_filesz: zeros
        } else if (rel >= s->avail) {
            return fail_at(
                ErrorKind::kNotInDump, at, "the dump file ends before this page (truncated)");
        } else {
            n = std::min(n, s->avail - rel);
            auto r = bytes_.read(s->offset + rel, out.subspan(done, n));
            if (!r)
                return fail_at(ErrorKind::kNotInDump, at, "the dump file ends before this page");
        }
        done += n;
    }
    return {};
}

bool ElfVmcore::has_page(std::uint64_t paddr) const {
    const Segment* s = find(paddr);
    if (!s) return false;
    std::uint64_t rel = paddr - s->paddr;
    return rel < s->avail || (rel >= s->filesz && rel < s->memsz);
}

std::uint64_t ElfVmcore::bytes_in_file() const {
    std::uint64_t n = 0;
    for (const auto& s : segments_) n += s.avail;
    return n;
}

}  // namespace lockhound::dump
