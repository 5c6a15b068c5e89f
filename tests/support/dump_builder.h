// Small, valid vmcores built in memory for tests and fuzz seeds: no binary blobs in the tree.
//
//   PhysImage mem;                                   // sparse fake physical memory
//   mem.fill_pattern(0x100000, 3 * 4096);            // bytes that depend on their address
//   PageTables pt(mem, /*five_level=*/false, 0x800000);
//   pt.map_2m(0xffff888000200000, 0x200000);
//   KdumpSpec spec;
//   spec.vmcoreinfo = paging_vmcoreinfo(pt.root(), /*phys_base=*/0, false);
//   Bytes kdump = build_kdump(mem, spec);            // zlib/lzo/snappy/zstd/raw pages
//   Bytes flat = build_flattened(kdump, {});         // makedumpfile -F stream of the same
//   Bytes core = build_elf_core(mem, elf_spec);      // ELF64 ET_CORE with notes and PT_LOADs
//
// Layouts follow makedumpfile's diskdump_mod.h / the kernel's elf_prstatus / QEMU's
// QEMUCPUState. This header uses only the standard library (the fuzz seed tool links it too).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lockhound::testing {

using Bytes = std::vector<std::byte>;

inline constexpr std::uint64_t kPageSize = 4096;

// The byte PhysImage::fill_pattern stores at paddr: varies with the address in the first quarter
// of each page (so a wrong page or offset shows) and repeats in the rest (so pages compress).
std::byte pattern_byte(std::uint64_t paddr);
Bytes pattern_bytes(std::uint64_t paddr, std::size_t len);

// Sparse physical memory made of 4 KiB pages; pages come into existence when written.
class PhysImage {
  public:
    void add_page(std::uint64_t pfn);  // a zero page (no-op when present)
    void put(std::uint64_t paddr, std::span<const std::byte> data);
    void put_u64(std::uint64_t paddr, std::uint64_t v);
    void put_string(std::uint64_t paddr, std::string_view s);  // with its NUL
    void fill_pattern(std::uint64_t paddr, std::uint64_t len);
    void remove_page(std::uint64_t pfn);

    Bytes read(std::uint64_t paddr, std::size_t len) const;  // zeros where no page is
    bool has_page(std::uint64_t pfn) const { return pages_.count(pfn) != 0; }
    std::uint64_t end() const;  // one past the highest page present (0 when empty)
    const std::map<std::uint64_t, Bytes>& pages() const { return pages_; }

  private:
    std::map<std::uint64_t, Bytes> pages_;  // pfn -> kPageSize bytes
};

// x86_64 page tables laid out in a PhysImage, tables allocated from table_pool upwards.
// Entries carry NX and protection-key bits (and PAT on huge pages) so that address masking is
// exercised.
class PageTables {
  public:
    PageTables(PhysImage& mem, bool five_level, std::uint64_t table_pool);
    std::uint64_t root() const { return root_; }
    bool five_level() const { return five_level_; }
    void map_4k(std::uint64_t vaddr, std::uint64_t paddr);
    void map_2m(std::uint64_t vaddr, std::uint64_t paddr);
    void map_1g(std::uint64_t vaddr, std::uint64_t paddr);
    // The physical address of the table page at level (5..2) that translates vaddr (which must
    // be mapped down to that level); tests remove it from the dump.
    std::uint64_t table_for(std::uint64_t vaddr, int level) const;

  private:
    std::uint64_t entry_table(std::uint64_t vaddr, int level);  // allocates down to level
    std::uint64_t alloc_table();
    std::uint64_t read_entry(std::uint64_t table, std::uint64_t vaddr, int level) const;

    PhysImage& mem_;
    bool five_level_;
    std::uint64_t next_table_;
    std::uint64_t root_;
};

inline constexpr std::uint64_t kStartKernelMap = 0xffffffff80000000ull;

// VMCOREINFO text as the kernel writes it: OSRELEASE, PAGESIZE, SYMBOL(init_top_pgt) at
// __START_KERNEL_map + root - phys_base, NUMBER(phys_base), pgtable_l5_enabled, plus extra
// lines verbatim.
std::string paging_vmcoreinfo(std::uint64_t root_phys,
                              std::int64_t phys_base,
                              bool five_level,
                              std::string_view extra = {});

// ---- ELF notes ----

struct NoteSpec {
    std::string name;  // "CORE", "VMCOREINFO", "QEMU"
    std::uint32_t type = 0;
    Bytes desc;
};
Bytes encode_notes(const std::vector<NoteSpec>& notes);
NoteSpec vmcoreinfo_note(std::string_view text);

