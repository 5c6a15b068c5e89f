// Escaping untrusted text (task names are chosen by whoever ran the task) for each output.
//
//   escape_terminal("a\x1b[2Jb")  -> "a\\x1b[2Jb"   (no control bytes reach the terminal)
//   escape_dot("x\"y")           -> "x\\\"y"       (safe inside a DOT "quoted string")
//   sanitize_utf8("\xff")         -> "\\xff"        (valid UTF-8 for JSON encoders)
#pragma once

#include <string>
#include <string_view>

namespace lockhound::report {

// Printable ASCII kept; backslash doubled; every other byte as \xNN.
std::string escape_terminal(std::string_view s);
// For DOT double-quoted strings and HTML-like labels: also escapes " < > & and braces/pipes.
std::string escape_dot(std::string_view s);
// Bytes that are not valid UTF-8, and control bytes, become \xNN text; the result is valid UTF-8.
std::string sanitize_utf8(std::string_view s);

}  // namespace lockhound::report
