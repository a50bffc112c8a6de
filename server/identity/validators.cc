#include "server/identity/validators.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "core/time.h"
#include "server/identity/unicode.h"

namespace idgate::identity {
namespace {

// The only way this file builds an error: from a rule name, never a value.
absl::Status Violation(const char* rule_name) {
  return absl::InvalidArgumentError(rule_name);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllDigits(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), IsDigit);
}

int DigitsToInt(absl::string_view digits) {
  int value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  return value;
}

// ---- Resident ID ----------------------------------------------------------

constexpr std::size_t kIdLength = 18;
constexpr int kIdWeights[17] = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                                3, 7, 9,  10, 5, 8, 4, 2};
// Indexed by the weighted sum mod 11.
constexpr char kIdCheckCharacters[] = "10X98765432";
constexpr int kMinBirthYear = 1900;
// Bounds the calendar years in AgeInYears' arithmetic.
constexpr std::int64_t kYearBound = std::int64_t{1} << 40;

// Province-level codes of GB/T 2260, 71 (Taiwan), 81 (Hong Kong) and 82
// (Macau) included, plus 83: the residence permits of Hong Kong, Macau and
// Taiwan residents (2018 on) follow GB 11643 with prefixes 81, 82 and 83.
// Foreigners' permanent residence IDs (first digit 9, 2023 on) place the
// birth date elsewhere, so they must not pass as resident IDs.
constexpr int kProvinceCodes[] = {
    11, 12, 13, 14, 15,          // north
    21, 22, 23,                  // north-east
    31, 32, 33, 34, 35, 36, 37,  // east
    41, 42, 43, 44, 45, 46,      // south-central
    50, 51, 52, 53, 54,          // south-west
    61, 62, 63, 64, 65,          // north-west
    71, 81, 82, 83};             // Taiwan, Hong Kong, Macau, permits

bool IsProvinceCode(int code) {
  return std::find(std::begin(kProvinceCodes), std::end(kProvinceCodes),
                   code) != std::end(kProvinceCodes);
}

// `yyyymmdd` holds 8 ASCII digits.
absl::StatusOr<absl::CivilDay> ParseCivilDay(absl::string_view yyyymmdd) {
  const int year = DigitsToInt(yyyymmdd.substr(0, 4));
  const int month = DigitsToInt(yyyymmdd.substr(4, 2));
  const int day = DigitsToInt(yyyymmdd.substr(6, 2));
  const absl::CivilDay date(year, month, day);
  // CivilDay normalizes out-of-range fields (Feb 30 -> Mar 2): a change
  // means the date does not exist.
  if (year < kMinBirthYear || date.year() != year || date.month() != month ||
      date.day() != day) {
    return Violation(rule::kBirthDate);
  }
  return date;
}

char ExpectedCheckCharacter(absl::string_view first17) {
  int sum = 0;
  for (std::size_t i = 0; i < 17; ++i) {
    sum += (first17[i] - '0') * kIdWeights[i];
  }
  return kIdCheckCharacters[sum % 11];
}

// ---- Names ----------------------------------------------------------------

constexpr std::size_t kMaxNameCodePoints = 64;

bool IsNameSpace(char32_t c) { return c == 0x0020 || c == 0x3000; }

// ---- Other fields ---------------------------------------------------------

constexpr std::size_t kMobileLength = 11;
constexpr std::size_t kMinCardLength = 15;
constexpr std::size_t kMaxCardLength = 19;
constexpr std::size_t kMaxRequestIdLength = 64;
constexpr std::size_t kMaxPurposeLength = 64;

bool IsRequestIdCharacter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || IsDigit(c) ||
         c == '.' || c == '_' || c == ':' || c == '-';
}

bool IsPurposeSegment(absl::string_view segment) {
  if (segment.empty() || segment[0] < 'a' || segment[0] > 'z') return false;
  return std::all_of(segment.begin(), segment.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || IsDigit(c) || c == '_';
  });
}

bool PassesLuhn(absl::string_view digits) {
  int sum = 0;
  bool double_it = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (double_it) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double_it = !double_it;
  }
  return sum % 10 == 0;
}

bool IsJpeg(absl::string_view b) {
  return b.size() >= 4 && b[0] == '\xFF' && b[1] == '\xD8' && b[2] == '\xFF' &&
         static_cast<unsigned char>(b[3]) >= 0xC0 &&
         static_cast<unsigned char>(b[3]) <= 0xFE;
}

