#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/mock.h"
#include "grpcpp/grpcpp.h"

namespace idgate {

// One gRPC server hosting mock providers: in-process only (embedded mocks,
// tests) or also on a TCP port (idgate-mock-providers). Owns the mocks and
// shuts the server down before destroying them.
class MockHost {
 public:
  // `listen_address` empty: in-process only. A port of 0 picks a free one.
  // Call grpc::EnableDefaultHealthCheckService or the reflection plugin
  // before this if wanted: they apply to servers built afterwards.
  static absl::StatusOr<std::unique_ptr<MockHost>> Start(
      std::vector<std::unique_ptr<MockProvider>> mocks,
      const std::string& listen_address = "");

  // Cancels whatever is still pending.
  ~MockHost();

  // A new in-process channel to the mocks.
  std::shared_ptr<grpc::Channel> InProcessChannel();
  // The bound TCP port, 0 when in-process only.
  int port() const { return port_; }
  grpc::Server* server() { return server_.get(); }
  MockProvider& mock(size_t i) { return *mocks_[i]; }
  size_t size() const { return mocks_.size(); }

  // Lets calls in flight finish until `deadline`, then cancels the rest
  // (hung mocks end with CANCELLED) and waits for them. Ends as soon as no
  // mock has a call in flight, idle connections or not (DrainServer).
  void Shutdown(absl::Time deadline);

 private:
  MockHost() = default;

  std::vector<std::unique_ptr<MockProvider>> mocks_;
  // Declared after the mocks so that it is destroyed first.
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace idgate
