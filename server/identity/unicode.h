#pragma once

// Minimal UTF-8 decoding and the character classes of names, shared by the
// validators and the masks (internal to server/identity). Abseil and protobuf
// offer no public decoder, and names need code points.

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace idgate::identity::internal {

inline constexpr char32_t kInvalidCodePoint = 0xFFFFFFFF;

// Decodes the code point starting at `text[pos]` (pos < text.size()) into
// `*code_point` and returns the number of bytes it takes. Overlong forms,
// surrogates, values above U+10FFFF and truncated sequences are invalid: then
// `*code_point` is kInvalidCodePoint and 1 is returned, so callers always
// make progress.
std::size_t DecodeUtf8(absl::string_view text, std::size_t pos,
                       char32_t* code_point);

// Appends the UTF-8 form of a valid scalar value.
void AppendUtf8(char32_t code_point, std::string* out);

// Han ideographs (URO, extension A, extensions B-I) and precomposed Latin
// letters (ASCII, Latin-1, Latin Extended-A and B).
bool IsNameLetter(char32_t code_point);

// U+00B7 and the variants normalized to it: U+2022, U+30FB, U+FF0E, '.'.
bool IsMiddleDotVariant(char32_t code_point);

inline constexpr char32_t kMiddleDot = 0x00B7;

}  // namespace idgate::identity::internal
