#include "adapters/alipay/alipay_mock.h"

#include <utility>

#include "adapters/alipay/alipay_adapter.h"
#include "adapters/alipay/alipay_codes.h"
#include "adapters/mock_support/face.h"
#include "adapters/mock_support/formats.h"
#include "adapters/mock_support/mock_core.h"
#include "adapters/signing/signing.h"
#include "core/digest.h"
#include "idgate/provider/v1/alipay.grpc.pb.h"

namespace idgate {
namespace alipay {
namespace {

using ::idgate::provider::v1::AlipayFaceService;
using ::idgate::provider::v1::CertifyFaceRequest;
using ::idgate::provider::v1::CertifyFaceResponse;
using ::idgate::v1::PII_FORM_PLAIN;

class AlipayMock final : public ServiceMock<AlipayFaceService> {
 public:
  explicit AlipayMock(const MockEnv& env) : ServiceMock(env) {
    auto verifier = signing::RsaVerifier::FromPem(env.verify_public_key_pem);
    if (verifier.ok()) verifier_ = *std::move(verifier);
  }

  grpc::ServerUnaryReactor* CertifyFace(
      grpc::CallbackServerContext* context, const CertifyFaceRequest* request,
      CertifyFaceResponse* response) override {
    const bool signed_ok =
        verifier_ != nullptr &&
        signing::VerifyRequest(*verifier_, *request, "sign", request->sign());
    // An unsigned request never reaches the limit counters.
    return core_.Serve(
        context, *request,
        signed_ok ? request->biz_content().identity_param().cert_no() : "",
        [this, request, response, signed_ok](MockDisposition disposition) {
          Answer(*request, signed_ok, disposition, *response);
          return IsBilled(*response);
        });
  }

 private:
  void Answer(const CertifyFaceRequest& request, bool signed_ok,
              MockDisposition disposition,
              CertifyFaceResponse& response) const {
    const auto& biz = request.biz_content();
    const auto& identity = biz.identity_param();
    response.set_outer_order_no(biz.outer_order_no());
    if (!signed_ok) {
      return request.sign().empty()
                 ? Error(response, kMissingArgument,
                         "Missing Required Arguments", kMissingSignature,
                         "缺少签名参数")
                 : Error(response, kInvalidArgument, "Invalid Arguments",
                         kInvalidSignature, "验签出错");
    }
    if (disposition == MockDisposition::kBusy) {
      return Error(response, kUnavailable, "Service Currently Unavailable",
                   kServiceBusy, "系统繁忙");
    }
    if (disposition == MockDisposition::kDailyLimit) {
      return Error(response, kBusinessFailed, "Business Failed",
                   kTooManyAttemptsToday, "当日认证次数超限");
    }
    if (request.app_id().empty() || request.method().empty() ||
        request.charset().empty() || request.sign_type().empty() ||
        request.timestamp().empty() || request.version().empty() ||
        biz.outer_order_no().empty() || biz.biz_code().empty() ||
        identity.cert_name().empty() || identity.cert_no().empty() ||
        biz.face_image().empty()) {
      return Error(response, kMissingArgument, "Missing Required Arguments",
                   kMissingParameter, "缺少必选参数");
    }
    if (request.method() != kMethod || request.sign_type() != "RSA2" ||
        identity.identity_type() != "CERT_INFO" ||
        identity.cert_type() != "IDENTITY_CARD" ||
        !mock::IsValidName(identity.cert_name()) ||
        !mock::IsValidResidentId(identity.cert_no())) {
      return Error(response, kInvalidArgument, "Invalid Arguments",
                   kInvalidParameter, "参数无效");
    }
    response.set_code(kSuccess);
    response.set_msg("Success");
    response.set_certify_id("ZM" +
                            Sha256Hex(biz.outer_order_no()).substr(0, 30));
    const IdentityBook::Person* person =
        core_.book().FindById(identity.cert_no(), PII_FORM_PLAIN);
    if (person == nullptr) {
      return Failed(response, kNoRecord, "无权威比对源");
    }
    if (person->name() != identity.cert_name()) {
      return Failed(response, kNameIdMismatch, "姓名与身份证号不匹配");
    }
    if (!person->has_id_photo()) {
      return Failed(response, kNoRecord, "无权威比对源");
    }
    if (LivenessFails(biz.face_image())) {
      return Failed(response, kLivenessRisk, "活体检测未通过");
    }
    const std::string face = FaceDigest(biz.face_image());
    response.set_face_score(FaceScore(face, person->face_sha256()));
    if (face != person->face_sha256()) {
      return Failed(response, kFaceMismatch, "人脸比对不一致");
    }
    response.set_passed(kPassedTrue);
  }

  static void Error(CertifyFaceResponse& response, const char* code,
                    const char* msg, const char* sub_code,
                    const char* sub_msg) {
    response.set_code(code);
    response.set_msg(msg);
    response.set_sub_code(sub_code);
    response.set_sub_msg(sub_msg);
  }

  static void Failed(CertifyFaceResponse& response, const char* sub_code,
                     const char* sub_msg) {
    response.set_passed(kPassedFalse);
    response.set_sub_code(sub_code);
    response.set_sub_msg(sub_msg);
  }

  std::unique_ptr<signing::RsaVerifier> verifier_;
};

}  // namespace

std::unique_ptr<MockProvider> AlipayMockFactory::Create(
    const MockEnv& env) const {
  return std::make_unique<AlipayMock>(env);
}

}  // namespace alipay
}  // namespace idgate
