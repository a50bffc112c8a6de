#include "server/identity/unicode.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace idgate::identity::internal {
namespace {

struct DecodeCase {
  std::string label;
  std::string bytes;
  char32_t code_point;  // kInvalidCodePoint when refused
  std::size_t length;
};

TEST(DecodeUtf8Test, BoundariesOfTheWellFormedTable) {
  const std::vector<DecodeCase> cases = {
      {"NUL", std::string(1, '\0'), 0, 1},
      {"last ASCII", "\x7F", 0x7F, 1},
      {"first 2-byte", "\xC2\x80", 0x80, 2},
      {"middle dot", "\xC2\xB7", 0xB7, 2},
      {"last 2-byte", "\xDF\xBF", 0x7FF, 2},
      {"first 3-byte", "\xE0\xA0\x80", 0x800, 3},
      {"last before surrogates", "\xED\x9F\xBF", 0xD7FF, 3},
      {"first after surrogates", "\xEE\x80\x80", 0xE000, 3},
      {"last 3-byte", "\xEF\xBF\xBF", 0xFFFF, 3},
      {"first 4-byte", "\xF0\x90\x80\x80", 0x10000, 4},
      {"extension B", "\xF0\xA0\x80\x80", 0x20000, 4},
      {"last scalar", "\xF4\x8F\xBF\xBF", 0x10FFFF, 4},

      {"continuation byte alone", "\x80", kInvalidCodePoint, 1},
      {"overlong 2-byte C0", "\xC0\x80", kInvalidCodePoint, 1},
      {"overlong 2-byte C1", "\xC1\xBF", kInvalidCodePoint, 1},
      {"overlong 3-byte", "\xE0\x9F\xBF", kInvalidCodePoint, 1},
      {"surrogate", "\xED\xA0\x80", kInvalidCodePoint, 1},
      {"overlong 4-byte", "\xF0\x8F\xBF\xBF", kInvalidCodePoint, 1},
      {"above U+10FFFF", "\xF4\x90\x80\x80", kInvalidCodePoint, 1},
      {"F5 lead byte", "\xF5\x80\x80\x80", kInvalidCodePoint, 1},
      {"FF", "\xFF", kInvalidCodePoint, 1},
      {"truncated 2-byte", "\xC2", kInvalidCodePoint, 1},
      {"truncated 3-byte", "\xE4\xB8", kInvalidCodePoint, 1},
      {"truncated 4-byte", "\xF0\xA0\x80", kInvalidCodePoint, 1},
      {"bad third byte", "\xE4\xB8\x41", kInvalidCodePoint, 1},
      {"bad fourth byte", "\xF0\xA0\x80\xC0", kInvalidCodePoint, 1},
  };
  for (const DecodeCase& c : cases) {
    SCOPED_TRACE(c.label);
    char32_t code_point = 0;
    EXPECT_EQ(DecodeUtf8(c.bytes, 0, &code_point), c.length);
    EXPECT_EQ(code_point, c.code_point);
  }
}

TEST(AppendUtf8Test, RoundTripsEveryLengthClass) {
  for (char32_t cp :
       {char32_t{0x41}, char32_t{0xB7}, char32_t{0x7FF}, char32_t{0x5F20},
        char32_t{0xFFFF}, char32_t{0x20000}, char32_t{0x10FFFF}}) {
    std::string encoded;
    AppendUtf8(cp, &encoded);
    char32_t decoded = 0;
    EXPECT_EQ(DecodeUtf8(encoded, 0, &decoded), encoded.size());
    EXPECT_EQ(decoded, cp);
  }
}

TEST(NameCharactersTest, Classes) {
  EXPECT_TRUE(IsNameLetter(0x5F20));    // 张
  EXPECT_TRUE(IsNameLetter(0x3400));    // extension A, first
  EXPECT_TRUE(IsNameLetter(0x9FFF));    // unified, last
  EXPECT_TRUE(IsNameLetter(0x2A6DF));   // extension B, last
  EXPECT_TRUE(IsNameLetter(0x323AF));   // extension H, last
  EXPECT_TRUE(IsNameLetter(0xE9));      // é
  EXPECT_FALSE(IsNameLetter(0xD7));     // ×
  EXPECT_FALSE(IsNameLetter(0x2A6E0));  // gap after extension B
  EXPECT_FALSE(IsNameLetter(0xF900));   // compatibility ideograph
  EXPECT_FALSE(IsNameLetter(0x2F800));  // compatibility supplement
  EXPECT_FALSE(IsNameLetter(0x3007));   // 〇 is not a unified ideograph
  EXPECT_FALSE(IsNameLetter(0x1F600));  // emoji
  EXPECT_FALSE(IsNameLetter(0xB7));
  for (char32_t dot : {char32_t{0xB7}, char32_t{0x2022}, char32_t{0x30FB},
                       char32_t{0xFF0E}, char32_t{'.'}}) {
    EXPECT_TRUE(IsMiddleDotVariant(dot));
  }
  EXPECT_FALSE(IsMiddleDotVariant(0x2027));
}

}  // namespace
}  // namespace idgate::identity::internal
