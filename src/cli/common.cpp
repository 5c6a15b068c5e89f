#include "cli/common.h"

#include <array>
#include <charconv>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "report/escape.h"

namespace lockhound::cli {

namespace {

enum class FileKind { kMissing, kVmlinux, kDump, kOther };

FileKind classify(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return FileKind::kMissing;
    std::array<char, 20> head{};
    in.read(head.data(), head.size());
    if (in.gcount() >= 18 && std::memcmp(head.data(),
                                         "\x7f"
                                         "ELF",
                                         4) == 0) {
        auto type = static_cast<std::uint16_t>(static_cast<unsigned char>(head[16]) |
                                               static_cast<unsigned char>(head[17]) << 8);
        return type == 4 ? FileKind::kDump : FileKind::kVmlinux;
    }
    return FileKind::kDump;  // kdump-compressed, flattened, or garbage: open_dump will say
}

}  // namespace

void add_common_options(CLI::App& cmd, CommonOptions& opts, const std::string& positional_help) {
    cmd.add_option("args", opts.positionals, positional_help)->required();
    cmd.add_option("--vmlinux",
                   opts.vmlinux,
                   "vmlinux with DWARF (default: found by build-id, else BTF from the dump)");
    cmd.add_flag("--no-vmlinux", opts.no_vmlinux, "use only the dump's own BTF and kallsyms");
    cmd.add_flag(
        "-q,--quiet", opts.quiet, "do not print warnings about unreadable parts of the dump");
}

std::optional<OpenedKernel> open_kernel(const CommonOptions& opts) {
    OpenedKernel out;
    kernel::OpenOptions ko;
    ko.vmlinux_path = opts.vmlinux;
    ko.no_vmlinux = opts.no_vmlinux;
    for (const auto& p : opts.positionals) {
        switch (classify(p)) {
            case FileKind::kVmlinux:
                if (ko.vmlinux_path.empty())
                    ko.vmlinux_path = p;
                else
                    out.arguments.push_back(p);
                break;
            case FileKind::kDump:
                if (ko.dump_path.empty())
                    ko.dump_path = p;
                else
                    out.arguments.push_back(p);
                break;
            default:
                out.arguments.push_back(p);
        }
    }
    if (ko.dump_path.empty()) {
        fmt::print(stderr, "lockhound: no dump file given (or it does not exist)\n");
        return std::nullopt;
    }
    auto k = kernel::Kernel::open(ko);
    if (!k) {
        fmt::print(stderr, "lockhound: {}\n", report::escape_terminal(k.error().describe()));
        return std::nullopt;
    }
    out.kernel = std::move(*k);
    if (!opts.quiet)
        for (const auto& n : out.kernel->notes())
            fmt::print(stderr, "lockhound: {}\n", report::escape_terminal(n));
    return out;
}

int finish(kernel::Kernel& k, const CommonOptions& opts) {
    const auto& w = k.warnings();
    if (w.empty()) return kExitOk;
    if (!opts.quiet) {
        constexpr std::size_t kShown = 20;
        fmt::print(stderr, "lockhound: {} part(s) of the dump could not be read:\n", w.size());
        for (std::size_t i = 0; i < w.size() && i < kShown; ++i)
            fmt::print(stderr, "  {}\n", report::escape_terminal(w[i]));
        if (w.size() > kShown) fmt::print(stderr, "  ... and {} more\n", w.size() - kShown);
    }
    return kExitPartial;
}

std::optional<std::uint64_t> parse_address(kernel::Kernel& k, const std::string& text) {
    std::string_view s = text;
    int base = 10;
    if (s.starts_with("0x") || s.starts_with("0X")) {
        s.remove_prefix(2);
        base = 16;
    } else if (s.find_first_of("abcdefABCDEF") != std::string_view::npos &&
               s.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos) {
        base = 16;  // bare hex like crash accepts: ffffffffc03a44a0
    }
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return v;
    std::string name(text);
    std::uint64_t add = 0;
    if (auto plus = name.find('+'); plus != std::string::npos) {
        auto off = std::string_view(name).substr(plus + 1);
        int b = 10;
        if (off.starts_with("0x")) off.remove_prefix(2), b = 16;
        std::from_chars(off.data(), off.data() + off.size(), add, b);
        name.resize(plus);
    }
    if (auto a = k.symbols().address_of(name)) return *a + add;
    return std::nullopt;
}

}  // namespace lockhound::cli
