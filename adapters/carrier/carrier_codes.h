#pragma once

#include "absl/strings/string_view.h"
#include "adapters/adapter.h"
#include "grpcpp/support/status.h"
#include "idgate/provider/v1/carrier.pb.h"

namespace idgate {
namespace carrier {

// Result codes of the carrier three-factor protocol
// (idgate.provider.v1.CheckThreeFactorResponse.code), modelled on the public
// three-factor APIs. Shared by the adapter and the mock; carrier.proto and
// the table in carrier_codes.cc say how each is normalized.
inline constexpr absl::string_view kMatch = "0";         // billed
inline constexpr absl::string_view kBadRequest = "-1";   // malformed request
inline constexpr absl::string_view kMismatch = "-4";     // billed
inline constexpr absl::string_view kBadMobile = "-6";    // mobile format
inline constexpr absl::string_view kBadIdNumber = "-7";  // ID number format
inline constexpr absl::string_view kBadName = "-8";      // name format
inline constexpr absl::string_view kNoRecord = "-9";     // mobile unknown
inline constexpr absl::string_view kSegmentUnsupported = "-10";
inline constexpr absl::string_view kBusy = "-11";
inline constexpr absl::string_view kDailyLimit = "-12";

// The provider bills exactly the answers it could give: match and mismatch.
bool IsBilled(absl::string_view code);

}  // namespace carrier

// The outcome of a finished call: the transport status, then the raw code
// per the table in carrier.proto.
ProviderOutcome MapCarrierResult(
    const grpc::Status& status,
    const ::idgate::provider::v1::CheckThreeFactorResponse& response);

}  // namespace idgate
