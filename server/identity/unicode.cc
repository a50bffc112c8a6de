#include "server/identity/unicode.h"

#include <cstdint>

namespace idgate::identity::internal {
namespace {

bool InRange(unsigned char c, unsigned char lo, unsigned char hi) {
  return c >= lo && c <= hi;
}

}  // namespace

std::size_t DecodeUtf8(absl::string_view text, std::size_t pos,
                       char32_t* code_point) {
  *code_point = kInvalidCodePoint;
  const auto byte = [&](std::size_t i) {
    return static_cast<unsigned char>(text[pos + i]);
  };
  const std::size_t left = text.size() - pos;
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) {
    *code_point = b0;
    return 1;
  }
  // Table 3-7 of the Unicode standard: the allowed range of the second byte
  // depends on the first, which excludes overlong forms and surrogates.
  std::size_t length;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  char32_t value;
  if (InRange(b0, 0xC2, 0xDF)) {
    length = 2;
    value = b0 & 0x1F;
  } else if (InRange(b0, 0xE0, 0xEF)) {
    length = 3;
    value = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (InRange(b0, 0xF0, 0xF4)) {
    length = 4;
    value = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 1;
  }
  if (left < length) return 1;
  if (!InRange(byte(1), lo, hi)) return 1;
  value = (value << 6) | (byte(1) & 0x3F);
  for (std::size_t i = 2; i < length; ++i) {
    if (!InRange(byte(i), 0x80, 0xBF)) return 1;
    value = (value << 6) | (byte(i) & 0x3F);
  }
  *code_point = value;
  return length;
}

void AppendUtf8(char32_t code_point, std::string* out) {
  const auto push = [out](std::uint32_t b) {
    out->push_back(static_cast<char>(b));
  };
  const std::uint32_t cp = code_point;
  if (cp < 0x80) {
    push(cp);
  } else if (cp < 0x800) {
    push(0xC0 | (cp >> 6));
    push(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    push(0xE0 | (cp >> 12));
    push(0x80 | ((cp >> 6) & 0x3F));
    push(0x80 | (cp & 0x3F));
  } else {
    push(0xF0 | (cp >> 18));
    push(0x80 | ((cp >> 12) & 0x3F));
    push(0x80 | ((cp >> 6) & 0x3F));
    push(0x80 | (cp & 0x3F));
  }
}

bool IsNameLetter(char32_t c) {
  const bool han = (c >= 0x3400 && c <= 0x4DBF) ||    // extension A
                   (c >= 0x4E00 && c <= 0x9FFF) ||    // unified ideographs
                   (c >= 0x20000 && c <= 0x2A6DF) ||  // extension B
                   (c >= 0x2A700 && c <= 0x2EE5F) ||  // extensions C-F, I
                   (c >= 0x30000 && c <= 0x323AF);    // extensions G, H
  // Precomposed letters only: without a normalization library, accepting
  // combining marks would let two spellings of one name hash differently.
  const bool latin = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                     (c >= 0x00C0 && c <= 0x024F && c != 0x00D7 && c != 0x00F7);
  return han || latin;
}

bool IsMiddleDotVariant(char32_t c) {
  return c == kMiddleDot || c == 0x2022 || c == 0x30FB || c == 0xFF0E ||
         c == '.';
}

}  // namespace idgate::identity::internal
