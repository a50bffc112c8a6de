#pragma once

// How errors carry more than a code and a message, the same way everywhere:
// machine-readable payloads that the gRPC boundary turns into status
// details, and one way to say where an error came from.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace idgate {

// absl::Status payload type URLs; the gRPC boundary turns each payload into
// a status detail of that type.
inline constexpr char kBadRequestTypeUrl[] =
    "type.googleapis.com/idgate.v1.BadRequest";
inline constexpr char kErrorReasonTypeUrl[] =
    "type.googleapis.com/idgate.v1.ErrorReason";
inline constexpr char kRetryDelayTypeUrl[] =
    "type.googleapis.com/google.protobuf.Duration";

// `status` with an idgate.v1.ErrorReason payload: a machine-readable reason
// for callers that branch on it (e.g. "SUBJECT_LIMIT").
absl::Status WithReason(absl::Status status, absl::string_view reason);

// The reason WithReason attached, or "" when there is none.
std::string ReasonOf(const absl::Status& status);

// "<prefix>: <message>" with the same code and payloads; OK stays OK.
absl::Status Prefixed(absl::string_view prefix, const absl::Status& status);

}  // namespace idgate
