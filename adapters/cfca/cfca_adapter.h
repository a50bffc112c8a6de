#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "adapters/adapter.h"

namespace idgate {
namespace cfca {

inline constexpr char kConfigType[] = "idgate.config.v1.CfcaAdapterConfig";

// The (field, form) pairs the adapter sends when the subject has them but
// does not require: the liveness video. Without it CFCA runs silent liveness
// on the image. The minimized subject has it only when the policy allows it.
std::vector<FieldForm> OptionalFields(Check check);

// Builds CfcaFaceService adapters from CfcaAdapterConfig. The signing key
// is read once here; requests are signed SHA256withRSA (adapters/signing/).
class CfcaAdapterFactory : public AdapterFactory {
 public:
  // `now` stamps requests; injectable for tests.
  explicit CfcaAdapterFactory(std::function<absl::Time()> now = [] {
    return absl::Now();
  });

  std::string config_type() const override { return kConfigType; }
  absl::StatusOr<std::unique_ptr<Adapter>> Create(
      const AdapterEnv& env) const override;

 private:
  std::function<absl::Time()> now_;
};

}  // namespace cfca
}  // namespace idgate
