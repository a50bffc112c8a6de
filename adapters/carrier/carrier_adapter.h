#pragma once

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapters/adapter.h"
#include "adapters/typed_factory.h"
#include "idgate/config/v1/config.pb.h"

namespace idgate {

// Carrier three-factor (name, ID number, mobile) over
// idgate.provider.v1.CarrierService, in plain or hashed (SHA-256 / SM3) mode.
class CarrierAdapterFactory final
    : public TypedAdapterFactory<::idgate::config::v1::CarrierAdapterConfig> {
 public:
  using TypedAdapterFactory::TypedAdapterFactory;

 private:
  absl::Status CheckConfig(
      const ::idgate::config::v1::CarrierAdapterConfig& config) const override;
  absl::StatusOr<std::unique_ptr<Adapter>> CreateTyped(
      const ::idgate::config::v1::CarrierAdapterConfig& config,
      const AdapterEnv& env) const override;
};

}  // namespace idgate
