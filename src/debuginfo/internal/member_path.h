// Splitting a member path ("thread.sp", "mem[1].base") into components. Internal to debuginfo.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace lockhound::debuginfo::internal {

struct PathComponent {
    std::string_view name;
    std::optional<std::uint64_t> index;  // "mem[1]" -> 1
};

// nullopt for a malformed path ("", "a..b", "a[", "a[x]").
inline std::optional<std::vector<PathComponent>> split_member_path(std::string_view path) {
    std::vector<PathComponent> out;
    if (path.empty()) return std::nullopt;
    while (true) {
        std::size_t dot = path.find('.');
        std::string_view part = path.substr(0, dot);
        PathComponent c;
        std::size_t br = part.find('[');
        if (br != std::string_view::npos) {
            if (part.back() != ']' || br + 2 >= part.size()) return std::nullopt;
            std::uint64_t v = 0;
            for (char ch : part.substr(br + 1, part.size() - br - 2)) {
                if (ch < '0' || ch > '9' || v > (1ull << 40)) return std::nullopt;
                v = v * 10 + static_cast<std::uint64_t>(ch - '0');
            }
            c.index = v;
            part = part.substr(0, br);
        }
        if (part.empty()) return std::nullopt;
        c.name = part;
        out.push_back(c);
        if (dot == std::string_view::npos) break;
        path.remove_prefix(dot + 1);
    }
    return out;
}

}  // namespace lockhound::debuginfo::internal
