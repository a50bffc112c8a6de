#pragma once

#include <functional>

#include "absl/time/time.h"
#include "grpcpp/server.h"

namespace idgate {

// Shuts `server` down: new calls are refused, calls in flight may finish
// until `deadline`, and the drain ends as soon as `idle()` says none is left.
//
// gRPC's own Shutdown returns only once every connection has closed, and it
// keeps a connection until the client answers the PING it sends with its
// GOAWAY: an idle gRPC C++ client reads its socket only when its backup
// poller runs (every 5 s), and a client that reads nothing never answers,
// so an idle connection held the drain for up to its whole deadline. Once
// `idle()`, the connections left (and a health or reflection call still on
// them) are closed, as gRPC itself does at the deadline.
void DrainServer(grpc::Server& server, absl::Time deadline,
                 const std::function<bool()>& idle);

}  // namespace idgate
