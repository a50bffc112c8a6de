#pragma once

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/types/optional.h"

namespace idgate {
namespace mock {

// Format rules the mocks apply the way the real services do (a provider
// refuses malformed input with a format code before any lookup), and the
// identity-book test uses to prove the synthetic data valid. They take
// normalized values; normalization is the gateway's job.

// GB 11643-1999 check character ('0'-'9' or 'X') of the first 17 digits;
// '\0' when `first17` is not 17 digits.
char ResidentIdCheckChar(absl::string_view first17);

// The birth date encoded in an 18-character ID, when it is a real date.
absl::optional<absl::CivilDay> ResidentIdBirthDate(absl::string_view id);

// 18 characters, known province prefix, real birth date, valid check
// character (uppercase X).
bool IsValidResidentId(absl::string_view id);

// ^1[3-9]\d{9}$
bool IsValidMobile(absl::string_view mobile);

// 15-19 digits, not all zeros, Luhn check digit.
bool IsValidCardNumber(absl::string_view card);

// Valid UTF-8, 1-64 code points, no control characters, not blank.
bool IsValidName(absl::string_view name);

// 64 lowercase hex digits: a SHA-256 or SM3 digest as sent in hashed mode.
bool IsHexDigest(absl::string_view digest);

}  // namespace mock
}  // namespace idgate
