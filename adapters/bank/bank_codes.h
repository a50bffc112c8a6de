#pragma once

#include "absl/strings/string_view.h"

namespace idgate {
namespace bank {

// Response codes of the bank four-factor protocol
// (idgate.provider.v1.CheckFourFactorResponse.resp_code), modelled on
// UnionPay / CPCN card verification. Shared by the adapter and the mock.
inline constexpr absl::string_view kPassed = "0000";
inline constexpr absl::string_view kBadRequest = "1000";
inline constexpr absl::string_view kBadCardNumber = "1001";
inline constexpr absl::string_view kBadIdNumber = "1002";
inline constexpr absl::string_view kBadName = "1003";
inline constexpr absl::string_view kBadMobile = "1004";
inline constexpr absl::string_view kMismatch = "2001";
inline constexpr absl::string_view kCardLost = "2002";
inline constexpr absl::string_view kCardExpired = "2003";
inline constexpr absl::string_view kCardRestricted = "2004";
inline constexpr absl::string_view kNoSuchCard = "3001";
inline constexpr absl::string_view kBusy = "9001";
inline constexpr absl::string_view kDailyLimit = "9002";

// The issuer bills every answer about the holder's card, card-state
// failures included; refusals, busy and limits are free.
inline bool IsBilled(absl::string_view code) {
  return code == kPassed || code == kMismatch || code == kCardLost ||
         code == kCardExpired || code == kCardRestricted;
}

}  // namespace bank
}  // namespace idgate
