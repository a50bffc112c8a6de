#include "adapters/bank/bank_mock.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "adapters/bank/bank_codes.h"
#include "adapters/mock_support/formats.h"
#include "adapters/mock_support/mock_core.h"
#include "idgate/provider/v1/bank.grpc.pb.h"

namespace idgate {
namespace {

using ::idgate::mock::v1::CardState;
using ::idgate::provider::v1::BankCardType;
using ::idgate::provider::v1::BankService;
using ::idgate::provider::v1::CheckFourFactorRequest;
using ::idgate::provider::v1::CheckFourFactorResponse;

constexpr PiiForm kPlain = ::idgate::v1::PII_FORM_PLAIN;

// Illustrative issuer identification numbers used by the identity book.
struct Bin {
  absl::string_view prefix;
  absl::string_view issuer;
  BankCardType type;
};
constexpr Bin kBins[] = {
    {"622202", "ICBC", ::idgate::provider::v1::BANK_CARD_TYPE_DEBIT},
    {"621700", "CCB", ::idgate::provider::v1::BANK_CARD_TYPE_DEBIT},
    {"622848", "ABC", ::idgate::provider::v1::BANK_CARD_TYPE_DEBIT},
    {"621661", "BOC", ::idgate::provider::v1::BANK_CARD_TYPE_DEBIT},
    {"622588", "CMB", ::idgate::provider::v1::BANK_CARD_TYPE_DEBIT},
    {"625807", "ICBC", ::idgate::provider::v1::BANK_CARD_TYPE_CREDIT},
    {"628888", "CMB", ::idgate::provider::v1::BANK_CARD_TYPE_CREDIT},
};

void SetCode(CheckFourFactorResponse& response, absl::string_view code,
             absl::string_view message) {
  response.set_resp_code(std::string(code));
  response.set_resp_msg(std::string(message));
}

class BankMock final : public ServiceMock<BankService> {
 public:
  using ServiceMock::ServiceMock;

  grpc::ServerUnaryReactor* CheckFourFactor(
      grpc::CallbackServerContext* context,
      const CheckFourFactorRequest* request,
      CheckFourFactorResponse* response) override {
    return core_.Serve(context, *request, SubjectKey(*request),
                       [this, request, response](MockDisposition disposition) {
                         response->set_order_no(request->order_no());
                         Answer(*request, disposition, *response);
                         return bank::IsBilled(response->resp_code());
                       });
  }

 private:
  // The daily limit counts the person (the ID number), not the card, so
  // trying many cards does not go round it.
  std::string SubjectKey(const CheckFourFactorRequest& request) const {
    return request.id_number();
  }

  void Answer(const CheckFourFactorRequest& request,
              MockDisposition disposition,
              CheckFourFactorResponse& response) const {
    if (disposition == MockDisposition::kBusy) {
      return SetCode(response, bank::kBusy, "系统繁忙，请稍后再试");
    }
    if (request.merchant_id().empty() || request.order_no().empty() ||
        request.cert_type() !=
            ::idgate::provider::v1::BANK_CERT_TYPE_RESIDENT_ID) {
      return SetCode(response, bank::kBadRequest, "请求报文格式错误");
    }
    if (!mock::IsValidCardNumber(request.card_number())) {
      return SetCode(response, bank::kBadCardNumber, "卡号格式错误");
    }
    if (!mock::IsValidResidentId(request.id_number())) {
      return SetCode(response, bank::kBadIdNumber, "证件号码格式错误");
    }
    if (!mock::IsValidName(request.name())) {
      return SetCode(response, bank::kBadName, "姓名格式错误");
    }
    if (!mock::IsValidMobile(request.mobile())) {
      return SetCode(response, bank::kBadMobile, "手机号格式错误");
    }
    if (disposition == MockDisposition::kDailyLimit) {
      return SetCode(response, bank::kDailyLimit, "超过当日验证次数限制");
    }
    const auto entry = core_.book().FindCard(request.card_number(), kPlain);
    if (entry.card == nullptr) {
      return SetCode(response, bank::kNoSuchCard, "无此卡号");
    }
    for (const Bin& bin : kBins) {
      if (absl::StartsWith(entry.card->number(), bin.prefix)) {
        response.set_issuer(std::string(bin.issuer));
        response.set_card_type(bin.type);
        break;
      }
    }
    const auto& person = *entry.person;
    using ::idgate::provider::v1::BankMismatchField;
    if (person.name() != request.name()) {
      response.add_mismatched_fields(
          BankMismatchField::BANK_MISMATCH_FIELD_NAME);
    }
    if (person.id_number() != request.id_number()) {
      response.add_mismatched_fields(
          BankMismatchField::BANK_MISMATCH_FIELD_ID_NUMBER);
    }
    if (entry.card->reserved_mobile() != request.mobile()) {
      response.add_mismatched_fields(
          BankMismatchField::BANK_MISMATCH_FIELD_MOBILE);
    }
    // Only the holder learns the card's state.
    if (response.mismatched_fields_size() > 0) {
      return SetCode(response, bank::kMismatch, "持卡人身份信息验证不一致");
    }
    switch (entry.card->state()) {
      case CardState::CARD_STATE_REPORTED_LOST:
        return SetCode(response, bank::kCardLost, "该卡已挂失");
      case CardState::CARD_STATE_EXPIRED:
        return SetCode(response, bank::kCardExpired, "该卡已过期");
      case CardState::CARD_STATE_RESTRICTED:
        return SetCode(response, bank::kCardRestricted, "该卡受限制");
      default:
        return SetCode(response, bank::kPassed, "验证通过");
    }
  }
};

}  // namespace

std::unique_ptr<MockProvider> MakeBankMock(const MockEnv& env) {
  return std::make_unique<BankMock>(env);
}

std::unique_ptr<MockProvider> BankMockFactory::Create(
    const MockEnv& env) const {
  return MakeBankMock(env);
}

}  // namespace idgate
