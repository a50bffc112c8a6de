#include "server/identity/masking.h"

#include <algorithm>
#include <cstddef>

#include "server/identity/unicode.h"

namespace idgate::identity {
namespace {

// Code points (invalid bytes count one each) in `text`.
std::size_t CountUnits(absl::string_view text) {
  std::size_t units = 0;
  for (std::size_t pos = 0; pos < text.size(); ++units) {
    char32_t ignored;
    pos += internal::DecodeUtf8(text, pos, &ignored);
  }
  return units;
}

std::string FullyMasked(absl::string_view value) {
  return std::string(CountUnits(value), '*');
}

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

bool IsAsciiAlnum(char c) {
  return IsAsciiDigit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// Keeps `front` and `back` characters when every character satisfies
// `allowed` and at least one character is left to hide.
template <typename Allowed>
std::string MaskAscii(absl::string_view value, std::size_t front,
                      std::size_t back, Allowed allowed) {
  if (value.size() <= front + back ||
      !std::all_of(value.begin(), value.end(), allowed)) {
    return FullyMasked(value);
  }
  std::string masked(value);
  std::fill(masked.begin() + front, masked.end() - back, '*');
  return masked;
}

}  // namespace

std::string MaskIdNumber(absl::string_view id_number) {
  return MaskAscii(id_number, 3, 4, IsAsciiAlnum);
}

std::string MaskMobile(absl::string_view mobile) {
  return MaskAscii(mobile, 3, 4, IsAsciiDigit);
}

std::string MaskBankCard(absl::string_view card_number) {
  return MaskAscii(card_number, 0, 4, IsAsciiDigit);
}

std::string MaskName(absl::string_view name) {
  if (name.empty()) return std::string();
  char32_t first;
  const std::size_t first_length = internal::DecodeUtf8(name, 0, &first);
  const std::size_t rest = CountUnits(name.substr(first_length));
  if (rest == 0 || !internal::IsNameLetter(first)) return FullyMasked(name);
  std::string masked(name.substr(0, first_length));
  masked.append(rest, '*');
  return masked;
}

}  // namespace idgate::identity
