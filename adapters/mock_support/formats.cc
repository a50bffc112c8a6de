#include "adapters/mock_support/formats.h"

#include <cstdint>

#include "absl/strings/ascii.h"

namespace idgate {
namespace mock {
namespace {

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return !s.empty();
}

int Number(absl::string_view digits) {
  int n = 0;
  for (char c : digits) n = n * 10 + (c - '0');
  return n;
}

// Province-level codes of GB/T 2260, plus 71/81/82/83 (Taiwan, Hong Kong,
// Macao, and residence permits for Taiwan residents).
bool KnownProvince(int prefix) {
  static constexpr int kProvinces[] = {
      11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43,
      44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83};
  for (int province : kProvinces) {
    if (province == prefix) return true;
  }
  return false;
}

}  // namespace

char ResidentIdCheckChar(absl::string_view first17) {
  if (first17.size() != 17 || !AllDigits(first17)) return '\0';
  static constexpr int kWeights[17] = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                                       3, 7, 9,  10, 5, 8, 4, 2};
  static constexpr char kCheck[] = "10X98765432";
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (first17[i] - '0') * kWeights[i];
  return kCheck[sum % 11];
}

absl::optional<absl::CivilDay> ResidentIdBirthDate(absl::string_view id) {
  if (id.size() != 18 || !AllDigits(id.substr(6, 8))) return absl::nullopt;
  const int year = Number(id.substr(6, 4));
  const int month = Number(id.substr(10, 2));
  const int day = Number(id.substr(12, 2));
  const absl::CivilDay date(year, month, day);
  // CivilDay normalizes out-of-range fields (Feb 30 -> Mar 2): a real date
  // is one that survives unchanged.
  if (year < 1900 || date.year() != year || date.month() != month ||
      date.day() != day) {
    return absl::nullopt;
  }
  return date;
}

bool IsValidResidentId(absl::string_view id) {
  if (id.size() != 18 || !AllDigits(id.substr(0, 17))) return false;
  if (!KnownProvince(Number(id.substr(0, 2)))) return false;
  if (!ResidentIdBirthDate(id).has_value()) return false;
  return ResidentIdCheckChar(id.substr(0, 17)) == id[17];
}

bool IsValidMobile(absl::string_view mobile) {
  return mobile.size() == 11 && AllDigits(mobile) && mobile[0] == '1' &&
         mobile[1] >= '3';
}

bool IsValidCardNumber(absl::string_view card) {
  if (card.size() < 15 || card.size() > 19 || !AllDigits(card)) return false;
  if (card.find_first_not_of('0') == absl::string_view::npos) return false;
  int sum = 0;
  bool twice = false;
  for (auto it = card.rbegin(); it != card.rend(); ++it) {
    int d = *it - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

bool IsValidName(absl::string_view name) {
  int code_points = 0;
  bool blank = true;
  for (size_t i = 0; i < name.size();) {
    const auto lead = static_cast<unsigned char>(name[i]);
    int length;
    uint32_t cp;
    if (lead < 0x80) {
      length = 1;
      cp = lead;
    } else if ((lead & 0xe0) == 0xc0) {
      length = 2;
      cp = lead & 0x1f;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3;
      cp = lead & 0x0f;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4;
      cp = lead & 0x07;
    } else {
      return false;
    }
    if (i + length > name.size()) return false;
    for (int k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(name[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (next & 0x3f);
    }
    // Overlong forms, surrogates and out-of-range values are not UTF-8.
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[length] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return false;
    if (cp != ' ' && cp != 0x3000) blank = false;
    ++code_points;
    i += length;
  }
  return code_points >= 1 && code_points <= 64 && !blank;
}

bool IsHexDigest(absl::string_view digest) {
  if (digest.size() != 64) return false;
  for (char c : digest) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) &&
        (c < 'a' || c > 'f')) {
      return false;
    }
  }
  return true;
}

}  // namespace mock
}  // namespace idgate