bool IsPng(absl::string_view b) {
  constexpr absl::string_view kSignature("\x89PNG\r\n\x1A\n", 8);
  // IHDR must come first: 4-byte length 13, the type, 13 data bytes, CRC.
  constexpr absl::string_view kIhdrHeader("\0\0\0\x0DIHDR", 8);
  constexpr std::size_t kMinPngHeader = 8 + 8 + 13 + 4;
  return b.size() >= kMinPngHeader && b.substr(0, 8) == kSignature &&
         b.substr(8, 8) == kIhdrHeader;
}

}  // namespace

bool IsRuleName(absl::string_view message) {
  static constexpr const char* kRules[] = {
      rule::kEmpty,      rule::kMissing, rule::kLength,      rule::kCharacters,
      rule::kEncoding,   rule::kFormat,  rule::kCheckDigit,  rule::kBirthDate,
      rule::kProvince,   rule::kLuhn,    rule::kAllZeros,    rule::kSize,
      rule::kMagicBytes, rule::kFuture,  rule::kUnknownValue};
  return std::any_of(std::begin(kRules), std::end(kRules),
                     [message](const char* r) { return message == r; });
}

absl::StatusOr<std::string> NormalizeIdNumber(absl::string_view id_number,
                                              absl::Time now) {
  if (id_number.empty()) return Violation(rule::kEmpty);
  for (char c : id_number) {
    if (!IsDigit(c) && c != 'X' && c != 'x') {
      return Violation(rule::kCharacters);
    }
  }
  if (id_number.size() != kIdLength) return Violation(rule::kLength);
  // X only as the check character.
  if (!AllDigits(id_number.substr(0, 17))) return Violation(rule::kCharacters);
  if (!IsProvinceCode(DigitsToInt(id_number.substr(0, 2)))) {
    return Violation(rule::kProvince);
  }
  absl::StatusOr<absl::CivilDay> birth_date =
      ParseCivilDay(id_number.substr(6, 8));
  if (!birth_date.ok()) return birth_date.status();
  if (*birth_date > ShanghaiDay(now)) return Violation(rule::kBirthDate);

  std::string normalized(id_number);
  if (normalized[17] == 'x') normalized[17] = 'X';
  if (normalized[17] != ExpectedCheckCharacter(normalized)) {
    return Violation(rule::kCheckDigit);
  }
  return normalized;
}

absl::StatusOr<absl::CivilDay> BirthDateFromIdNumber(
    absl::string_view id_number) {
  if (id_number.size() != kIdLength) return Violation(rule::kLength);
  const absl::string_view digits = id_number.substr(6, 8);
  if (!AllDigits(digits)) return Violation(rule::kCharacters);
  return ParseCivilDay(digits);
}

