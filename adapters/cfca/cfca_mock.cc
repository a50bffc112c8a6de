#include "adapters/cfca/cfca_mock.h"

#include <utility>

#include "adapters/cfca/cfca_codes.h"
#include "adapters/mock_support/face.h"
#include "adapters/mock_support/formats.h"
#include "adapters/mock_support/mock_core.h"
#include "adapters/signing/signing.h"
#include "core/digest.h"
#include "idgate/provider/v1/cfca.grpc.pb.h"

namespace idgate {
namespace cfca {
namespace {

using ::idgate::provider::v1::CFCA_LIVENESS_RESULT_FAILED;
using ::idgate::provider::v1::CFCA_LIVENESS_RESULT_PASSED;
using ::idgate::provider::v1::CfcaFaceService;
using ::idgate::provider::v1::CompareFaceRequest;
using ::idgate::provider::v1::CompareFaceResponse;
using ::idgate::v1::PII_FORM_PLAIN;

class CfcaMock final : public ServiceMock<CfcaFaceService> {
 public:
  explicit CfcaMock(const MockEnv& env) : ServiceMock(env) {
    auto verifier = signing::RsaVerifier::FromPem(env.verify_public_key_pem);
    if (verifier.ok()) verifier_ = *std::move(verifier);
  }

  grpc::ServerUnaryReactor* CompareFace(
      grpc::CallbackServerContext* context, const CompareFaceRequest* request,
      CompareFaceResponse* response) override {
    const bool signed_ok =
        verifier_ != nullptr &&
        signing::VerifyRequest(*verifier_, *request, "signature",
                               request->signature());
    // An unsigned request never reaches the limit counters.
    return core_.Serve(
        context, *request, signed_ok ? request->id_number() : "",
        [this, request, response, signed_ok](MockDisposition disposition) {
          return Answer(*request, signed_ok, disposition, *response);
        });
  }

 private:
  // Fills `response`; returns whether the answer is billed.
  bool Answer(const CompareFaceRequest& request, bool signed_ok,
              MockDisposition disposition,
              CompareFaceResponse& response) const {
    response.set_tx_sn(request.tx_sn());
    if (!signed_ok) {
      return Reply(response, kSignatureInvalid,
                   "signature verification failed");
    }
    if (disposition == MockDisposition::kBusy) {
      // Overload shows as either code; which one is fixed per serial number.
      return Sha256Hex(request.tx_sn()).back() % 2 == 0
                 ? Reply(response, kBusy, "system busy")
                 : Reply(response, kEngineTimeout, "comparison engine timeout");
    }
    if (disposition == MockDisposition::kDailyLimit) {
      return Reply(response, kDailyLimit,
                   "daily limit reached for this ID number");
    }
    if (request.institution_id().empty() || request.tx_code().empty() ||
        request.tx_sn().empty() || request.timestamp().empty() ||
        request.sign_alg() != "SHA256withRSA" ||
        !mock::IsValidName(request.name()) ||
        !mock::IsValidResidentId(request.id_number()) ||
        request.face_image().empty()) {
      return Reply(response, kBadRequest, "request format error");
    }
    const IdentityBook::Person* person =
        core_.book().FindById(request.id_number(), PII_FORM_PLAIN);
    if (person == nullptr) {
      return Reply(response, kNoIdPhoto, "no record for this ID number");
    }
    if (person->name() != request.name()) {
      return Reply(response, kNameIdMismatch, "name and ID number mismatch");
    }
    if (!person->has_id_photo()) {
      return Reply(response, kNoIdPhoto, "no ID photo on record");
    }
    if (LivenessFails(request.face_image()) ||
        LivenessFails(request.liveness_video())) {
      response.set_liveness(CFCA_LIVENESS_RESULT_FAILED);
      return Reply(response, kLivenessFailed, "liveness check failed");
    }
    response.set_liveness(CFCA_LIVENESS_RESULT_PASSED);
    const std::string face = FaceDigest(request.face_image());
    response.set_similarity(FaceScore(face, person->face_sha256()));
    if (face != person->face_sha256()) {
      return Reply(response, kFaceMismatch, "face mismatch");
    }
    return Reply(response, kPassed, "passed");
  }

  static bool Reply(CompareFaceResponse& response, const char* code,
                    const char* message) {
    response.set_code(code);
    response.set_message(message);
    return IsBilled(code);
  }

  std::unique_ptr<signing::RsaVerifier> verifier_;
};

}  // namespace

std::unique_ptr<MockProvider> CfcaMockFactory::Create(
    const MockEnv& env) const {
  return std::make_unique<CfcaMock>(env);
}

}  // namespace cfca
}  // namespace idgate
