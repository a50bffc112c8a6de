#include "adapters/bank/bank_codes.h"

#include "adapters/code_table.h"
#include "adapters/provider_call.h"

namespace idgate {
namespace bank {
namespace {

constexpr CodeRow kRows[] = {
    AnswerRow({kPassed}, ::idgate::v1::VERDICT_MATCH, Billing::kBilled),
    AnswerRow({kMismatch}, ::idgate::v1::VERDICT_MISMATCH, Billing::kBilled),
    AnswerRow({kCardLost}, ::idgate::v1::VERDICT_CARD_UNUSABLE,
              Billing::kBilled),
    AnswerRow({kCardExpired}, ::idgate::v1::VERDICT_CARD_UNUSABLE,
              Billing::kBilled),
    AnswerRow({kCardRestricted}, ::idgate::v1::VERDICT_CARD_UNUSABLE,
              Billing::kBilled),
    AnswerRow({kNoSuchCard}, ::idgate::v1::VERDICT_NO_RECORD,
              Billing::kNotBilled),
    FailureRow({kBadRequest}, absl::StatusCode::kInternal, Retry::kFinal,
               "request refused as malformed"),
    // The gateway validated these formats already: the issuer disagrees,
    // and another provider would most likely refuse them too.
    FailureRow({kBadCardNumber}, absl::StatusCode::kFailedPrecondition,
               Retry::kFinal, "provider rejected the card number format"),
    FailureRow({kBadIdNumber}, absl::StatusCode::kFailedPrecondition,
               Retry::kFinal, "provider rejected the ID number format"),
    FailureRow({kBadName}, absl::StatusCode::kFailedPrecondition, Retry::kFinal,
               "provider rejected the name format"),
    FailureRow({kBadMobile}, absl::StatusCode::kFailedPrecondition,
               Retry::kFinal, "provider rejected the mobile number format"),
    FailureRow({kBusy}, absl::StatusCode::kUnavailable, Retry::kRetryable,
               "provider busy"),
    // The limit protects the subject; going round it through another
    // provider would defeat it.
    FailureRow({kDailyLimit}, absl::StatusCode::kResourceExhausted,
               Retry::kFinal,
               "provider's daily limit for this subject reached"),
};

// Codes are short numbers; anything else is not recorded.
constexpr CodeTable kTable = {"bank",
                              /*cite_code=*/true,
                              "0123456789",
                              /*max_code_length=*/8,
                              /*not_code_like=*/"",
                              kRows};

}  // namespace

bool IsBilled(absl::string_view code) { return IsBilledCode(kTable, {code}); }

}  // namespace bank

ProviderOutcome MapBankResult(
    const grpc::Status& status,
    const ::idgate::provider::v1::CheckFourFactorResponse& response) {
  if (!status.ok()) return TransportFailure("bank", status);
  return MapCode(bank::kTable, response.resp_code());
}

}  // namespace idgate