int AgeInYears(absl::CivilDay birth_date, absl::Time now) {
  const absl::CivilDay today = ShanghaiDay(now);
  // Years from an infinite clock span the whole int64 range: bound them so
  // the subtraction cannot overflow, then clamp the result to int.
  const auto bounded = [](std::int64_t year) {
    return std::clamp(year, -kYearBound, kYearBound);
  };
  std::int64_t age = bounded(today.year()) - bounded(birth_date.year());
  if (today.month() < birth_date.month() ||
      (today.month() == birth_date.month() && today.day() < birth_date.day())) {
    --age;
  }
  return static_cast<int>(std::clamp<std::int64_t>(
      age, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
}

bool IsAdult(absl::CivilDay birth_date, absl::Time now) {
  return AgeInYears(birth_date, now) >= kAdultAge;
}

absl::StatusOr<std::string> NormalizeMobile(absl::string_view mobile) {
  if (mobile.empty()) return Violation(rule::kEmpty);
  // A bare mobile starts with 1, so stripping "86" never eats a real digit.
  if (!absl::ConsumePrefix(&mobile, "+86") &&
      !absl::ConsumePrefix(&mobile, "0086")) {
    absl::ConsumePrefix(&mobile, "86");
  }
  if (!AllDigits(mobile)) return Violation(rule::kCharacters);
  if (mobile.size() != kMobileLength) return Violation(rule::kLength);
  if (mobile[0] != '1' || mobile[1] < '3') return Violation(rule::kFormat);
  return std::string(mobile);
}

absl::StatusOr<std::string> NormalizeBankCard(absl::string_view card_number) {
  if (card_number.empty()) return Violation(rule::kEmpty);
  if (!AllDigits(card_number)) return Violation(rule::kCharacters);
  if (card_number.size() < kMinCardLength ||
      card_number.size() > kMaxCardLength) {
    return Violation(rule::kLength);
  }
  // Checked before Luhn: all zeros passes the checksum.
  if (card_number.find_first_not_of('0') == absl::string_view::npos) {
    return Violation(rule::kAllZeros);
  }
  if (!PassesLuhn(card_number)) return Violation(rule::kLuhn);
  return std::string(card_number);
}

absl::StatusOr<std::string> NormalizeName(absl::string_view name) {
  // One pass: check the whole encoding first, keep at most
  // kMaxNameCodePoints code points so a huge input costs no memory.
  // Trailing spaces stay pending until a non-space shows they are inner.
  std::vector<char32_t> code_points;
  code_points.reserve(kMaxNameCodePoints + 1);
  std::size_t pending_spaces = 0;
  bool too_long = false;
  for (std::size_t pos = 0; pos < name.size();) {
    char32_t c;
    pos += internal::DecodeUtf8(name, pos, &c);
    if (c == internal::kInvalidCodePoint) return Violation(rule::kEncoding);
    if (too_long) continue;
    if (IsNameSpace(c)) {
      if (!code_points.empty()) ++pending_spaces;
      continue;
    }
    const std::size_t needed = code_points.size() + pending_spaces + 1;
    if (needed > kMaxNameCodePoints) {
      too_long = true;
      continue;
    }
    code_points.insert(code_points.end(), pending_spaces, char32_t{0x20});
    pending_spaces = 0;
    code_points.push_back(c);
  }
  if (too_long) return Violation(rule::kLength);
  if (code_points.empty()) return Violation(rule::kEmpty);

  std::string normalized;
  normalized.reserve(code_points.size() * 4);
  bool previous_is_dot = true;  // a leading dot is misplaced
  for (char32_t c : code_points) {
    if (internal::IsMiddleDotVariant(c)) {
      if (previous_is_dot) return Violation(rule::kFormat);
      previous_is_dot = true;
      internal::AppendUtf8(internal::kMiddleDot, &normalized);
    } else if (internal::IsNameLetter(c)) {
      previous_is_dot = false;
      internal::AppendUtf8(c, &normalized);
    } else {
      return Violation(rule::kCharacters);
    }
  }
  if (previous_is_dot) return Violation(rule::kFormat);
  return normalized;
}

absl::Status ValidateFaceImage(absl::string_view image, std::size_t max_bytes) {
  if (image.empty()) return Violation(rule::kEmpty);
  if (image.size() > max_bytes) return Violation(rule::kSize);
  if (!IsJpeg(image) && !IsPng(image)) return Violation(rule::kMagicBytes);
  return absl::OkStatus();
}

absl::Status ValidateLivenessVideo(absl::string_view video,
                                   std::size_t max_bytes) {
  if (video.size() > max_bytes) return Violation(rule::kSize);
  return absl::OkStatus();
}

absl::Status ValidateRequestId(absl::string_view request_id) {
  if (request_id.empty()) return Violation(rule::kEmpty);
  if (request_id.size() > kMaxRequestIdLength) return Violation(rule::kLength);
  if (!std::all_of(request_id.begin(), request_id.end(),
                   IsRequestIdCharacter)) {
    return Violation(rule::kCharacters);
  }
  return absl::OkStatus();
}

absl::Status ValidatePurposeFormat(absl::string_view purpose) {
  if (purpose.empty()) return Violation(rule::kEmpty);
  if (purpose.size() > kMaxPurposeLength) return Violation(rule::kLength);
  for (absl::string_view segment : absl::StrSplit(purpose, '.')) {
    if (!IsPurposeSegment(segment)) return Violation(rule::kFormat);
  }
  return absl::OkStatus();
}

absl::Status ValidateOpaqueId(absl::string_view id, std::size_t max_length) {
  if (id.empty()) return Violation(rule::kEmpty);
  if (id.size() > max_length) return Violation(rule::kLength);
  if (!std::all_of(id.begin(), id.end(),
                   [](char c) { return c > 0x20 && c < 0x7F; })) {
    return Violation(rule::kCharacters);
  }
  return absl::OkStatus();
}

}  // namespace idgate::identity
