#include "support/dump_builder.h"

#include <lzo/lzo1x.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace lockhound::testing {

namespace {

constexpr std::uint64_t kPteFlags = 0x63;               // present, rw, accessed, dirty
constexpr std::uint64_t kPteHigh = 0x8400000000000000;  // NX and a protection-key bit
constexpr std::uint64_t kPteHuge = 1ull << 7;
constexpr std::uint64_t kPtePat = 1ull << 12;  // PAT of a huge entry, inside the address bits
constexpr std::uint64_t kPteAddr = 0x000ffffffffff000ull;

void put_bytes(Bytes& b, std::uint64_t off, const void* p, std::size_t len) {
    if (len == 0) return;
    if (b.size() < off + len) b.resize(off + len);
    std::memcpy(b.data() + off, p, len);
}
void put_le16(Bytes& b, std::uint64_t off, std::uint16_t v) {
    put_bytes(b, off, &v, 2);
}
void put_be64(Bytes& b, std::uint64_t off, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
        auto byte = static_cast<std::byte>((v >> (56 - 8 * i)) & 0xff);
        put_bytes(b, off + static_cast<std::uint64_t>(i), &byte, 1);
    }
}
void append(Bytes& b, std::span<const std::byte> more) {
    b.insert(b.end(), more.begin(), more.end());
}
void put_cstr(Bytes& b, std::uint64_t off, std::string_view s) {
    put_bytes(b, off, s.data(), s.size());
}
std::uint64_t align_up(std::uint64_t v, std::uint64_t a) {
    return (v + a - 1) / a * a;
}

}  // namespace

void put_le32(Bytes& b, std::uint64_t off, std::uint32_t v) {
    put_bytes(b, off, &v, 4);
}
void put_le64(Bytes& b, std::uint64_t off, std::uint64_t v) {
    put_bytes(b, off, &v, 8);
}

std::byte pattern_byte(std::uint64_t paddr) {
    std::uint64_t in_page = paddr % kPageSize;
    if (in_page < kPageSize / 4) {
        std::uint64_t h = (paddr / 8 + 1) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 29;
        return static_cast<std::byte>((h >> (8 * (paddr % 8))) & 0xff);
    }
    return static_cast<std::byte>(((paddr / kPageSize) * 7 + in_page % 16) & 0xff);
}

Bytes pattern_bytes(std::uint64_t paddr, std::size_t len) {
    Bytes b(len);
    for (std::size_t i = 0; i < len; ++i) b[i] = pattern_byte(paddr + i);
    return b;
}

// ---- PhysImage ----

void PhysImage::add_page(std::uint64_t pfn) {
    pages_.try_emplace(pfn, Bytes(kPageSize));
}

void PhysImage::put(std::uint64_t paddr, std::span<const std::byte> data) {
    std::size_t done = 0;
    while (done < data.size()) {
        std::uint64_t at = paddr + done;
        add_page(at / kPageSize);
        std::size_t n = std::min<std::size_t>(data.size() - done, kPageSize - at % kPageSize);
        std::memcpy(pages_[at / kPageSize].data() + at % kPageSize, data.data() + done, n);
        done += n;
    }
}

void PhysImage::put_u64(std::uint64_t paddr, std::uint64_t v) {
    put(paddr, std::as_bytes(std::span(&v, 1)));
}

void PhysImage::put_string(std::uint64_t paddr, std::string_view s) {
    put(paddr, std::as_bytes(std::span(s.data(), s.size())));
    std::byte nul{0};
    put(paddr + s.size(), std::span(&nul, 1));
}

void PhysImage::fill_pattern(std::uint64_t paddr, std::uint64_t len) {
    put(paddr, pattern_bytes(paddr, len));
}

void PhysImage::remove_page(std::uint64_t pfn) {
    pages_.erase(pfn);
}

Bytes PhysImage::read(std::uint64_t paddr, std::size_t len) const {
    Bytes out(len);
    for (std::size_t i = 0; i < len; ++i) {
        std::uint64_t at = paddr + i;
        auto it = pages_.find(at / kPageSize);
        if (it != pages_.end()) out[i] = it->second[at % kPageSize];
    }
    return out;
}

