#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "adapters/adapter.h"
#include "grpcpp/grpcpp.h"
#include "idgate/config/v1/config.pb.h"
#include "idgate/provider/v1/bank.grpc.pb.h"

namespace idgate {

// Bank card four-factor (name, ID number, card number, reserved mobile) over
// idgate.provider.v1.BankService. Card issuers take plain values only.
class BankAdapter final : public Adapter {
 public:
  using Stub = ::idgate::provider::v1::BankService::Stub;

  static absl::StatusOr<std::unique_ptr<BankAdapter>> Create(
      const ::idgate::config::v1::BankAdapterConfig& config,
      std::shared_ptr<grpc::Channel> channel, ProviderCallQueue* call_queue);

  std::vector<Check> checks() const override;
  std::vector<FieldForm> RequiredFields(Check check) const override;
  absl::StatusOr<std::unique_ptr<PreparedCall>> Prepare(
      const MinimizedSubject& subject,
      const CallContext& context) const override;

 private:
  BankAdapter(::idgate::config::v1::BankAdapterConfig config,
              std::shared_ptr<Stub> stub, ProviderCallQueue* call_queue);

  const ::idgate::config::v1::BankAdapterConfig config_;
  // Shared with calls in flight, which may outlive a reconfigured adapter.
  const std::shared_ptr<Stub> stub_;
  ProviderCallQueue* const call_queue_;
};

class BankAdapterFactory final : public AdapterFactory {
 public:
  std::string config_type() const override;
  absl::StatusOr<std::unique_ptr<Adapter>> Create(
      const AdapterEnv& env) const override;
};

}  // namespace idgate
