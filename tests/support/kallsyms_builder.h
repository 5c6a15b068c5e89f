// kallsyms tables laid out as scripts/kallsyms does, for tests and fuzz seeds: each name as
// [len][token bytes] (len >= 0x80 takes a second byte, as 6.1's big symbols), and 256 tokens —
// bytes 0x01.. stand for the given multi-character tokens, printable bytes for themselves — as a
// NUL-separated token table with its u16 index.
//
//   auto t = testing::encode_kallsyms({"Tdown_read", "tlb_thread.cold"}, {"down_", "lb_"});
//   t.names, t.token_table, t.token_index
#pragma once

#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

namespace lockhound::testing {

struct KallsymsTables {
    std::vector<std::uint8_t> names;
    std::string token_table;
    std::vector<std::uint16_t> token_index;  // 256 entries
};

inline KallsymsTables encode_kallsyms(const std::vector<std::string>& typed_names,
                                      const std::vector<std::string>& multi) {
    KallsymsTables t;
    std::vector<std::string> tokens(256);
    for (int c = 0; c < 256; ++c) tokens[c] = std::isprint(c) ? std::string(1, char(c)) : "";
    for (std::size_t i = 0; i < multi.size(); ++i) tokens[1 + i] = multi[i];
    for (const auto& name : typed_names) {
        std::vector<std::uint8_t> enc;
        for (std::size_t p = 0; p < name.size();) {
            std::size_t m = 0;
            while (m < multi.size() && name.compare(p, multi[m].size(), multi[m]) != 0) ++m;
            if (m < multi.size()) {
                enc.push_back(static_cast<std::uint8_t>(1 + m));
                p += multi[m].size();
            } else {
                enc.push_back(static_cast<std::uint8_t>(name[p++]));
            }
        }
        if (enc.size() >= 0x80) {
            t.names.push_back(static_cast<std::uint8_t>(0x80 | (enc.size() & 0x7f)));
            t.names.push_back(static_cast<std::uint8_t>(enc.size() >> 7));
        } else {
            t.names.push_back(static_cast<std::uint8_t>(enc.size()));
        }
        t.names.insert(t.names.end(), enc.begin(), enc.end());
    }
    t.token_index.resize(256);
    for (int i = 0; i < 256; ++i) {
        t.token_index[i] = static_cast<std::uint16_t>(t.token_table.size());
        t.token_table += tokens[i];
        t.token_table.push_back('\0');
    }
    return t;
}

}  // namespace lockhound::testing