std::uint64_t PhysImage::end() const {
    return pages_.empty() ? 0 : (pages_.rbegin()->first + 1) * kPageSize;
}

// ---- PageTables ----

PageTables::PageTables(PhysImage& mem, bool five_level, std::uint64_t table_pool)
    : mem_(mem), five_level_(five_level), next_table_(table_pool), root_(alloc_table()) {}

std::uint64_t PageTables::alloc_table() {
    std::uint64_t t = next_table_;
    next_table_ += kPageSize;
    mem_.add_page(t / kPageSize);
    return t;
}

static std::uint64_t index_at(std::uint64_t vaddr, int level) {
    return (vaddr >> (12 + 9 * (level - 1))) & 0x1ff;
}

std::uint64_t PageTables::read_entry(std::uint64_t table, std::uint64_t vaddr, int level) const {
    Bytes e = mem_.read(table + index_at(vaddr, level) * 8, 8);
    std::uint64_t v = 0;
    std::memcpy(&v, e.data(), 8);
    return v;
}

std::uint64_t PageTables::entry_table(std::uint64_t vaddr, int level) {
    std::uint64_t table = root_;
    for (int l = five_level_ ? 5 : 4; l > level; --l) {
        std::uint64_t e = read_entry(table, vaddr, l);
        if (!(e & 1)) {
            std::uint64_t t = alloc_table();
            e = t | kPteFlags | kPteHigh;
            mem_.put_u64(table + index_at(vaddr, l) * 8, e);
        }
        if (e & kPteHuge) throw std::logic_error("PageTables: range already mapped huge");
        table = e & kPteAddr;
    }
    return table;
}

std::uint64_t PageTables::table_for(std::uint64_t vaddr, int level) const {
    std::uint64_t table = root_;
    for (int l = five_level_ ? 5 : 4; l > level; --l) {
        std::uint64_t e = read_entry(table, vaddr, l);
        if (!(e & 1)) throw std::logic_error("PageTables::table_for: not mapped");
        table = e & kPteAddr;
    }
    return table;
}

void PageTables::map_4k(std::uint64_t vaddr, std::uint64_t paddr) {
    std::uint64_t t = entry_table(vaddr, 1);
    mem_.put_u64(t + index_at(vaddr, 1) * 8, (paddr & kPteAddr) | kPteFlags | kPteHigh);
}

void PageTables::map_2m(std::uint64_t vaddr, std::uint64_t paddr) {
    std::uint64_t t = entry_table(vaddr, 2);
    mem_.put_u64(t + index_at(vaddr, 2) * 8,
                 (paddr & kPteAddr) | kPteFlags | kPteHigh | kPteHuge | kPtePat);
}

void PageTables::map_1g(std::uint64_t vaddr, std::uint64_t paddr) {
    std::uint64_t t = entry_table(vaddr, 3);
    mem_.put_u64(t + index_at(vaddr, 3) * 8,
                 (paddr & kPteAddr) | kPteFlags | kPteHigh | kPteHuge | kPtePat);
}

std::string paging_vmcoreinfo(std::uint64_t root_phys,
                              std::int64_t phys_base,
                              bool five_level,
                              std::string_view extra) {
    char buf[512];
    std::uint64_t sym = kStartKernelMap + root_phys - static_cast<std::uint64_t>(phys_base);
    std::snprintf(buf,
                  sizeof buf,
                  "OSRELEASE=6.1.0-test\n"
                  "BUILD-ID=00112233445566778899aabbccddeeff00112233\n"
                  "PAGESIZE=4096\n"
                  "SYMBOL(init_top_pgt)=%016llx\n"
                  "NUMBER(phys_base)=%lld\n"
                  "NUMBER(pgtable_l5_enabled)=%d\n"
                  "KERNELOFFSET=0\n"
                  "CRASHTIME=1700000000\n",
                  static_cast<unsigned long long>(sym),
                  static_cast<long long>(phys_base),
                  five_level ? 1 : 0);
    std::string s = buf;
    s += extra;
    return s;
}

// ---- notes ----

