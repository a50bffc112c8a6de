#include "adapters/carrier/carrier_mock.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "adapters/carrier/carrier_codes.h"
#include "adapters/mock_support/formats.h"
#include "adapters/mock_support/mock_core.h"
#include "idgate/provider/v1/carrier.grpc.pb.h"

namespace idgate {
namespace {

using ::idgate::provider::v1::CarrierService;
using ::idgate::provider::v1::CheckThreeFactorRequest;
using ::idgate::provider::v1::CheckThreeFactorResponse;

// The request's three values in the form its hash_mode announces.
struct Factors {
  PiiForm form = ::idgate::v1::PII_FORM_UNSPECIFIED;
  absl::string_view name, id_number, mobile;
};

// Fails when the mode is missing or fields of another form are set: the
// real service refuses a mixed request rather than guess.
bool ReadFactors(const CheckThreeFactorRequest& r, Factors& out) {
  const bool plain =
      !r.name().empty() || !r.id_number().empty() || !r.mobile().empty();
  const bool sha256 = !r.name_sha256().empty() ||
                      !r.id_number_sha256().empty() ||
                      !r.mobile_sha256().empty();
  const bool sm3 = !r.name_sm3().empty() || !r.id_number_sm3().empty() ||
                   !r.mobile_sm3().empty();
  switch (r.hash_mode()) {
    case ::idgate::provider::v1::CARRIER_HASH_MODE_PLAIN:
      if (sha256 || sm3) return false;
      out = {::idgate::v1::PII_FORM_PLAIN, r.name(), r.id_number(), r.mobile()};
      return true;
    case ::idgate::provider::v1::CARRIER_HASH_MODE_SHA256:
      if (plain || sm3) return false;
      out = {::idgate::v1::PII_FORM_SHA256, r.name_sha256(),
             r.id_number_sha256(), r.mobile_sha256()};
      return true;
    case ::idgate::provider::v1::CARRIER_HASH_MODE_SM3:
      if (plain || sha256) return false;
      out = {::idgate::v1::PII_FORM_SM3, r.name_sm3(), r.id_number_sm3(),
             r.mobile_sm3()};
      return true;
    default:
      return false;
  }
}

void SetCode(CheckThreeFactorResponse& response, absl::string_view code,
             absl::string_view message) {
  response.set_code(std::string(code));
  response.set_message(std::string(message));
}

class CarrierMock final : public ServiceMock<CarrierService> {
 public:
  using ServiceMock::ServiceMock;

  grpc::ServerUnaryReactor* CheckThreeFactor(
      grpc::CallbackServerContext* context,
      const CheckThreeFactorRequest* request,
      CheckThreeFactorResponse* response) override {
    return core_.Serve(context, *request, SubjectKey(*request),
                       [this, request, response](MockDisposition disposition) {
                         response->set_order_no(request->order_no());
                         Answer(*request, disposition, *response);
                         return carrier::IsBilled(response->code());
                       });
  }

 private:
  // The person's ID number when the book knows it (whatever form it came
  // in), so the daily limit counts the person, not the encoding.
  std::string SubjectKey(const CheckThreeFactorRequest& request) const {
    Factors f;
    if (!ReadFactors(request, f) || f.id_number.empty()) return "";
    if (const auto* person = core_.book().FindById(f.id_number, f.form)) {
      return person->id_number();
    }
    return absl::StrCat(static_cast<int>(f.form), ":", f.id_number);
  }

  void Answer(const CheckThreeFactorRequest& request,
              MockDisposition disposition,
              CheckThreeFactorResponse& response) const {
    if (disposition == MockDisposition::kBusy) {
      return SetCode(response, carrier::kBusy, "验证中心服务繁忙");
    }
    Factors f;
    if (request.app_id().empty() || request.order_no().empty() ||
        !ReadFactors(request, f)) {
      return SetCode(response, carrier::kBadRequest, "请求参数错误");
    }
    const bool plain = f.form == ::idgate::v1::PII_FORM_PLAIN;
    if (plain ? !mock::IsValidMobile(f.mobile) : !mock::IsHexDigest(f.mobile)) {
      return SetCode(response, carrier::kBadMobile, "手机号码不合法");
    }
    if (plain ? !mock::IsValidResidentId(f.id_number)
              : !mock::IsHexDigest(f.id_number)) {
      return SetCode(response, carrier::kBadIdNumber, "身份证号码有误");
    }
    if (plain ? !mock::IsValidName(f.name) : !mock::IsHexDigest(f.name)) {
      return SetCode(response, carrier::kBadName, "姓名校验不通过");
    }
    // The limit is enforced after validation, like the real service, which
    // counts only well-formed queries.
    if (disposition == MockDisposition::kDailyLimit) {
      return SetCode(response, carrier::kDailyLimit,
                     "认证次数超过当日限制，请次日重试");
    }
    if (plain && CarrierSegmentUnsupported(f.mobile)) {
      return SetCode(response, carrier::kSegmentUnsupported, "号段不支持");
    }
    const auto entry = core_.book().FindMobile(f.mobile, f.form);
    if (entry.person == nullptr) {
      return SetCode(response, carrier::kNoRecord, "没有记录");
    }
    // In hashed mode the segment is known only once the number is found.
    if (CarrierSegmentUnsupported(entry.mobile->number())) {
      return SetCode(response, carrier::kSegmentUnsupported, "号段不支持");
    }
    response.set_operator_name(entry.mobile->operator_name());
    const bool name_ok =
        IdentityBook::Matches(entry.person->name(), f.name, f.form);
    const bool id_ok =
        IdentityBook::Matches(entry.person->id_number(), f.id_number, f.form);
    if (name_ok && id_ok) return SetCode(response, carrier::kMatch, "认证通过");
    SetCode(response, carrier::kMismatch, "认证信息不一致");
    using ::idgate::provider::v1::CarrierMismatch;
    response.set_mismatch(
        !name_ok && !id_ok
            ? CarrierMismatch::CARRIER_MISMATCH_NAME_AND_ID_NUMBER
        : !name_ok ? CarrierMismatch::CARRIER_MISMATCH_NAME
                   : CarrierMismatch::CARRIER_MISMATCH_ID_NUMBER);
  }
};

}  // namespace

bool CarrierSegmentUnsupported(absl::string_view mobile) {
  return absl::StartsWith(mobile, "1349") || absl::StartsWith(mobile, "174");
}

std::unique_ptr<MockProvider> MakeCarrierMock(const MockEnv& env) {
  return std::make_unique<CarrierMock>(env);
}

std::unique_ptr<MockProvider> CarrierMockFactory::Create(
    const MockEnv& env) const {
  return MakeCarrierMock(env);
}

}  // namespace idgate
