#include "dump/vmcoreinfo.h"

#include <charconv>

namespace lockhound::dump {

namespace {

std::optional<std::uint64_t> parse_hex(std::string_view s) {
    if (s.starts_with("0x") || s.starts_with("0X")) s.remove_prefix(2);
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

std::optional<std::int64_t> parse_dec(std::string_view s) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

std::string keyed(std::string_view kind, std::string_view name) {
    std::string k(kind);
    k += '(';
    k += name;
    k += ')';
    return k;
}

}  // namespace

VmcoreInfo VmcoreInfo::parse(std::string_view text) {
    VmcoreInfo info;
    constexpr std::size_t kMaxEntries = 100000;
    while (!text.empty() && info.raw_.size() < kMaxEntries) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        while (!line.empty() && (line.back() == '\r' || line.back() == '\0')) line.remove_suffix(1);
        auto eq = line.find('=');
        if (eq == std::string_view::npos || eq == 0) continue;
        info.raw_.emplace(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
    }
    return info;
}

std::optional<std::string> VmcoreInfo::value(std::string_view key) const {
    auto it = raw_.find(key);
    if (it == raw_.end()) return std::nullopt;
    return it->second;
}

std::optional<std::uint64_t> VmcoreInfo::symbol(std::string_view name) const {
    auto v = value(keyed("SYMBOL", name));
    return v ? parse_hex(*v) : std::nullopt;
}

std::optional<std::int64_t> VmcoreInfo::number(std::string_view name) const {
    auto v = value(keyed("NUMBER", name));
    return v ? parse_dec(*v) : std::nullopt;
}

std::optional<std::uint64_t> VmcoreInfo::offset(std::string_view name) const {
    auto v = value(keyed("OFFSET", name));
    if (!v) return std::nullopt;
    auto d = parse_dec(*v);
    if (!d || *d < 0) return std::nullopt;
    return static_cast<std::uint64_t>(*d);
}

std::optional<std::uint64_t> VmcoreInfo::size(std::string_view name) const {
    auto v = value(keyed("SIZE", name));
    if (!v) return std::nullopt;
    auto d = parse_dec(*v);
    if (!d || *d < 0) return std::nullopt;
    return static_cast<std::uint64_t>(*d);
}

std::optional<std::uint64_t> VmcoreInfo::length(std::string_view name) const {
    auto v = value(keyed("LENGTH", name));
    if (!v) return std::nullopt;
    auto d = parse_dec(*v);
    if (!d || *d < 0) return std::nullopt;
    return static_cast<std::uint64_t>(*d);
}

std::uint64_t VmcoreInfo::page_size() const {
    auto v = value("PAGESIZE");
    if (!v) return 4096;
    auto d = parse_dec(*v);
    if (!d || *d <= 0 || (*d & (*d - 1)) != 0) return 4096;
    return static_cast<std::uint64_t>(*d);
}

std::uint64_t VmcoreInfo::kernel_offset() const {
    auto v = value("KERNELOFFSET");
    if (!v) return 0;
    return parse_hex(*v).value_or(0);
}

std::optional<std::int64_t> VmcoreInfo::crash_time() const {
    auto v = value("CRASHTIME");
    return v ? parse_dec(*v) : std::nullopt;
}

}  // namespace lockhound::dump