Bytes encode_notes(const std::vector<NoteSpec>& notes) {
    Bytes out;
    for (const auto& n : notes) {
        std::uint64_t at = out.size();
        auto namesz = static_cast<std::uint32_t>(n.name.size() + 1);
        put_le32(out, at, namesz);
        put_le32(out, at + 4, static_cast<std::uint32_t>(n.desc.size()));
        put_le32(out, at + 8, n.type);
        put_cstr(out, at + 12, n.name);
        out.resize(align_up(at + 12 + namesz, 4));
        append(out, n.desc);
        out.resize(align_up(out.size(), 4));
    }
    return out;
}

NoteSpec vmcoreinfo_note(std::string_view text) {
    NoteSpec n{"VMCOREINFO", 0, {}};
    n.desc.resize(text.size());
    std::memcpy(n.desc.data(), text.data(), text.size());
    return n;
}

NoteSpec prstatus_note(int pid, const std::array<std::uint64_t, 21>& regs) {
    NoteSpec n{"CORE", 1, Bytes(336)};
    put_le32(n.desc, 0, 6);  // si_signo
    put_le32(n.desc, 32, static_cast<std::uint32_t>(pid));
    for (std::size_t i = 0; i < regs.size(); ++i) put_le64(n.desc, 112 + i * 8, regs[i]);
    return n;
}

std::array<std::uint64_t, 21> sample_regs(int cpu) {
    std::array<std::uint64_t, 21> r{};
    for (std::size_t i = 0; i < r.size(); ++i)
        r[i] = 0x1000ull * static_cast<std::uint64_t>(cpu + 1) + i;
    return r;
}

NoteSpec qemu_cpu_note(const QemuCpu& cpu) {
    NoteSpec n{"QEMU", 0, Bytes(440)};
    put_le32(n.desc, 0, 1);
    put_le32(n.desc, 4, 440);
    for (std::size_t i = 0; i < cpu.gpr.size(); ++i) put_le64(n.desc, 8 + i * 8, cpu.gpr[i]);
    put_le64(n.desc, 8 + 16 * 8, cpu.rip);
    put_le64(n.desc, 8 + 17 * 8, cpu.rflags);
    constexpr std::uint64_t kSeg = 8 + 18 * 8;
    put_le32(n.desc, kSeg + 0 * 24, cpu.cs);
    put_le32(n.desc, kSeg + 5 * 24, cpu.ss);
    put_le64(n.desc, kSeg + 4 * 24 + 16, cpu.gs_base);
    constexpr std::uint64_t kCr = kSeg + 10 * 24;
    put_le64(n.desc, kCr + 3 * 8, cpu.cr3);
    put_le64(n.desc, kCr + 5 * 8, cpu.kernel_gs_base);
    return n;
}

// ---- ELF core ----

