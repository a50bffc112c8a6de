#include "adapters/cfca/cfca_adapter.h"

#include <string>
#include <utility>

#include "adapters/cfca/cfca_codes.h"
#include "adapters/signing/signing.h"
#include "adapters/unary_check_adapter.h"
#include "core/time.h"
#include "idgate/provider/v1/cfca.grpc.pb.h"

namespace idgate {
namespace cfca {
namespace {

using ::idgate::config::v1::CfcaAdapterConfig;
using ::idgate::provider::v1::CfcaFaceService;
using ::idgate::provider::v1::CompareFaceRequest;
using ::idgate::provider::v1::CompareFaceResponse;

constexpr PiiForm kPlain = ::idgate::v1::PII_FORM_PLAIN;

constexpr char kSignAlg[] = "SHA256withRSA";

class CfcaAdapter final
    : public UnaryCheckAdapter<CfcaFaceService, CompareFaceRequest,
                               CompareFaceResponse> {
 public:
  CfcaAdapter(CfcaAdapterConfig config,
              std::unique_ptr<signing::RsaSigner> signer, const AdapterEnv& env,
              Clock now)
      : UnaryCheckAdapter("cfca", ::idgate::config::v1::CHECK_FACE_VERIFICATION,
                          {{::idgate::v1::PII_FIELD_NAME, kPlain},
                           {::idgate::v1::PII_FIELD_ID_NUMBER, kPlain},
                           {::idgate::v1::PII_FIELD_FACE_IMAGE, kPlain}},
                          &CfcaFaceService::Stub::PrepareAsyncCompareFace,
                          &MapResult, env, std::move(now)),
        config_(std::move(config)),
        signer_(std::move(signer)) {}

 private:
  absl::StatusOr<CompareFaceRequest> BuildRequest(
      const std::vector<absl::string_view>& values,
      const MinimizedSubject& subject,
      const CallContext& context) const override {
    CompareFaceRequest request;
    request.set_institution_id(config_.institution_id());
    request.set_tx_code(config_.tx_code());
    request.set_tx_sn(context.disclosure_id);
    request.set_timestamp(
        absl::FormatTime("%Y%m%d%H%M%S", Now(), ChinaStandardTime()));
    request.set_name(std::string(values[0]));
    request.set_id_number(std::string(values[1]));
    request.set_face_image(std::string(values[2]));
    // Optional: only when the caller supplied it and the policy allows it.
    if (auto video =
            subject.Get(::idgate::v1::PII_FIELD_LIVENESS_VIDEO, kPlain);
        video.has_value() && !video->empty()) {
      request.set_liveness_video(std::string(*video));
    }
    request.set_sign_alg(kSignAlg);
    absl::Status signed_ok =
        signing::SignInto(*signer_, request, "signature", "cfca");
    if (!signed_ok.ok()) return signed_ok;
    return request;
  }

  const CfcaAdapterConfig config_;
  const std::unique_ptr<signing::RsaSigner> signer_;
};

}  // namespace

std::vector<FieldForm> OptionalFields(Check check) {
  if (check != ::idgate::config::v1::CHECK_FACE_VERIFICATION) return {};
  return {{::idgate::v1::PII_FIELD_LIVENESS_VIDEO, kPlain}};
}

absl::Status CfcaAdapterFactory::CheckConfig(
    const CfcaAdapterConfig& config) const {
  if (config.institution_id().empty()) {
    return absl::InvalidArgumentError("institution_id: required");
  }
  if (config.tx_code().empty()) {
    return absl::InvalidArgumentError("tx_code: required");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Adapter>> CfcaAdapterFactory::CreateTyped(
    const CfcaAdapterConfig& config, const AdapterEnv& env) const {
  auto signer = signing::RsaSigner::FromFile(
      ResolveConfigPath(env, config.signing_key_file()), "signing_key_file");
  if (!signer.ok()) return signer.status();
  return std::make_unique<CfcaAdapter>(config, *std::move(signer), env,
                                       clock());
}

}  // namespace cfca
}  // namespace idgate
