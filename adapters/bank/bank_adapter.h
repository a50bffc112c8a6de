#pragma once

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapters/adapter.h"
#include "adapters/typed_factory.h"
#include "idgate/config/v1/config.pb.h"

namespace idgate {

// Bank card four-factor (name, ID number, card number, reserved mobile) over
// idgate.provider.v1.BankService. Card issuers take plain values only.
class BankAdapterFactory final
    : public TypedAdapterFactory<::idgate::config::v1::BankAdapterConfig> {
 public:
  using TypedAdapterFactory::TypedAdapterFactory;

 private:
  absl::Status CheckConfig(
      const ::idgate::config::v1::BankAdapterConfig& config) const override;
  absl::StatusOr<std::unique_ptr<Adapter>> CreateTyped(
      const ::idgate::config::v1::BankAdapterConfig& config,
      const AdapterEnv& env) const override;
};

}  // namespace idgate
