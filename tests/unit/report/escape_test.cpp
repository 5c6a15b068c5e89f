#include "report/escape.h"

#include <gtest/gtest.h>

namespace lockhound::report {
namespace {

TEST(Escape, TerminalNeverPassesControlBytes) {
    EXPECT_EQ(escape_terminal("cat"), "cat");
    EXPECT_EQ(escape_terminal("a\x1b[2Jb"), "a\\x1b[2Jb");
    EXPECT_EQ(escape_terminal("x\ny\\"), "x\\x0ay\\\\");
    EXPECT_EQ(escape_terminal("\xff\x80"), "\\xff\\x80");
}

TEST(Escape, DotQuotesAndMarkup) {
    EXPECT_EQ(escape_dot("a\"b"), "a\\\"b");
    EXPECT_EQ(escape_dot("<b>&"), "&lt;b&gt;&amp;");
    EXPECT_EQ(escape_dot("x\ny"), "x\\\\x0ay");
    EXPECT_EQ(escape_dot("}\\{"), "\\}\\\\\\{");
}

TEST(Escape, Utf8SanitizedForJson) {
    EXPECT_EQ(sanitize_utf8("plain"), "plain");
    EXPECT_EQ(sanitize_utf8("caf\xc3\xa9"), "caf\xc3\xa9");
    EXPECT_EQ(sanitize_utf8("\xff"), "\\xff");
    EXPECT_EQ(sanitize_utf8("\xe0\x80\x80"), "\\xe0\\x80\\x80");  // overlong
    EXPECT_EQ(sanitize_utf8("a\x01"), "a\\x01");
    EXPECT_EQ(sanitize_utf8("\xc3"), "\\xc3");  // cut sequence
}

}  // namespace
}  // namespace lockhound::report
