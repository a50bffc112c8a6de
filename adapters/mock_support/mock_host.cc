#include "adapters/mock_support/mock_host.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/server_drain.h"

namespace idgate {

absl::StatusOr<std::unique_ptr<MockHost>> MockHost::Start(
    std::vector<std::unique_ptr<MockProvider>> mocks,
    const std::string& listen_address) {
  std::unique_ptr<MockHost> host(new MockHost());
  host->mocks_ = std::move(mocks);
  grpc::ServerBuilder builder;
  for (auto& mock : host->mocks_) builder.RegisterService(mock->service());
  if (!listen_address.empty()) {
    builder.AddListeningPort(listen_address, grpc::InsecureServerCredentials(),
                             &host->port_);
  }
  // Face images and videos exceed gRPC's 4 MiB default.
  builder.SetMaxReceiveMessageSize(64 << 20);
  host->server_ = builder.BuildAndStart();
  if (host->server_ == nullptr ||
      (!listen_address.empty() && host->port_ == 0)) {
    return absl::UnavailableError(
        absl::StrCat("mock providers: cannot listen on ", listen_address));
  }
  return host;
}

MockHost::~MockHost() { Shutdown(absl::Now()); }

std::shared_ptr<grpc::Channel> MockHost::InProcessChannel() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  return server_->InProcessChannel(args);
}

void MockHost::Shutdown(absl::Time deadline) {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  DrainServer(*server_, deadline, [this] {
    for (const auto& mock : mocks_) {
      if (mock->stats().in_flight > 0) return false;
    }
    return true;
  });
  server_->Wait();
}

}  // namespace idgate
