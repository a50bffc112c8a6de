#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace idgate {

// The one place absl::Status becomes grpc::Status. Payloads (BadRequest,
// ErrorReason, retry delay) travel as google.rpc.Status details in the
// grpc-status-details-bin trailer. Messages hold no personal values by
// construction upstream; nothing is added here.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace idgate
