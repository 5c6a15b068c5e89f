#include "report/escape.h"

#include <fmt/format.h>

namespace lockhound::report {

namespace {
void hex(std::string& out, unsigned char c) {
    out += fmt::format("\\x{:02x}", c);
}
}  // namespace

std::string escape_terminal(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '\\')
            out += "\\\\";
        else if (c >= 0x20 && c < 0x7f)
            out += ch;
        else
            hex(out, c);
    }
    return out;
}

std::string escape_dot(std::string_view s) {
    std::string out;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            case '{':
            case '}':
            case '|':
                out += '\\';
                out += ch;
                break;
            default:
                if (c >= 0x20 && c < 0x7f)
                    out += ch;
                else
                    out += fmt::format("\\\\x{:02x}", c);  // a literal \xNN in the label
        }
    }
    return out;
}

std::string sanitize_utf8(std::string_view s) {
    std::string out;
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) {
            hex(out, c);
            ++i;
            continue;
        }
        if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
            continue;
        }
        std::size_t len = 0;
        if (c >= 0xf0 && c <= 0xf4)
            len = 4;
        else if (c >= 0xe0)
            len = 3;
        else if (c >= 0xc2 && c < 0xe0)
            len = 2;
        bool ok = len > 0 && i + len <= s.size();
        for (std::size_t k = 1; ok && k < len; ++k)
            ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
        if (ok && len == 3) {  // no overlongs or surrogates
            auto c1 = static_cast<unsigned char>(s[i + 1]);
            ok = (c != 0xe0 || c1 >= 0xa0) && (c != 0xed || c1 < 0xa0);
        }
        if (ok && len == 4) {
            auto c1 = static_cast<unsigned char>(s[i + 1]);
            ok = (c != 0xf0 || c1 >= 0x90) && (c != 0xf4 || c1 < 0x90);
        }
        if (!ok) {
            hex(out, c);
            ++i;
            continue;
        }
        out.append(s.substr(i, len));
        i += len;
    }
    return out;
}

}  // namespace lockhound::report
