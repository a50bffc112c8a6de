#pragma once

// Validators and normalizers for the personal fields of a verification
// request. Pure functions: no gRPC or protobuf types, no clock of their own.
//
// Every refusal is an INVALID_ARGUMENT status whose message is exactly one of
// the stable rule names below and nothing else. The submitted value is never
// formatted into a status, so a refusal can be logged and returned as is.

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace idgate::identity {

// Stable rule names: part of the API (callers match on them), so never reword.
namespace rule {
inline constexpr char kEmpty[] = "empty";
inline constexpr char kMissing[] = "missing";
inline constexpr char kLength[] = "length";
inline constexpr char kCharacters[] = "characters";
inline constexpr char kEncoding[] = "encoding";
inline constexpr char kFormat[] = "format";
inline constexpr char kCheckDigit[] = "check digit";
inline constexpr char kBirthDate[] = "birth date";
inline constexpr char kProvince[] = "province";
inline constexpr char kLuhn[] = "luhn";
inline constexpr char kAllZeros[] = "all zeros";
inline constexpr char kSize[] = "size";
inline constexpr char kMagicBytes[] = "magic bytes";
inline constexpr char kFuture[] = "future";
inline constexpr char kUnknownValue[] = "unknown value";
}  // namespace rule

// True if `message` is one of the rule names above. Lets callers and tests
// assert that a status carries a rule and nothing else.
bool IsRuleName(absl::string_view message);

inline constexpr std::size_t kDefaultMaxFaceImageBytes = 2 * 1024 * 1024;
inline constexpr std::size_t kDefaultMaxLivenessVideoBytes = 8 * 1024 * 1024;
inline constexpr int kAdultAge = 18;

// Resident ID number (GB 11643-1999). Accepts exactly 18 ASCII characters:
// 17 digits and a check character (digit or X, lowercase x normalized to X).
// Checks, in this order (the first failure is reported):
//   "empty", "characters" (anything but ASCII digits and a final X/x: spaces,
//   full-width digits, zero-width characters are refused, never stripped),
//   "length" (15-digit legacy numbers included), "province" (2-digit prefix),
//   "birth date" (a real date, leap years included, from 1900-01-01 to today
//   in Asia/Shanghai), "check digit" (ISO 7064 MOD 11-2).
// Region codes below the province are not checked: old codes stay valid.
absl::StatusOr<std::string> NormalizeIdNumber(absl::string_view id_number,
                                              absl::Time now);

// The birth date encoded in an ID number (characters 7-14). Checks only that
// the 18 characters hold a real date from 1900 on; callers hold a normalized
// number, so the other rules are not repeated.
absl::StatusOr<absl::CivilDay> BirthDateFromIdNumber(
    absl::string_view id_number);

// Completed years on `now`'s date in Asia/Shanghai; the birthday itself
// counts. Someone born on Feb 29 completes a year on Mar 1 in common years,
// the later of the two candidate days, so a minor is never taken for an adult.
// Negative if `birth_date` is after today.
int AgeInYears(absl::CivilDay birth_date, absl::Time now);

// AgeInYears(birth_date, now) >= kAdultAge.
bool IsAdult(absl::CivilDay birth_date, absl::Time now);

// Chinese mainland mobile number. One "+86", "0086" or "86" prefix is
// stripped, then the rest must match ^1[3-9][0-9]{9}$. No separators
// (spaces, dashes, brackets) are accepted.
// Rules: "empty", "characters", "length", "format".
absl::StatusOr<std::string> NormalizeMobile(absl::string_view mobile);

// Bank card number: 15-19 ASCII digits, not all zeros, valid Luhn checksum.
// Rules: "empty", "characters", "length", "all zeros", "luhn".
absl::StatusOr<std::string> NormalizeBankCard(absl::string_view card_number);

// Person name. Surrounding U+0020 and U+3000 spaces are trimmed; then 1-64
// code points of Han ideographs (URO, extension A, extensions B-I), Latin
// letters (ASCII, Latin-1 and Latin Extended-A/B) and the middle dot of
// minority names. The variants U+2022 '•', U+30FB '・', U+FF0E '．' and '.' are
// normalized to U+00B7 '·'; a dot must sit between two letters. Combining
// marks are refused rather than composed, so every accepted name is already
// in NFC and one name has one spelling.
// Rules: "encoding" (invalid UTF-8), "empty", "length", "characters"
// (controls, newlines, inner spaces, bidi controls, zero-width characters,
// emoji...), "format" (dot placement).
absl::StatusOr<std::string> NormalizeName(absl::string_view name);

// Face image: JPEG or PNG, at most `max_bytes`. A JPEG must start with the SOI
// marker and the next marker (FF D8 FF xx, xx in C0-FE); a PNG with its 8-byte
// signature and a complete IHDR chunk. Truncated headers are refused.
// Rules: "empty", "size", "magic bytes".
absl::Status ValidateFaceImage(
    absl::string_view image, std::size_t max_bytes = kDefaultMaxFaceImageBytes);

// Optional liveness video: empty means absent and is accepted.
// Rules: "size".
absl::Status ValidateLivenessVideo(
    absl::string_view video,
    std::size_t max_bytes = kDefaultMaxLivenessVideoBytes);

// Caller-chosen idempotency key: 1-64 characters of [A-Za-z0-9._:-].
// Rules: "empty", "length", "characters".
absl::Status ValidateRequestId(absl::string_view request_id);

// Purpose id: 1-64 characters forming dot-separated segments, each a
// lowercase letter followed by lowercase letters, digits or '_', e.g.
// "esign.signer_identity". Whether the purpose is declared in the config is
// the policy's business, not this function's.
// Rules: "empty", "length", "format".
absl::Status ValidatePurposeFormat(absl::string_view purpose);

// Opaque identifiers chosen by the caller (consent id, recipient provider id):
// 1-`max_length` printable ASCII characters without spaces, so they are safe
// to write to logs and the ledger.
// Rules: "empty", "length", "characters".
absl::Status ValidateOpaqueId(absl::string_view id, std::size_t max_length);

}  // namespace idgate::identity
