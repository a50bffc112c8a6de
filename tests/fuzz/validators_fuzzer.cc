// Fuzz target over the individual validators, normalizers and masks of
// server/identity. The first input byte chooses the function, the rest is its
// input. Beyond "no crash, no UB", it checks the contracts: refusals carry a
// rule name only, normalized values have their documented shape and are
// fixed points, masks always hide something and emit valid UTF-8.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "core/time.h"
#include "server/identity/masking.h"
#include "server/identity/unicode.h"
#include "server/identity/validators.h"
#include "tests/fuzz/fuzz_check.h"

namespace idgate::identity {
namespace {

// A fixed clock keeps every run reproducible: 2025-06-15 04:00 UTC.
const absl::Time kNow = absl::FromUnixSeconds(1749960000);

constexpr std::size_t kFaceCap = 1024;
constexpr std::size_t kVideoCap = 16;

void CheckRefusal(const absl::Status& status) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  FUZZ_CHECK(IsRuleName(status.message()));
  int payloads = 0;
  status.ForEachPayload(
      [&payloads](absl::string_view, const absl::Cord&) { ++payloads; });
  FUZZ_CHECK(payloads == 0);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

// Code points of valid UTF-8, or -1.
long CountCodePoints(absl::string_view s) {
  long count = 0;
  for (std::size_t pos = 0; pos < s.size(); ++count) {
    char32_t c;
    pos += internal::DecodeUtf8(s, pos, &c);
    if (c == internal::kInvalidCodePoint) return -1;
  }
  return count;
}

// Code points, each invalid byte counting as one.
long CountUnits(absl::string_view s) {
  long count = 0;
  for (std::size_t pos = 0; pos < s.size(); ++count) {
    char32_t c;
    pos += internal::DecodeUtf8(s, pos, &c);
  }
  return count;
}

// A mask is valid UTF-8 without controls, and shows fewer characters than
// the value has: never the whole value. (An input made of '*' may come back
// unchanged, so "masked != input" would be wrong.)
void CheckMask(absl::string_view input, const std::string& masked) {
  FUZZ_CHECK(CountCodePoints(masked) >= 0);
  for (char c : masked) {
    FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F);
  }
  if (input.empty()) return;
  FUZZ_CHECK(masked.find('*') != std::string::npos);
  long shown = 0;
  for (std::size_t pos = 0; pos < masked.size();) {
    char32_t c;
    pos += internal::DecodeUtf8(masked, pos, &c);
    if (c != '*') ++shown;
  }
  FUZZ_CHECK(shown < CountUnits(input));
}

void FuzzIdNumber(absl::string_view input) {
  absl::StatusOr<std::string> id = NormalizeIdNumber(input, kNow);
  if (!id.ok()) return CheckRefusal(id.status());
  FUZZ_CHECK(id->size() == 18);
  FUZZ_CHECK(AllDigits(absl::string_view(*id).substr(0, 17)));
  FUZZ_CHECK(IsDigit((*id)[17]) || (*id)[17] == 'X');
  FUZZ_CHECK(absl::EqualsIgnoreCase(*id, input));
  absl::StatusOr<std::string> again = NormalizeIdNumber(*id, kNow);
  FUZZ_CHECK(again.ok() && *again == *id);
  absl::StatusOr<absl::CivilDay> birth = BirthDateFromIdNumber(*id);
  FUZZ_CHECK(birth.ok());
  FUZZ_CHECK(birth->year() >= 1900 && *birth <= ShanghaiDay(kNow));
  const std::string masked = MaskIdNumber(*id);
  FUZZ_CHECK(masked.substr(0, 3) == id->substr(0, 3));
  FUZZ_CHECK(masked.substr(3, 11) == std::string(11, '*'));
  FUZZ_CHECK(masked.substr(14) == id->substr(14));
}

void FuzzBirthDate(absl::string_view input) {
  absl::StatusOr<absl::CivilDay> birth = BirthDateFromIdNumber(input);
  if (!birth.ok()) return CheckRefusal(birth.status());
  FUZZ_CHECK(birth->year() >= 1900 && birth->year() <= 9999);
  const int age = AgeInYears(*birth, kNow);
  FUZZ_CHECK(IsAdult(*birth, kNow) == (age >= kAdultAge));
}

void FuzzMobile(absl::string_view input) {
  absl::StatusOr<std::string> mobile = NormalizeMobile(input);
  if (!mobile.ok()) return CheckRefusal(mobile.status());
  FUZZ_CHECK(mobile->size() == 11 && AllDigits(*mobile));
  FUZZ_CHECK((*mobile)[0] == '1' && (*mobile)[1] >= '3');
  FUZZ_CHECK(absl::EndsWith(input, *mobile));
  absl::StatusOr<std::string> again = NormalizeMobile(*mobile);
  FUZZ_CHECK(again.ok() && *again == *mobile);
  const std::string masked = MaskMobile(*mobile);
  FUZZ_CHECK(masked == mobile->substr(0, 3) + "****" + mobile->substr(7));
}

void FuzzBankCard(absl::string_view input) {
  absl::StatusOr<std::string> card = NormalizeBankCard(input);
  if (!card.ok()) return CheckRefusal(card.status());
  FUZZ_CHECK(*card == input);
  FUZZ_CHECK(card->size() >= 15 && card->size() <= 19 && AllDigits(*card));
  const std::string masked = MaskBankCard(*card);
  FUZZ_CHECK(masked.size() == card->size());
  FUZZ_CHECK(masked.substr(masked.size() - 4) ==
             card->substr(card->size() - 4));
  FUZZ_CHECK(masked.find_first_not_of('*') == masked.size() - 4);
}

void FuzzName(absl::string_view input) {
  absl::StatusOr<std::string> name = NormalizeName(input);
  if (!name.ok()) return CheckRefusal(name.status());
  const long code_points = CountCodePoints(*name);
  FUZZ_CHECK(code_points >= 1 && code_points <= 64);
  FUZZ_CHECK(name->find(' ') == std::string::npos);
  FUZZ_CHECK(name->find('.') == std::string::npos);
  absl::StatusOr<std::string> again = NormalizeName(*name);
  FUZZ_CHECK(again.ok() && *again == *name);
  const std::string masked = MaskName(*name);
  CheckMask(*name, masked);
  if (code_points > 1) {
    char32_t first;
    const std::size_t first_length = internal::DecodeUtf8(*name, 0, &first);
    FUZZ_CHECK(masked.compare(0, first_length, *name, 0, first_length) == 0);
    FUZZ_CHECK(masked.size() ==
               first_length + static_cast<std::size_t>(code_points - 1));
  }
}

void FuzzFaceImage(absl::string_view input) {
  const absl::Status status = ValidateFaceImage(input, kFaceCap);
  if (!status.ok()) return CheckRefusal(status);
  FUZZ_CHECK(!input.empty() && input.size() <= kFaceCap);
  FUZZ_CHECK(absl::StartsWith(input, "\xFF\xD8\xFF") ||
             absl::StartsWith(input, "\x89PNG\r\n\x1A\n"));
}

void FuzzLivenessVideo(absl::string_view input) {
  const absl::Status status = ValidateLivenessVideo(input, kVideoCap);
  if (!status.ok()) return CheckRefusal(status);
  FUZZ_CHECK(input.size() <= kVideoCap);
}

void FuzzIdentifiers(absl::string_view input) {
  absl::Status status = ValidateRequestId(input);
  if (status.ok()) {
    FUZZ_CHECK(!input.empty() && input.size() <= 64);
  } else {
    CheckRefusal(status);
  }
  status = ValidatePurposeFormat(input);
  if (status.ok()) {
    FUZZ_CHECK(!input.empty() && input.size() <= 64);
    FUZZ_CHECK(!absl::StartsWith(input, ".") && !absl::EndsWith(input, "."));
    FUZZ_CHECK(!absl::StrContains(input, ".."));
  } else {
    CheckRefusal(status);
  }
  status = ValidateOpaqueId(input, 64);
  if (status.ok()) {
    FUZZ_CHECK(!input.empty() && input.size() <= 64);
  } else {
    CheckRefusal(status);
  }
}

// Masks must be safe on anything, not only on normalized values.
void FuzzMasks(absl::string_view input) {
  CheckMask(input, MaskIdNumber(input));
  CheckMask(input, MaskMobile(input));
  CheckMask(input, MaskBankCard(input));
  CheckMask(input, MaskName(input));
}

// Input: 8 bytes of clock (seconds), then year (2), month, day.
void FuzzAge(absl::string_view input) {
  if (input.size() < 12) return;
  std::int64_t seconds;
  std::memcpy(&seconds, input.data(), sizeof(seconds));
  std::int16_t year;
  std::memcpy(&year, input.data() + 8, sizeof(year));
  const absl::CivilDay birth(year, static_cast<unsigned char>(input[10]),
                             static_cast<unsigned char>(input[11]));
  const absl::Time now = absl::FromUnixSeconds(seconds);
  const int age = AgeInYears(birth, now);
  FUZZ_CHECK(IsAdult(birth, now) == (age >= kAdultAge));
  // Monotonic in time; equal to the year difference or one less.
  const absl::Time later = now + absl::Hours(24 * 366);
  if (later > now) FUZZ_CHECK(AgeInYears(birth, later) >= age);
  const absl::CivilDay today = ShanghaiDay(now);
  if (today.year() > -100000 && today.year() < 100000) {
    const long diff = static_cast<long>(today.year() - birth.year());
    FUZZ_CHECK(age == diff || age == diff - 1);
  }
}

}  // namespace
}  // namespace idgate::identity

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace idgate::identity;  // NOLINT: local to the entry point
  if (size == 0) return 0;
  const absl::string_view input(reinterpret_cast<const char*>(data) + 1,
                                size - 1);
  switch (data[0] % 11) {
    case 0:
      FuzzIdNumber(input);
      break;
    case 1:
      FuzzBirthDate(input);
      break;
    case 2:
      FuzzMobile(input);
      break;
    case 3:
      FuzzBankCard(input);
      break;
    case 4:
      FuzzName(input);
      break;
    case 5:
      FuzzFaceImage(input);
      break;
    case 6:
      FuzzLivenessVideo(input);
      break;
    case 7:
      FuzzIdentifiers(input);
      break;
    case 8:
      FuzzMasks(input);
      break;
    case 9:
      FuzzAge(input);
      break;
    default:
      FuzzMasks(input);
      FuzzIdNumber(input);
      break;
  }
  return 0;
}
