#pragma once

#include <string>

#include "adapters/adapter.h"
#include "grpcpp/support/status.h"
#include "idgate/provider/v1/alipay.pb.h"

namespace idgate {
namespace alipay {

// Alipay gateway codes, sub-codes and how they are normalized. A completed
// certification ("10000") is billed whatever its result, except when there
// was nothing to certify against (NO_RECORD); gateway errors are not billed.
//
//   code / passed / sub_code             verdict / status     billed retryable
//   10000 T                              MATCH                 yes    -
//   10000 F NAME_ID_MISMATCH             MISMATCH              yes    -
//   10000 F NO_RECORD                    NO_RECORD             no     -
//   10000 F FACE_MISMATCH                MISMATCH              yes    -
//   10000 F LIVENESS_RISK                LIVENESS_FAILED       yes    -
//   10000 F other, or passed not T/F     INTERNAL              no     no
//   20000 (any sub_code)                 UNAVAILABLE           no     yes
//   40001 isv.missing-signature, ...     INTERNAL              no     no
//   40002 isv.invalid-signature, ...     INTERNAL              no     no
//   40004 TOO_MANY_ATTEMPTS_TODAY        RESOURCE_EXHAUSTED    no     no
//   40004 other                          INTERNAL              no     no
//   other                                INTERNAL              no     no
//
// A daily limit is not retried on another provider: it is an
// anti-enumeration signal about the subject, not an outage. provider_code
// is "<code>" or "<code>/<sub_code>".
inline constexpr char kSuccess[] = "10000";
inline constexpr char kUnavailable[] = "20000";
inline constexpr char kMissingArgument[] = "40001";
inline constexpr char kInvalidArgument[] = "40002";
inline constexpr char kBusinessFailed[] = "40004";

inline constexpr char kPassedTrue[] = "T";
inline constexpr char kPassedFalse[] = "F";

inline constexpr char kNameIdMismatch[] = "NAME_ID_MISMATCH";
inline constexpr char kNoRecord[] = "NO_RECORD";
inline constexpr char kFaceMismatch[] = "FACE_MISMATCH";
inline constexpr char kLivenessRisk[] = "LIVENESS_RISK";
inline constexpr char kTooManyAttemptsToday[] = "TOO_MANY_ATTEMPTS_TODAY";
// Sic: Alipay spells it so.
inline constexpr char kServiceBusy[] = "isp.unknow-error";
inline constexpr char kMissingSignature[] = "isv.missing-signature";
inline constexpr char kInvalidSignature[] = "isv.invalid-signature";
inline constexpr char kMissingParameter[] = "isv.missing-parameter";
inline constexpr char kInvalidParameter[] = "isv.invalid-parameter";

// Whether Alipay bills `response`.
bool IsBilled(const ::idgate::provider::v1::CertifyFaceResponse& response);

// Normalizes an Alipay answer. Status messages never carry the provider's
// msg/sub_msg texts.
ProviderOutcome MapResponse(
    const ::idgate::provider::v1::CertifyFaceResponse& response);

// Normalizes the whole call: a failed RPC through TransportFailure
// (adapters/provider_call.h), an answer through MapResponse.
ProviderOutcome MapResult(
    const grpc::Status& status,
    const ::idgate::provider::v1::CertifyFaceResponse& response);

}  // namespace alipay
}  // namespace idgate