Bytes build_elf_core(const PhysImage& mem, const ElfCoreSpec& spec, ElfCoreLayout* layout) {
    std::uint64_t phoff = spec.phoff;
    if (spec.pn_xnum && phoff < 128) phoff = 128;  // section header 0 sits at 64
    std::uint64_t phnum = 1 + spec.loads.size();
    Bytes notes = encode_notes(spec.notes);

    Bytes f(phoff + phnum * 56);
    const char ident[] =
        "\x7f"
        "ELF";
    put_bytes(f, 0, ident, 4);
    f[4] = std::byte{2};  // ELFCLASS64
    f[5] = std::byte{1};  // ELFDATA2LSB
    f[6] = std::byte{1};  // EV_CURRENT
    put_le16(f, 16, 4);   // ET_CORE
    put_le16(f, 18, 62);  // EM_X86_64
    put_le32(f, 20, 1);
    put_le64(f, 32, phoff);
    put_le16(f, 52, 64);
    put_le16(f, 54, 56);
    put_le16(f, 58, 64);
    if (spec.pn_xnum) {
        put_le16(f, 56, 0xffff);
        put_le64(f, 40, 64);                                      // e_shoff
        put_le16(f, 60, 1);                                       // e_shnum
        put_le32(f, 64 + 44, static_cast<std::uint32_t>(phnum));  // sh_info
    } else {
        put_le16(f, 56, static_cast<std::uint16_t>(phnum));
    }

    std::uint64_t note_off = f.size();
    append(f, notes);
    f.resize(align_up(f.size(), 8));
    std::uint64_t data_off = align_up(f.size(), kPageSize);
    f.resize(data_off);

    auto phdr = [&](std::uint64_t i,
                    std::uint32_t type,
                    std::uint64_t off,
                    std::uint64_t vaddr,
                    std::uint64_t paddr,
                    std::uint64_t filesz,
                    std::uint64_t memsz) {
        std::uint64_t at = phoff + i * 56;
        put_le32(f, at, type);
        put_le32(f, at + 4, type == 1 ? 7 : 0);
        put_le64(f, at + 8, off);
        put_le64(f, at + 16, vaddr);
        put_le64(f, at + 24, paddr);
        put_le64(f, at + 32, filesz);
        put_le64(f, at + 40, memsz);
        put_le64(f, at + 48, type == 1 ? kPageSize : 0);
    };
    phdr(0, 4, note_off, 0, 0, notes.size(), notes.size());
    if (layout) {
        layout->note_offset = note_off;
        layout->note_size = notes.size();
        layout->load_offsets.clear();
    }
    for (std::size_t i = 0; i < spec.loads.size(); ++i) {
        const ElfLoad& l = spec.loads[i];
        std::uint64_t off = f.size();
        phdr(i + 1, 1, off, l.vaddr, l.paddr, l.filesz, std::max(l.memsz, l.filesz));
        append(f, mem.read(l.paddr, l.filesz));
        if (layout) layout->load_offsets.push_back(off);
    }
    return f;
}

// ---- kdump-compressed ----

std::uint32_t codec_flag(PageCodec c) {
    switch (c) {
        case PageCodec::kRaw:
            return 0;
        case PageCodec::kZlib:
            return 0x1;
        case PageCodec::kLzo:
            return 0x2;
        case PageCodec::kSnappy:
            return 0x4;
        case PageCodec::kZstd:
            return 0x20;
    }
    return 0;
}

Bytes compress_page(PageCodec c, std::span<const std::byte> page) {
    Bytes out;
    switch (c) {
        case PageCodec::kRaw:
            out.assign(page.begin(), page.end());
            return out;
        case PageCodec::kZlib: {
            uLongf len = compressBound(page.size());
            out.resize(len);
            if (compress2(reinterpret_cast<Bytef*>(out.data()),
                          &len,
                          reinterpret_cast<const Bytef*>(page.data()),
                          page.size(),
                          Z_BEST_SPEED) != Z_OK)
                throw std::runtime_error("compress2 failed");
            out.resize(len);
            return out;
        }
        case PageCodec::kLzo: {
            static const bool ok = lzo_init() == LZO_E_OK;
            if (!ok) throw std::runtime_error("lzo_init failed");
            std::vector<unsigned char> work(LZO1X_1_MEM_COMPRESS);
            out.resize(page.size() + page.size() / 16 + 64 + 3);
            lzo_uint len = out.size();
            if (lzo1x_1_compress(reinterpret_cast<const unsigned char*>(page.data()),
                                 page.size(),
                                 reinterpret_cast<unsigned char*>(out.data()),
                                 &len,
                                 work.data()) != LZO_E_OK)
                throw std::runtime_error("lzo1x_1_compress failed");
            out.resize(len);
            return out;
        }
        case PageCodec::kSnappy: {
            std::size_t len = snappy_max_compressed_length(page.size());
            out.resize(len);
            if (snappy_compress(reinterpret_cast<const char*>(page.data()),
                                page.size(),
                                reinterpret_cast<char*>(out.data()),
                                &len) != SNAPPY_OK)
                throw std::runtime_error("snappy_compress failed");
            out.resize(len);
            return out;
        }
        case PageCodec::kZstd: {
            out.resize(ZSTD_compressBound(page.size()));
            std::size_t n = ZSTD_compress(out.data(), out.size(), page.data(), page.size(), 1);
            if (ZSTD_isError(n)) throw std::runtime_error("ZSTD_compress failed");
            out.resize(n);
            return out;
        }
    }
    return out;
}