// x86_64 struct elf_prstatus (336 bytes); regs in struct pt_regs order (r15 ... ss).
NoteSpec prstatus_note(int pid, const std::array<std::uint64_t, 21>& regs);
// Registers for CPU n that tests can recognise: 0x1000 * (n + 1) + register index.
std::array<std::uint64_t, 21> sample_regs(int cpu);

// QEMU's QEMUCPUState (version 1, 440 bytes).
struct QemuCpu {
    std::array<std::uint64_t, 16> gpr{};  // rax rbx rcx rdx rsi rdi rsp rbp r8 ... r15
    std::uint64_t rip = 0, rflags = 0;
    std::uint32_t cs = 0x10, ss = 0x18;
    std::uint64_t gs_base = 0;
    std::uint64_t cr3 = 0;
    std::uint64_t kernel_gs_base = 0;
};
NoteSpec qemu_cpu_note(const QemuCpu& cpu);

// ---- ELF64 core ----

struct ElfLoad {
    std::uint64_t paddr = 0;
    std::uint64_t filesz = 0;  // bytes stored (taken from the PhysImage)
    std::uint64_t memsz = 0;   // >= filesz; the rest reads as zeros
    std::uint64_t vaddr = 0;
};

struct ElfCoreSpec {
    std::uint64_t phoff = 64;  // QEMU puts them at 192, after its section headers
    bool pn_xnum = false;      // e_phnum = 0xffff, real count in section header 0's sh_info
    std::vector<NoteSpec> notes;
    std::vector<ElfLoad> loads;
};

struct ElfCoreLayout {
    std::uint64_t note_offset = 0, note_size = 0;
    std::vector<std::uint64_t> load_offsets;  // file offset of each PT_LOAD's data
};

Bytes build_elf_core(const PhysImage& mem,
                     const ElfCoreSpec& spec,
                     ElfCoreLayout* layout = nullptr);

// ---- kdump-compressed (makedumpfile "KDUMP   ") ----

enum class PageCodec { kRaw, kZlib, kLzo, kSnappy, kZstd };
std::uint32_t codec_flag(PageCodec c);  // DUMP_DH_COMPRESSED_* (0 for raw)
Bytes compress_page(PageCodec c, std::span<const std::byte> page);

struct KdumpSpec {
    int header_version = 6;
    std::string release = "6.1.0-test";
    std::string vmcoreinfo;       // stored at offset_vmcoreinfo (version >= 3)
    std::vector<NoteSpec> notes;  // stored at offset_note (version >= 4)
    std::int64_t phys_base = 0;
    int dump_level = 31;
    std::uint64_t max_mapnr = 0;  // 0: PhysImage::end() / kPageSize
    // Page i (in pfn order among dumped pages) uses codecs[i % size].
    std::vector<PageCodec> codecs = {
        PageCodec::kZlib, PageCodec::kLzo, PageCodec::kSnappy, PageCodec::kZstd, PageCodec::kRaw};
    std::set<std::uint64_t> excluded;  // pfns present in memory but filtered out (not dumped)
    std::uint32_t status = 0;          // header status; 0: the flag of codecs[0]
    bool mapnr_only_64 = false;        // 32-bit max_mapnr field left 0 (v6 max_mapnr_64 only)
};

struct KdumpLayout {
    std::uint64_t block_size = kPageSize;
    std::uint64_t bitmap_offset = 0, bitmap_size = 0;  // both bitmaps
    std::uint64_t desc_offset = 0;                     // first page_desc
    std::uint64_t data_offset = 0;                     // first page's data
    std::map<std::uint64_t, std::uint64_t> desc_of;    // pfn -> file offset of its page_desc
    std::map<std::uint64_t, std::uint64_t> data_of;    // pfn -> file offset of its data
    std::map<std::uint64_t, std::uint64_t> size_of;    // pfn -> bytes of data stored
    std::map<std::uint64_t, PageCodec> codec_of;       // pfn -> codec used
};

Bytes build_kdump(const PhysImage& mem, const KdumpSpec& spec, KdumpLayout* layout = nullptr);

// ---- makedumpfile flattened stream ----

struct FlattenSpec {
    std::size_t chunk = 4096;  // record size for the body
    bool reverse = false;      // emit body records last-to-first
    // Ranges [offset, offset+len) first written as stale bytes (0xee) and rewritten with the
    // real bytes by records at the end of the stream, as makedumpfile does with its header.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> rewrites;
    // Offsets left out entirely (the un-flattened file would have holes of zeros there).
    std::vector<std::pair<std::uint64_t, std::uint64_t>> holes;
    bool end_marker = true;
};
Bytes build_flattened(std::span<const std::byte> plain, const FlattenSpec& spec);

// Little helpers for tests that patch built files.
void put_le32(Bytes& b, std::uint64_t off, std::uint32_t v);
void put_le64(Bytes& b, std::uint64_t off, std::uint64_t v);

}  // namespace lockhound::testing
