#include "dump/dump_file.h"

#include <fmt/format.h>

#include "dump/diskdump.h"
#include "dump/elf_vmcore.h"
#include "dump/flattened_source.h"

namespace lockhound::dump {

namespace {
constexpr std::uint32_t kDumpIncomplete = 0x8;  // DUMP_DH_COMPRESSED_INCOMPLETE
}  // namespace

Result<DumpFile> open_dump(const std::string& path) {
    auto file = MappedFile::open(path);
    if (!file) return std::unexpected(file.error());
    return open_dump(std::move(*file), path);
}

Result<DumpFile> open_dump(std::unique_ptr<ByteSource> bytes, std::string path) {
    DumpFile d;
    d.path = std::move(path);
    std::string container;
    if (FlattenedSource::looks_flattened(*bytes)) {
        auto flat = FlattenedSource::open(std::move(bytes));
        if (!flat) return std::unexpected(flat.error());
        container = (*flat)->truncated() ? ", flattened, truncated" : ", flattened";
        bytes = std::move(*flat);
    }
    d.bytes = std::move(bytes);
    const ByteSource& b = *d.bytes;
    if (DiskDump::looks_diskdump(b)) {
        auto dd = DiskDump::open(b);
        if (!dd) return std::unexpected(dd.error());
        d.vmcoreinfo_text = (*dd)->vmcoreinfo();
        d.cpus = merge_cpu_notes((*dd)->notes());
        d.header_release = (*dd)->header().release;
        d.pages_in_dump = (*dd)->dumped_pages();
        d.pages_excluded =
            (*dd)->valid_pages() - std::min((*dd)->valid_pages(), (*dd)->dumped_pages());
        const auto& h = (*dd)->header();
        d.dump_level = h.dump_level;
        d.header_version = h.header_version;
        d.format = fmt::format("kdump-compressed ({}{}), header v{}, dump level {}{}{}",
                               (*dd)->compression_summary(),
                               container,
                               h.header_version,
                               h.dump_level,
                               d.pages_excluded ? ", filtered" : "",
                               (h.status & kDumpIncomplete) ? ", incomplete" : "");
        d.memory = std::move(*dd);
    } else if (ElfVmcore::looks_elf(b)) {
        auto elf = ElfVmcore::open(b);
        if (!elf) return std::unexpected(elf.error());
        d.vmcoreinfo_text = (*elf)->notes().vmcoreinfo;
        d.cpus = merge_cpu_notes((*elf)->notes());
        d.pages_in_dump = (*elf)->bytes_in_file() / 4096;
        d.format =
            fmt::format("ELF64 core, {} PT_LOAD segments{}", (*elf)->segment_count(), container);
        d.memory = std::move(*elf);
    } else {
        return fail(ErrorKind::kBadData,
                    "not a vmcore: neither ELF, kdump-compressed nor flattened");
    }
    d.vmcoreinfo = VmcoreInfo::parse(d.vmcoreinfo_text);
    if (d.vmcoreinfo.empty())
        return fail(ErrorKind::kBadData,
                    "the dump carries no VMCOREINFO (was it taken without it, e.g. QEMU without "
                    "-device vmcoreinfo?)");
    return d;
}

}  // namespace lockhound::dump
