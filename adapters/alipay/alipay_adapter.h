#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "adapters/adapter.h"

namespace idgate {
namespace alipay {

inline constexpr char kConfigType[] = "idgate.config.v1.AlipayAdapterConfig";
inline constexpr char kMethod[] = "alipay.user.certify.open.certify";
// Used when AlipayAdapterConfig.biz_code is empty.
inline constexpr char kDefaultBizCode[] = "FACE_CERTIFY";

// Builds AlipayFaceService adapters from AlipayAdapterConfig. The signing
// key is read once here; requests are signed RSA2 (adapters/signing/).
// Alipay takes no liveness video: liveness is judged on the image.
class AlipayAdapterFactory : public AdapterFactory {
 public:
  // `now` stamps requests; injectable for tests.
  explicit AlipayAdapterFactory(std::function<absl::Time()> now = [] {
    return absl::Now();
  });

  std::string config_type() const override { return kConfigType; }
  absl::StatusOr<std::unique_ptr<Adapter>> Create(
      const AdapterEnv& env) const override;

 private:
  std::function<absl::Time()> now_;
};

}  // namespace alipay
}  // namespace idgate
