#include "adapters/alipay/alipay_adapter.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/alipay/alipay_codes.h"
#include "adapters/provider_call.h"
#include "adapters/signing/signing.h"
#include "core/time.h"
#include "idgate/provider/v1/alipay.grpc.pb.h"

namespace idgate {
namespace alipay {
namespace {

using ::idgate::config::v1::AlipayAdapterConfig;
using ::idgate::provider::v1::AlipayFaceService;
using ::idgate::provider::v1::CertifyFaceRequest;
using ::idgate::provider::v1::CertifyFaceResponse;
using ::idgate::v1::PII_FIELD_FACE_IMAGE;
using ::idgate::v1::PII_FIELD_ID_NUMBER;
using ::idgate::v1::PII_FIELD_NAME;
using ::idgate::v1::PII_FORM_PLAIN;

class AlipayAdapter : public Adapter {
 public:
  AlipayAdapter(AlipayAdapterConfig config,
                std::unique_ptr<signing::RsaSigner> signer,
                std::shared_ptr<AlipayFaceService::Stub> stub,
                ProviderCallQueue* call_queue, std::function<absl::Time()> now)
      : config_(std::move(config)),
        signer_(std::move(signer)),
        stub_(std::move(stub)),
        call_queue_(call_queue),
        now_(std::move(now)) {}

  std::vector<Check> checks() const override {
    return {::idgate::config::v1::CHECK_FACE_VERIFICATION};
  }

  std::vector<FieldForm> RequiredFields(Check check) const override {
    if (check != ::idgate::config::v1::CHECK_FACE_VERIFICATION) return {};
    return {{PII_FIELD_NAME, PII_FORM_PLAIN},
            {PII_FIELD_ID_NUMBER, PII_FORM_PLAIN},
            {PII_FIELD_FACE_IMAGE, PII_FORM_PLAIN}};
  }

  absl::StatusOr<std::unique_ptr<PreparedCall>> Prepare(
      const MinimizedSubject& subject,
      const CallContext& context) const override {
    if (context.check != ::idgate::config::v1::CHECK_FACE_VERIFICATION) {
      return absl::InternalError("alipay: unsupported check");
    }
    auto found =
        RequiredValues(subject, RequiredFields(context.check), "alipay");
    if (!found.ok()) return found.status();
    const std::vector<absl::string_view>& values = *found;
    CertifyFaceRequest request;
    request.set_app_id(config_.app_id());
    request.set_method(kMethod);
    request.set_charset("utf-8");
    request.set_sign_type("RSA2");
    request.set_timestamp(
        absl::FormatTime("%Y-%m-%d %H:%M:%S", now_(), ChinaStandardTime()));
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
    absl::StatusOr<std::string> sign =
        signing::SignRequest(*signer_, request, "sign");
    if (!sign.ok()) {
      return absl::InternalError(absl::StrCat("alipay: cannot sign request: ",
                                              sign.status().message()));
    }
    request.set_sign(*std::move(sign));
    auto stub = stub_;
    return std::unique_ptr<PreparedCall>(
        new UnaryProviderCall<CertifyFaceRequest, CertifyFaceResponse>(
            std::move(request),
            [stub](grpc::ClientContext* context, const CertifyFaceRequest& req,
                   grpc::CompletionQueue* cq) {
              return stub->PrepareAsyncCertifyFace(context, req, cq);
            },
            &MapResult, call_queue_, now_));
  }

 private:
  const AlipayAdapterConfig config_;
  const std::unique_ptr<signing::RsaSigner> signer_;
  const std::shared_ptr<AlipayFaceService::Stub> stub_;
  ProviderCallQueue* const call_queue_;
  const std::function<absl::Time()> now_;
};

}  // namespace

AlipayAdapterFactory::AlipayAdapterFactory(std::function<absl::Time()> now)
    : now_(std::move(now)) {}

absl::StatusOr<std::unique_ptr<Adapter>> AlipayAdapterFactory::Create(
    const AdapterEnv& env) const {
  if (env.provider == nullptr) {
    return absl::InvalidArgumentError("alipay adapter: no provider config");
  }
  const std::string path = absl::StrCat("providers[", env.provider->id(), "]");
  AlipayAdapterConfig config;
  if (!env.provider->adapter().UnpackTo(&config)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".adapter: not a ", kConfigType));
  }
  if (config.app_id().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".adapter.app_id: required"));
  }
  if (env.channel == nullptr || env.call_queue == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": no channel or call queue"));
  }
  const std::string key_path = env.resolve_path
                                   ? env.resolve_path(config.signing_key_file())
                                   : config.signing_key_file();
  auto signer = signing::RsaSigner::FromFile(
      config.signing_key_file().empty() ? "" : key_path,
      absl::StrCat(path, ".adapter.signing_key_file"));
  if (!signer.ok()) return signer.status();
  return std::unique_ptr<Adapter>(
      new AlipayAdapter(std::move(config), *std::move(signer),
                        std::shared_ptr<AlipayFaceService::Stub>(
                            AlipayFaceService::NewStub(env.channel)),
                        env.call_queue, now_));
}

}  // namespace alipay
}  // namespace idgate
