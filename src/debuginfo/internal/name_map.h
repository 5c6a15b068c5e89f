// Hash maps keyed by std::string that can be searched with a std::string_view. Internal.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace lockhound::debuginfo::internal {

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <typename V>
using NameMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// Inserts only when absent, without building a std::string for names already present.
template <typename V>
void insert_if_absent(NameMap<V>& map, std::string_view key, const V& value) {
    if (map.find(key) == map.end()) map.emplace(std::string(key), value);
}

}  // namespace lockhound::debuginfo::internal
