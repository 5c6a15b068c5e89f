#include "kernel/debuginfo_selection.h"

#include <fmt/format.h>

#include "debuginfo/btf_types.h"
#include "debuginfo/dwarf_types.h"
#include "debuginfo/elf_symbols.h"
#include "debuginfo/kallsyms.h"
#include "debuginfo/kallsyms_scan.h"
#include "debuginfo/vmlinux_finder.h"
#include "kernel/kernel.h"

namespace lockhound::kernel {

namespace {

Result<SelectedDebuginfo> from_vmlinux(const dump::DumpFile& dump, const std::string& path) {
    SelectedDebuginfo out;
    std::string want = dump.vmcoreinfo.build_id();
    auto types = debuginfo::DwarfTypes::open(path, want);
    if (!types) return std::unexpected(types.error());
    auto syms = debuginfo::load_elf_symbols(path, dump.vmcoreinfo.kernel_offset());
    if (!syms) return std::unexpected(syms.error());
    out.symbols = std::move(*syms);
    out.types = std::move(*types);
    out.description = fmt::format("DWARF and ELF symbols from {}", path);
    out.vmlinux_path = path;
    return out;
}

// The kernel's kallsyms: where VMCOREINFO says (6.0+), else found in the image by shape.
Result<debuginfo::SymbolTable> dump_kallsyms(const dump::DumpFile& dump,
                                             dump::VirtualMemory& memory,
                                             std::string& how) {
    const auto& info = dump.vmcoreinfo;
    if (auto where = debuginfo::KallsymsLocation::from_vmcoreinfo(info)) {
        auto syms = debuginfo::load_kallsyms(memory, *where);
        if (!syms)
            return fail(ErrorKind::kNotFound,
                        "the dump's kallsyms could not be decoded: " + syms.error().describe());
        how = "kallsyms";
        return syms;
    }
    // x86_64 puts _stext at __START_KERNEL (0xffffffff81000000) plus the KASLR offset when
    // VMCOREINFO does not say; .rodata (and kallsyms in it) ends before .data's init_uts_ns.
    debuginfo::KallsymsScan scan;
    scan.stext = info.symbol("_stext").value_or(0xffffffff81000000ull + info.kernel_offset());
    scan.start = scan.stext;
    auto data = info.symbol("init_uts_ns");
    scan.end = data && *data > scan.start ? *data : scan.start + scan.max_bytes;
    auto syms = debuginfo::load_kallsyms_by_scan(memory, scan);
    if (!syms)
        return fail(ErrorKind::kNotFound,
                    "the dump's VMCOREINFO does not locate the kallsyms tables (Linux < 6.0), "
                    "and they were not found in the image: " +
                        syms.error().describe());
    how = "kallsyms found in the image";
    return syms;
}

// Types from the dump's own BTF, symbols from its kallsyms: no vmlinux needed.
Result<SelectedDebuginfo> from_dump(const dump::DumpFile& dump, dump::VirtualMemory& memory) {
    SelectedDebuginfo out;
    std::string how;
    auto syms = dump_kallsyms(dump, memory, how);
    if (!syms) return std::unexpected(syms.error());
    auto types = debuginfo::load_btf_from_memory(memory, *syms);
    if (!types)
        return fail(ErrorKind::kNotFound,
                    "the dump carries no usable BTF: " + types.error().describe());
    out.description = fmt::format("BTF ({}) and {} ({} symbols) from the dump itself",
                                  (*types)->describe(),
                                  how,
                                  syms->size());
    out.symbols = std::move(*syms);
    out.types = std::move(*types);
    return out;
}

}  // namespace

Result<SelectedDebuginfo> select_debuginfo(const dump::DumpFile& dump,
                                           dump::VirtualMemory& memory,
                                           const OpenOptions& options) {
    std::string release = dump.vmcoreinfo.osrelease();
    if (!options.vmlinux_path.empty() && !options.no_vmlinux) {
        auto r = from_vmlinux(dump, options.vmlinux_path);
        if (!r) {
            Error e = r.error();
            e.message = fmt::format("{}: {}", options.vmlinux_path, e.message);
            return std::unexpected(e);
        }
        return r;
    }
    std::string tried;
    if (!options.no_vmlinux) {
        auto search = debuginfo::find_vmlinux(dump.vmcoreinfo.build_id(), release);
        if (search.found) {
            auto r = from_vmlinux(dump, *search.found);
            if (r) return r;
            tried = fmt::format("{} ({})", *search.found, r.error().message);
        } else {
            tried = search.describe_tried();
        }
    }
    auto self = from_dump(dump, memory);
    if (self) {
        if (!options.no_vmlinux)
            self->notes.push_back(fmt::format(
                "no matching vmlinux found ({}); using the dump's own BTF and kallsyms", tried));
        return self;
    }
    std::string pkg =
        release.empty() ? "the kernel's -dbg package" : fmt::format("linux-image-{}-dbg", release);
    return fail(ErrorKind::kNotFound,
                fmt::format("no debug info: {}; and {}. Install {} (Debian/Ubuntu; "
                            "kernel-debuginfo on RHEL) or pass --vmlinux PATH",
                            options.no_vmlinux ? "--no-vmlinux given"
                                               : "no matching vmlinux found (" + tried + ")",
                            self.error().message,
                            pkg));
}

}  // namespace lockhound::kernel
