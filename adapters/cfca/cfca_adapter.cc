#include "adapters/cfca/cfca_adapter.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "adapters/cfca/cfca_codes.h"
#include "adapters/provider_call.h"
#include "adapters/signing/signing.h"
#include "core/time.h"
#include "idgate/provider/v1/cfca.grpc.pb.h"

namespace idgate {
namespace cfca {
namespace {

using ::idgate::config::v1::CfcaAdapterConfig;
using ::idgate::provider::v1::CfcaFaceService;
using ::idgate::provider::v1::CompareFaceRequest;
using ::idgate::provider::v1::CompareFaceResponse;
using ::idgate::v1::PII_FIELD_FACE_IMAGE;
using ::idgate::v1::PII_FIELD_ID_NUMBER;
using ::idgate::v1::PII_FIELD_LIVENESS_VIDEO;
using ::idgate::v1::PII_FIELD_NAME;
using ::idgate::v1::PII_FORM_PLAIN;

constexpr char kSignAlg[] = "SHA256withRSA";

class CfcaAdapter : public Adapter {
 public:
  CfcaAdapter(CfcaAdapterConfig config,
              std::unique_ptr<signing::RsaSigner> signer,
              std::shared_ptr<CfcaFaceService::Stub> stub,
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
      return absl::InternalError("cfca: unsupported check");
    }
    auto found = RequiredValues(subject, RequiredFields(context.check), "cfca");
    if (!found.ok()) return found.status();
    const std::vector<absl::string_view>& values = *found;
    CompareFaceRequest request;
    request.set_institution_id(config_.institution_id());
    request.set_tx_code(config_.tx_code());
    request.set_tx_sn(context.disclosure_id);
    request.set_timestamp(
        absl::FormatTime("%Y%m%d%H%M%S", now_(), ChinaStandardTime()));
    request.set_name(std::string(values[0]));
    request.set_id_number(std::string(values[1]));
    request.set_face_image(std::string(values[2]));
    // Optional: only when the caller supplied it and the policy allows it.
    if (auto video = subject.Get(PII_FIELD_LIVENESS_VIDEO, PII_FORM_PLAIN);
        video.has_value() && !video->empty()) {
      request.set_liveness_video(std::string(*video));
    }
    request.set_sign_alg(kSignAlg);
    absl::StatusOr<std::string> signature =
        signing::SignRequest(*signer_, request, "signature");
    if (!signature.ok()) {
      return absl::InternalError(absl::StrCat("cfca: cannot sign request: ",
                                              signature.status().message()));
    }
    request.set_signature(*std::move(signature));
    auto stub = stub_;
    return std::unique_ptr<PreparedCall>(
        new UnaryProviderCall<CompareFaceRequest, CompareFaceResponse>(
            std::move(request),
            [stub](grpc::ClientContext* context, const CompareFaceRequest& req,
                   grpc::CompletionQueue* cq) {
              return stub->PrepareAsyncCompareFace(context, req, cq);
            },
            &MapResult, call_queue_, now_));
  }

 private:
  const CfcaAdapterConfig config_;
  const std::unique_ptr<signing::RsaSigner> signer_;
  const std::shared_ptr<CfcaFaceService::Stub> stub_;
  ProviderCallQueue* const call_queue_;
  const std::function<absl::Time()> now_;
};

}  // namespace

std::vector<FieldForm> OptionalFields(Check check) {
  if (check != ::idgate::config::v1::CHECK_FACE_VERIFICATION) return {};
  return {{PII_FIELD_LIVENESS_VIDEO, PII_FORM_PLAIN}};
}

CfcaAdapterFactory::CfcaAdapterFactory(std::function<absl::Time()> now)
    : now_(std::move(now)) {}

absl::StatusOr<std::unique_ptr<Adapter>> CfcaAdapterFactory::Create(
    const AdapterEnv& env) const {
  if (env.provider == nullptr) {
    return absl::InvalidArgumentError("cfca adapter: no provider config");
  }
  const std::string path = absl::StrCat("providers[", env.provider->id(), "]");
  CfcaAdapterConfig config;
  if (!env.provider->adapter().UnpackTo(&config)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".adapter: not a ", kConfigType));
  }
  if (config.institution_id().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".adapter.institution_id: required"));
  }
  if (config.tx_code().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".adapter.tx_code: required"));
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
      new CfcaAdapter(std::move(config), *std::move(signer),
                      std::shared_ptr<CfcaFaceService::Stub>(
                          CfcaFaceService::NewStub(env.channel)),
                      env.call_queue, now_));
}

}  // namespace cfca
}  // namespace idgate
