#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "adapters/adapter.h"
#include "grpcpp/grpcpp.h"
#include "idgate/config/v1/config.pb.h"
#include "idgate/provider/v1/carrier.grpc.pb.h"

namespace idgate {

// Carrier three-factor (name, ID number, mobile) over
// idgate.provider.v1.CarrierService, in plain or hashed (SHA-256 / SM3) mode.
class CarrierAdapter final : public Adapter {
 public:
  using Stub = ::idgate::provider::v1::CarrierService::Stub;

  static absl::StatusOr<std::unique_ptr<CarrierAdapter>> Create(
      const ::idgate::config::v1::CarrierAdapterConfig& config,
      std::shared_ptr<grpc::Channel> channel, ProviderCallQueue* call_queue);

  std::vector<Check> checks() const override;
  std::vector<FieldForm> RequiredFields(Check check) const override;
  absl::StatusOr<std::unique_ptr<PreparedCall>> Prepare(
      const MinimizedSubject& subject,
      const CallContext& context) const override;

 private:
  CarrierAdapter(::idgate::config::v1::CarrierAdapterConfig config,
                 std::shared_ptr<Stub> stub, ProviderCallQueue* call_queue);

  const ::idgate::config::v1::CarrierAdapterConfig config_;
  const PiiForm form_;
  // Shared with calls in flight, which may outlive a reconfigured adapter.
  const std::shared_ptr<Stub> stub_;
  ProviderCallQueue* const call_queue_;
};

class CarrierAdapterFactory final : public AdapterFactory {
 public:
  std::string config_type() const override;
  absl::StatusOr<std::unique_ptr<Adapter>> Create(
      const AdapterEnv& env) const override;
};

}  // namespace idgate
