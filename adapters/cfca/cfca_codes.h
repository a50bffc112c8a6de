#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "adapters/adapter.h"
#include "grpcpp/support/status.h"
#include "idgate/provider/v1/cfca.pb.h"

namespace idgate {
namespace cfca {

// CFCA result codes (see CompareFaceResponse.code) and how they are
// normalized. Billing follows the usual rule of authority-backed checks: an
// answer that required the citizen-ID lookup and the comparison is billed,
// one the authority could not give is not.
//
//   code    verdict / status                billed  retryable
//   "2000"  MATCH                            yes     -
//   "2001"  MISMATCH (name and ID differ)    yes     -   (lookup was done)
//   "2002"  NO_RECORD (no ID photo/record)   no      -
//   "2003"  MISMATCH (face differs)          yes     -
//   "2004"  LIVENESS_FAILED                  yes     -
//   "3001"  UNAVAILABLE engine timeout       no      yes
//   "3002"  UNAVAILABLE system busy          no      yes
//   "4001"  INTERNAL signature refused       no      no  (our key/config)
//   "4002"  INTERNAL format refused          no      no  (input was validated)
//   "4003"  RESOURCE_EXHAUSTED daily limit   no      no
//   other   INTERNAL unknown code            no      no  (never a MATCH)
//
// The daily limit is not retried on another provider: it is an
// anti-enumeration signal about the subject, not an outage.
inline constexpr char kPassed[] = "2000";
inline constexpr char kNameIdMismatch[] = "2001";
inline constexpr char kNoIdPhoto[] = "2002";
inline constexpr char kFaceMismatch[] = "2003";
inline constexpr char kLivenessFailed[] = "2004";
inline constexpr char kEngineTimeout[] = "3001";
inline constexpr char kBusy[] = "3002";
inline constexpr char kSignatureInvalid[] = "4001";
inline constexpr char kBadRequest[] = "4002";
inline constexpr char kDailyLimit[] = "4003";

// Whether CFCA bills an answer with `code`.
bool IsBilled(absl::string_view code);

// Normalizes a CFCA answer. Status messages never carry the provider's
// free-text message (it could echo the request).
ProviderOutcome MapResponse(
    const ::idgate::provider::v1::CompareFaceResponse& response);

// `code` when it is a short code-like string ([A-Za-z0-9._-]{0,32}), else
// "<invalid>": what an unknown code may be recorded as.
std::string SafeCode(absl::string_view code);

// Normalizes the whole call: a failed RPC through TransportFailure
// (adapters/provider_call.h), an answer through MapResponse.
ProviderOutcome MapResult(
    const grpc::Status& status,
    const ::idgate::provider::v1::CompareFaceResponse& response);

}  // namespace cfca
}  // namespace idgate
