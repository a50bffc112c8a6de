#include "adapters/alipay/alipay_adapter.h"

#include <string>
#include <utility>
#include <vector>

#include "adapters/alipay/alipay_codes.h"
#include "adapters/signing/signing.h"
#include "adapters/unary_check_adapter.h"
#include "core/time.h"
#include "idgate/provider/v1/alipay.grpc.pb.h"

namespace idgate {
namespace alipay {
namespace {

using ::idgate::config::v1::AlipayAdapterConfig;
using ::idgate::provider::v1::AlipayFaceService;
using ::idgate::provider::v1::CertifyFaceRequest;
using ::idgate::provider::v1::CertifyFaceResponse;

constexpr PiiForm kPlain = ::idgate::v1::PII_FORM_PLAIN;

class AlipayAdapter final
    : public UnaryCheckAdapter<AlipayFaceService, CertifyFaceRequest,
                               CertifyFaceResponse> {
 public:
  AlipayAdapter(AlipayAdapterConfig config,
                std::unique_ptr<signing::RsaSigner> signer,
                const AdapterEnv& env, Clock now)
      : UnaryCheckAdapter("alipay",
                          ::idgate::config::v1::CHECK_FACE_VERIFICATION,
                          {{::idgate::v1::PII_FIELD_NAME, kPlain},
                           {::idgate::v1::PII_FIELD_ID_NUMBER, kPlain},
                           {::idgate::v1::PII_FIELD_FACE_IMAGE, kPlain}},
                          &AlipayFaceService::Stub::PrepareAsyncCertifyFace,
                          &MapResult, env, std::move(now)),
        config_(std::move(config)),
        signer_(std::move(signer)) {}

 private:
  absl::StatusOr<CertifyFaceRequest> BuildRequest(
      const std::vector<absl::string_view>& values,
      const MinimizedSubject& subject,
      const CallContext& context) const override {
    CertifyFaceRequest request;
    request.set_app_id(config_.app_id());
    request.set_method(kMethod);
    request.set_charset("utf-8");
    request.set_sign_type("RSA2");
    request.set_timestamp(
        absl::FormatTime("%Y-%m-%d %H:%M:%S", Now(), ChinaStandardTime()));
    request.set_version("1.0");
    auto* biz = request.mutable_biz_content();
    biz->set_outer_order_no(context.disclosure_id);
    biz->set_biz_code(config_.biz_code().empty() ? kDefaultBizCode
                                                 : config_.biz_code());
    auto* identity = biz->mutable_identity_param();
    identity->set_identity_type("CERT_INFO");
    identity->set_cert_type("IDENTITY_CARD");
    identity->set_cert_name(std::string(values[0]));
    identity->set_cert_no(std::string(values[1]));
    biz->set_face_image(std::string(values[2]));
    absl::Status signed_ok =
        signing::SignInto(*signer_, request, "sign", "alipay");
    if (!signed_ok.ok()) return signed_ok;
    return request;
  }

  const AlipayAdapterConfig config_;
  const std::unique_ptr<signing::RsaSigner> signer_;
};

}  // namespace

absl::Status AlipayAdapterFactory::CheckConfig(
    const AlipayAdapterConfig& config) const {
  if (config.app_id().empty()) {
    return absl::InvalidArgumentError("app_id: required");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Adapter>> AlipayAdapterFactory::CreateTyped(
    const AlipayAdapterConfig& config, const AdapterEnv& env) const {
  auto signer = signing::RsaSigner::FromFile(
      ResolveConfigPath(env, config.signing_key_file()), "signing_key_file");
  if (!signer.ok()) return signer.status();
  return std::make_unique<AlipayAdapter>(config, *std::move(signer), env,
                                         clock());
}

}  // namespace alipay
}  // namespace idgate
