#pragma once

#include "absl/strings/string_view.h"
#include "adapters/adapter.h"
#include "grpcpp/support/status.h"
#include "idgate/provider/v1/bank.pb.h"

namespace idgate {
namespace bank {

// Response codes of the bank four-factor protocol
// (idgate.provider.v1.CheckFourFactorResponse.resp_code), modelled on
// UnionPay / CPCN card verification. Shared by the adapter and the mock;
// bank.proto and the table in bank_codes.cc say how each is normalized.
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
bool IsBilled(absl::string_view code);

}  // namespace bank

// The outcome of a finished call: the transport status, then the raw code
// per the table in bank.proto.
ProviderOutcome MapBankResult(
    const grpc::Status& status,
    const ::idgate::provider::v1::CheckFourFactorResponse& response);

}  // namespace idgate
