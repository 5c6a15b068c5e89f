// lh_fuzz_seeds OUT_DIR: writes seed inputs built with tests/support/dump_builder into
// OUT_DIR/<target>/ for every fuzz target (make-seeds.sh adds cuts of the shared dumps); the
// seeds of the targets above the dump layer come from parser_seeds.cpp.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "parser_seeds.h"
#include "support/dump_builder.h"

using namespace lockhound::testing;
namespace fs = std::filesystem;

namespace {

fs::path g_out;
int g_written = 0;

void write(const std::string& target, const std::string& name, std::span<const std::byte> b) {
    fs::create_directories(g_out / target);
    std::ofstream f(g_out / target / name, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    ++g_written;
}
void write_text(const std::string& target, const std::string& name, const std::string& s) {
    write(target, name, std::as_bytes(std::span(s.data(), s.size())));
}

std::vector<NoteSpec> cpu_notes() {
    QemuCpu q;
    q.cr3 = 0x1000;
    q.gs_base = 0xffff888007c00000ull;
    return {prstatus_note(1, sample_regs(0)), qemu_cpu_note(q), prstatus_note(2, sample_regs(1))};
}

PhysImage small_memory() {
    PhysImage mem;
    mem.fill_pattern(0, 6 * kPageSize);
    mem.add_page(7);  // a zero page
    mem.fill_pattern(9 * kPageSize, kPageSize);
    return mem;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    g_out = argv[1];
    const std::string vmcoreinfo = paging_vmcoreinfo(0x2000,
                                                     -0x1000000,
                                                     false,
                                                     "SYMBOL(init_uts_ns)=ffffffff82c1a5a0\n"
                                                     "OFFSET(list_head.next)=0\n"
                                                     "SIZE(list_head)=16\n"
                                                     "LENGTH(zone.free_area)=11\n");
    PhysImage mem = small_memory();

    // kdump-compressed: each header version, each codec alone and all mixed, with exclusions.
    for (int v : {1, 3, 4, 5, 6}) {
        KdumpSpec spec;
        spec.header_version = v;
        spec.vmcoreinfo = vmcoreinfo;
        spec.notes = cpu_notes();
        spec.excluded = {2};
        write("diskdump", "v" + std::to_string(v), build_kdump(mem, spec));
    }
    const char* names[] = {"raw", "zlib", "lzo", "snappy", "zstd"};
    for (int c = 0; c < 5; ++c) {
        KdumpSpec spec;
        spec.vmcoreinfo = vmcoreinfo;
        spec.codecs = {static_cast<PageCodec>(c)};
        spec.mapnr_only_64 = c == 4;
        Bytes kd = build_kdump(mem, spec);
        write("diskdump", std::string("codec-") + names[c], kd);
        FlattenSpec fs_spec;
        fs_spec.chunk = 1000 + 500 * static_cast<std::size_t>(c);
        fs_spec.reverse = c % 2 == 1;
        fs_spec.rewrites = {{0, 464}, {4096, 104}};
        write("flattened", std::string("kdump-") + names[c], build_flattened(kd, fs_spec));
    }

    // ELF cores: program headers after the ELF header, at QEMU's 192, PN_XNUM, nested segments.
    for (int variant = 0; variant < 4; ++variant) {
        ElfCoreSpec spec;
        spec.phoff = variant == 1 ? 192 : 64;
        spec.pn_xnum = variant == 2;
        spec.notes = cpu_notes();
        spec.notes.push_back(vmcoreinfo_note(vmcoreinfo));
        spec.loads = {{0, 6 * kPageSize, 6 * kPageSize, 0xffff888000000000ull},
                      {9 * kPageSize, 0x800, 2 * kPageSize, 0}};
        if (variant == 3)
            for (std::uint64_t i = 1; i < 6; ++i)
                spec.loads.push_back({i * kPageSize, kPageSize, kPageSize, 0});
        Bytes core = build_elf_core(mem, spec);
        write("elf_core", "core-" + std::to_string(variant), core);
        if (variant == 1) write("flattened", "elf", build_flattened(core, {}));
    }

    // Notes and VMCOREINFO text on their own.
    std::vector<NoteSpec> notes = cpu_notes();
    notes.push_back(vmcoreinfo_note(vmcoreinfo));
    write("notes", "cpus-vmcoreinfo", encode_notes(notes));
    write("notes", "qemu-only", encode_notes({qemu_cpu_note(QemuCpu{})}));
    write_text("vmcoreinfo", "paging-4", vmcoreinfo);
    write_text("vmcoreinfo", "paging-5", paging_vmcoreinfo(0x800000, 0x200000, true));

    // Page walk: header (top table, flags, 4 addresses) then physical memory from 0.
    for (bool five : {false, true}) {
        PhysImage pm;
        PageTables pt(pm, five, 0x1000);
        const std::uint64_t base = five ? 0xff11000000000000ull : 0xffff888000000000ull;
        pt.map_4k(base + 0x5000, 0x9000);
        pt.map_2m(base + 0x200000, 0x200000);
        pt.map_1g(base + 0x40000000, 0x40000000);
        pm.fill_pattern(0x9000, kPageSize);
        Bytes in(48);
        put_le64(in, 0, pt.root());
        put_le64(in, 8, five ? 1 : 0);
        put_le64(in, 16, base + 0x5010);
        put_le64(in, 24, base + 0x200100);
        put_le64(in, 32, base + 0x40001000);
        put_le64(in, 40, 0xffffffff81000000ull);
        Bytes image = pm.read(0, pm.end());
        in.insert(in.end(), image.begin(), image.end());
        write("page_walk", five ? "five-level" : "four-level", in);
    }
    g_written += lockhound::fuzz::write_parser_seeds(g_out);  // kallsyms, btf, orc, lock_decode
    std::printf("%d seeds written to %s\n", g_written, argv[1]);
    return 0;
}
