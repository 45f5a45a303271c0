// polc::invalidUtf8 and friends: where a text stops being UTF-8, and where
// that is as a line and column.
#include "polc/support/utf8.h"

#include <gtest/gtest.h>

namespace polc {
namespace {

constexpr auto npos = std::string_view::npos;

TEST(Utf8, AcceptsEveryLengthOfCharacter) {
  EXPECT_EQ(invalidUtf8(""), npos);
  EXPECT_EQ(invalidUtf8("ascii\n\t"), npos);
  EXPECT_EQ(invalidUtf8("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9d\x84\x9e \xf4\x8f\xbf\xbf"), npos);
  EXPECT_EQ(invalidUtf8(std::string_view("a\0b", 3)), npos); // NUL is UTF-8 (and refused elsewhere)
}

TEST(Utf8, FindsTheFirstByteOfAMalformedSequence) {
  EXPECT_EQ(invalidUtf8("ab\xff"), 2u);             // never in UTF-8
  EXPECT_EQ(invalidUtf8("ab\x80"), 2u);             // a continuation byte alone
  EXPECT_EQ(invalidUtf8("ab\xc3"), 2u);             // cut off at the end
  EXPECT_EQ(invalidUtf8("ab\xe2\x9c!"), 2u);        // cut off before an ASCII byte
  EXPECT_EQ(invalidUtf8("ab\xc0\xaf"), 2u);         // overlong '/'
  EXPECT_EQ(invalidUtf8("ab\xe0\x80\xaf"), 2u);     // overlong, three bytes
  EXPECT_EQ(invalidUtf8("ab\xed\xa0\x80"), 2u);     // a UTF-16 surrogate
  EXPECT_EQ(invalidUtf8("ab\xf4\x90\x80\x80"), 2u); // beyond U+10FFFF
  EXPECT_EQ(invalidUtf8("\xc3\xa9\xc3\xa9\xff"), 4u);
  EXPECT_FALSE(isUtf8("\xfe\xff"));
  EXPECT_TRUE(isUtf8("\xef\xbb\xbf!bom"));
}

TEST(Utf8, PositionsCountLinesAndColumnsInCodePointsOrBytes) {
  std::string_view text = "first\n  caf\xc3\xa9\xff";
  auto bad = invalidUtf8(text);
  ASSERT_EQ(bad, 13u);
  auto characters = positionOfByte(text, bad, true);
  EXPECT_EQ(characters.line, 2);
  EXPECT_EQ(characters.column, 7);
  auto bytes = positionOfByte(text, bad, false);
  EXPECT_EQ(bytes.line, 2);
  EXPECT_EQ(bytes.column, 8);
  EXPECT_EQ(positionOfByte("\xff", 0, true).column, 1);
  EXPECT_EQ(describeByte(text, bad), "byte 0xff");
}

TEST(Utf8, InvalidBytesAreReplacedOneByOne) {
  EXPECT_EQ(replaceInvalidUtf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(replaceInvalidUtf8("a\xff"
                               "b\xc3"),
            "a\xef\xbf\xbd"
            "b\xef\xbf\xbd");
  EXPECT_EQ(replaceInvalidUtf8("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_TRUE(isUtf8(replaceInvalidUtf8("\x80\x80 ok \xf8")));
}

TEST(Utf8, DecodesToCodePointsAndEncodesBack) {
  EXPECT_EQ(decodeUtf8(""), U"");
  auto text = "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9d\x84\x9e \xf4\x8f\xbf\xbf\x7f";
  auto codePoints = decodeUtf8(text);
  EXPECT_EQ(codePoints, std::u32string(U"caf\u00e9 \u2713 \U0001d11e \U0010ffff\x7f"));
  EXPECT_EQ(encodeUtf8(codePoints), text);
  EXPECT_EQ(encodeUtf8(U"\u0080\u07ff\u0800\uffff\U00010000"),
            "\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80");
}

} // namespace
} // namespace polc
