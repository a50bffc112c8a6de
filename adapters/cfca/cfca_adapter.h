#pragma once

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapters/adapter.h"
#include "adapters/typed_factory.h"
#include "idgate/config/v1/config.pb.h"

namespace idgate {
namespace cfca {

// The (field, form) pairs the adapter sends when the subject has them but
// does not require: the liveness video. Without it CFCA runs silent liveness
// on the image. The minimized subject has it only when the policy allows it.
std::vector<FieldForm> OptionalFields(Check check);

// Builds CfcaFaceService adapters from CfcaAdapterConfig. The signing key
// is read once here; requests are signed SHA256withRSA (adapters/signing/)
// and stamped with the factory's clock.
class CfcaAdapterFactory final
    : public TypedAdapterFactory<::idgate::config::v1::CfcaAdapterConfig> {
 public:
  using TypedAdapterFactory::TypedAdapterFactory;

 private:
  absl::Status CheckConfig(
      const ::idgate::config::v1::CfcaAdapterConfig& config) const override;
  absl::StatusOr<std::unique_ptr<Adapter>> CreateTyped(
      const ::idgate::config::v1::CfcaAdapterConfig& config,
      const AdapterEnv& env) const override;
};

}  // namespace cfca
}  // namespace idgate
