#include "adapters/carrier/carrier_codes.h"

#include "adapters/code_table.h"
#include "adapters/provider_call.h"

namespace idgate {
namespace carrier {
namespace {

constexpr CodeRow kRows[] = {
    AnswerRow({kMatch}, ::idgate::v1::VERDICT_MATCH, Billing::kBilled),
    AnswerRow({kMismatch}, ::idgate::v1::VERDICT_MISMATCH, Billing::kBilled),
    AnswerRow({kNoRecord}, ::idgate::v1::VERDICT_NO_RECORD,
              Billing::kNotBilled),
    FailureRow({kBadRequest}, absl::StatusCode::kInternal, Retry::kFinal,
               "request refused as malformed"),
    // The gateway validated these formats already: the provider disagrees,
    // and another provider would most likely refuse them too.
    FailureRow({kBadMobile}, absl::StatusCode::kFailedPrecondition,
               Retry::kFinal, "provider rejected the mobile number format"),
    FailureRow({kBadIdNumber}, absl::StatusCode::kFailedPrecondition,
               Retry::kFinal, "provider rejected the ID number format"),
    FailureRow({kBadName}, absl::StatusCode::kFailedPrecondition, Retry::kFinal,
               "provider rejected the name format"),
    // Another carrier aggregator may cover the segment.
    FailureRow({kSegmentUnsupported}, absl::StatusCode::kFailedPrecondition,
               Retry::kRetryable,
               "number segment not supported by the provider"),
    FailureRow({kBusy}, absl::StatusCode::kUnavailable, Retry::kRetryable,
               "provider busy"),
    // The limit protects the subject; going round it through another
    // provider would defeat it.
    FailureRow({kDailyLimit}, absl::StatusCode::kResourceExhausted,
               Retry::kFinal,
               "provider's daily limit for this subject reached"),
};

// Codes are short negative numbers; anything else is not recorded.
constexpr CodeTable kTable = {"carrier",
                              /*cite_code=*/true,
                              "-0123456789",
                              /*max_code_length=*/8,
                              /*not_code_like=*/"",
                              kRows};

}  // namespace

bool IsBilled(absl::string_view code) { return IsBilledCode(kTable, {code}); }

}  // namespace carrier

ProviderOutcome MapCarrierResult(
    const grpc::Status& status,
    const ::idgate::provider::v1::CheckThreeFactorResponse& response) {
  if (!status.ok()) return TransportFailure("carrier", status);
  return MapCode(carrier::kTable, response.code());
}

}  // namespace idgate