Bytes build_kdump(const PhysImage& mem, const KdumpSpec& spec, KdumpLayout* layout) {
    const std::uint64_t bs = kPageSize;
    std::uint64_t max_mapnr = spec.max_mapnr ? spec.max_mapnr : mem.end() / kPageSize;
    if (max_mapnr == 0) max_mapnr = 1;

    // Notes (with the VMCOREINFO note) and VMCOREINFO text follow the 104-byte sub-header.
    constexpr std::uint64_t kSubHeader = 104;
    std::vector<NoteSpec> note_list = spec.notes;
    std::uint64_t vmcoreinfo_off = 0;
    Bytes notes;
    Bytes extra;  // what follows the sub-header
    if (spec.header_version >= 4) {
        if (!spec.vmcoreinfo.empty()) note_list.push_back(vmcoreinfo_note(spec.vmcoreinfo));
        notes = encode_notes(note_list);
        extra = notes;
        if (!spec.vmcoreinfo.empty()) {
            // The VMCOREINFO note is last: its desc starts after a 12-byte header and
            // "VMCOREINFO\0" padded to 12 bytes.
            std::uint64_t desc_len = align_up(spec.vmcoreinfo.size(), 4);
            vmcoreinfo_off = bs + kSubHeader + notes.size() - desc_len;
        }
    } else if (spec.header_version >= 3 && !spec.vmcoreinfo.empty()) {
        vmcoreinfo_off = bs + kSubHeader;
        extra.resize(spec.vmcoreinfo.size());
        std::memcpy(extra.data(), spec.vmcoreinfo.data(), spec.vmcoreinfo.size());
    }
    std::uint64_t sub_hdr_blocks = align_up(kSubHeader + extra.size(), bs) / bs;
    std::uint64_t bitmap_half = align_up((max_mapnr + 7) / 8, bs);
    std::uint64_t bitmap_blocks = 2 * bitmap_half / bs;
    std::uint64_t bitmap_off = (1 + sub_hdr_blocks) * bs;

    std::vector<std::uint64_t> dumped;
    Bytes f((1 + sub_hdr_blocks + bitmap_blocks) * bs);
    for (const auto& [pfn, page] : mem.pages()) {
        if (pfn >= max_mapnr) continue;
        f[bitmap_off + pfn / 8] |= static_cast<std::byte>(1u << (pfn % 8));
        if (spec.excluded.count(pfn)) continue;
        f[bitmap_off + bitmap_half + pfn / 8] |= static_cast<std::byte>(1u << (pfn % 8));
        dumped.push_back(pfn);
    }

    // disk_dump_header
    put_cstr(f, 0, "KDUMP   ");
    put_le32(f, 8, static_cast<std::uint32_t>(spec.header_version));
    put_cstr(f, 12, "Linux");
    put_cstr(f, 12 + 65, "testhost");
    put_cstr(f, 12 + 2 * 65, spec.release);
    put_cstr(f, 12 + 3 * 65, "#1 SMP");
    put_cstr(f, 12 + 4 * 65, "x86_64");
    put_le64(f, 408, 1700000000);
    std::uint32_t status = spec.status;
    if (!status && !spec.codecs.empty()) status = codec_flag(spec.codecs.front());
    put_le32(f, 424, status);
    put_le32(f, 428, static_cast<std::uint32_t>(bs));
    put_le32(f, 432, static_cast<std::uint32_t>(sub_hdr_blocks));
    put_le32(f, 436, static_cast<std::uint32_t>(bitmap_blocks));
    std::uint32_t mapnr32 =
        spec.mapnr_only_64 ? 0
                           : static_cast<std::uint32_t>(std::min<std::uint64_t>(max_mapnr, ~0u));
    put_le32(f, 440, mapnr32);
    put_le32(f, 460, 2);  // nr_cpus

    // kdump_sub_header
    std::uint64_t s = bs;
    put_le64(f, s + 0, static_cast<std::uint64_t>(spec.phys_base));
    put_le32(f, s + 8, static_cast<std::uint32_t>(spec.dump_level));
    if (spec.header_version >= 3 && vmcoreinfo_off) {
        put_le64(f, s + 32, vmcoreinfo_off);
        put_le64(f, s + 40, spec.vmcoreinfo.size());
    }
    if (spec.header_version >= 4 && !notes.empty()) {
        put_le64(f, s + 48, bs + kSubHeader);
        put_le64(f, s + 56, notes.size());
    }
    if (spec.header_version >= 6) {
        put_le64(f, s + 80, 0);
        put_le64(f, s + 88, max_mapnr);
        put_le64(f, s + 96, max_mapnr);
    }
    put_bytes(f, bs + kSubHeader, extra.data(), extra.size());

    // page descriptors, then page data
    std::uint64_t desc_off = f.size();
    std::uint64_t data_off = desc_off + dumped.size() * 24;
    f.resize(data_off);
    if (layout) {
        *layout = KdumpLayout{};
        layout->block_size = bs;
        layout->bitmap_offset = bitmap_off;
        layout->bitmap_size = 2 * bitmap_half;
        layout->desc_offset = desc_off;
        layout->data_offset = data_off;
    }
    for (std::size_t i = 0; i < dumped.size(); ++i) {
        std::uint64_t pfn = dumped[i];
        const Bytes& page = mem.pages().at(pfn);
        PageCodec codec =
            spec.codecs.empty() ? PageCodec::kRaw : spec.codecs[i % spec.codecs.size()];
        Bytes data = compress_page(codec, page);
        if (data.size() >= bs) {  // makedumpfile stores pages that do not shrink as they are
            codec = PageCodec::kRaw;
            data = page;
        }
        std::uint64_t d = desc_off + i * 24;
        put_le64(f, d, f.size());
        put_le32(f, d + 8, static_cast<std::uint32_t>(data.size()));
        put_le32(f, d + 12, codec_flag(codec));
        put_le64(f, d + 16, 0);
        if (layout) {
            layout->desc_of[pfn] = d;
            layout->data_of[pfn] = f.size();
            layout->codec_of[pfn] = codec;
            layout->size_of[pfn] = data.size();
        }
        append(f, data);
    }
    return f;
}

