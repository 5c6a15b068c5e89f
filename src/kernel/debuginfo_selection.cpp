#include "kernel/debuginfo_selection.h"

#include <filesystem>

#include <fmt/format.h>

#include "debuginfo/build_id.h"
#include "debuginfo/dwarf_types.h"
#include "debuginfo/elf_symbols.h"
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

std::vector<std::string> candidate_paths(const dump::DumpFile& dump, const std::string& release) {
    std::vector<std::string> c;
    std::string id = debuginfo::normalize_build_id(dump.vmcoreinfo.build_id());
    if (id.size() > 2)
        c.push_back(
            fmt::format("/usr/lib/debug/.build-id/{}/{}.debug", id.substr(0, 2), id.substr(2)));
    if (!release.empty()) {
        c.push_back("/usr/lib/debug/boot/vmlinux-" + release);
        c.push_back("/usr/lib/debug/lib/modules/" + release + "/vmlinux");
        c.push_back("/lib/modules/" + release + "/build/vmlinux");
    }
    return c;
}

}  // namespace

Result<SelectedDebuginfo> select_debuginfo(const dump::DumpFile& dump,
                                           dump::VirtualMemory& memory,
                                           const OpenOptions& options) {
    (void)memory;
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
    std::vector<std::string> tried;
    if (!options.no_vmlinux) {
        for (const auto& p : candidate_paths(dump, release)) {
            std::error_code ec;
            if (!std::filesystem::exists(p, ec)) {
                tried.push_back(p);
                continue;
            }
            auto r = from_vmlinux(dump, p);
            if (r) return r;
            tried.push_back(fmt::format("{} ({})", p, r.error().message));
        }
    }
    std::string hint = release.empty()
                           ? "the matching -dbg package"
                           : fmt::format("linux-image-{}-dbg (or pass --vmlinux PATH)", release);
    return fail(ErrorKind::kNotFound,
                fmt::format("no debug info: no vmlinux found ({}) and the dump's own BTF/kallsyms "
                            "are not usable yet; install {}",
                            tried.empty() ? "none searched"
                                          : fmt::format("tried {}", fmt::join(tried, ", ")),
                            hint));
}

}  // namespace lockhound::kernel
