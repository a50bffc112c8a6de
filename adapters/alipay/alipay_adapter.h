#pragma once

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapters/adapter.h"
#include "adapters/typed_factory.h"
#include "idgate/config/v1/config.pb.h"

namespace idgate {
namespace alipay {

inline constexpr char kMethod[] = "alipay.user.certify.open.certify";
// Used when AlipayAdapterConfig.biz_code is empty.
inline constexpr char kDefaultBizCode[] = "FACE_CERTIFY";

// Builds AlipayFaceService adapters from AlipayAdapterConfig. The signing
// key is read once here; requests are signed RSA2 (adapters/signing/) and
// stamped with the factory's clock. Alipay takes no liveness video:
// liveness is judged on the image.
class AlipayAdapterFactory final
    : public TypedAdapterFactory<::idgate::config::v1::AlipayAdapterConfig> {
 public:
  using TypedAdapterFactory::TypedAdapterFactory;

 private:
  absl::Status CheckConfig(
      const ::idgate::config::v1::AlipayAdapterConfig& config) const override;
  absl::StatusOr<std::unique_ptr<Adapter>> CreateTyped(
      const ::idgate::config::v1::AlipayAdapterConfig& config,
      const AdapterEnv& env) const override;
};

}  // namespace alipay
}  // namespace idgate