// ---- flattened ----

Bytes build_flattened(std::span<const std::byte> plain, const FlattenSpec& spec) {
    Bytes out(4096);
    put_cstr(out, 0, "makedumpfile");
    put_be64(out, 16, 1);  // TYPE_FLAT_HEADER
    put_be64(out, 24, 1);  // VERSION_FLAT_HEADER

    auto in_any = [](const auto& ranges, std::uint64_t at) {
        for (const auto& [off, len] : ranges)
            if (at >= off && at - off < len) return true;
        return false;
    };
    auto record = [&](std::uint64_t off, std::span<const std::byte> data) {
        std::uint64_t at = out.size();
        put_be64(out, at, off);
        put_be64(out, at + 8, data.size());
        append(out, data);
    };

    // Body: maximal runs outside holes, cut into chunks; rewrite ranges hold stale bytes.
    std::vector<std::pair<std::uint64_t, Bytes>> body;
    std::uint64_t pos = 0;
    const std::size_t chunk = std::max<std::size_t>(spec.chunk, 1);
    while (pos < plain.size()) {
        if (in_any(spec.holes, pos)) {
            ++pos;
            continue;
        }
        std::uint64_t end = pos;
        while (end < plain.size() && end - pos < chunk && !in_any(spec.holes, end)) ++end;
        Bytes data(plain.begin() + static_cast<std::ptrdiff_t>(pos),
                   plain.begin() + static_cast<std::ptrdiff_t>(end));
        for (std::uint64_t i = pos; i < end; ++i)
            if (in_any(spec.rewrites, i)) data[i - pos] = std::byte{0xee};
        body.emplace_back(pos, std::move(data));
        pos = end;
    }
    if (spec.reverse) std::reverse(body.begin(), body.end());
    for (const auto& [off, data] : body) record(off, data);
    for (const auto& [off, len] : spec.rewrites) {
        if (off >= plain.size()) continue;
        record(off, plain.subspan(off, std::min<std::uint64_t>(len, plain.size() - off)));
    }
    if (spec.end_marker) {
        std::uint64_t at = out.size();
        put_be64(out, at, ~0ull);
        put_be64(out, at + 8, ~0ull);
    }
    return out;
}

}  // namespace lockhound::testing
