#include "adapters/cfca/cfca_codes.h"

#include "adapters/code_table.h"
#include "adapters/provider_call.h"

namespace idgate {
namespace cfca {
namespace {

using ::idgate::provider::v1::CFCA_LIVENESS_RESULT_PASSED;
using ::idgate::provider::v1::CompareFaceResponse;

// The table of cfca_codes.h.
constexpr CodeRow kRows[] = {
    AnswerRow({kPassed}, ::idgate::v1::VERDICT_MATCH, Billing::kBilled),
    // The lookup was done: billed.
    AnswerRow({kNameIdMismatch}, ::idgate::v1::VERDICT_MISMATCH,
              Billing::kBilled),
    AnswerRow({kNoIdPhoto}, ::idgate::v1::VERDICT_NO_RECORD,
              Billing::kNotBilled),
    AnswerRow({kFaceMismatch}, ::idgate::v1::VERDICT_MISMATCH,
              Billing::kBilled),
    AnswerRow({kLivenessFailed}, ::idgate::v1::VERDICT_LIVENESS_FAILED,
              Billing::kBilled),
    FailureRow({kEngineTimeout}, absl::StatusCode::kUnavailable,
               Retry::kRetryable, "engine timeout"),
    FailureRow({kBusy}, absl::StatusCode::kUnavailable, Retry::kRetryable,
               "busy"),
    // Our key or config.
    FailureRow({kSignatureInvalid}, absl::StatusCode::kInternal, Retry::kFinal,
               "request signature refused"),
    // The input was validated.
    FailureRow({kBadRequest}, absl::StatusCode::kInternal, Retry::kFinal,
               "request format refused"),
    FailureRow({kDailyLimit}, absl::StatusCode::kResourceExhausted,
               Retry::kFinal, "daily limit reached for subject"),
};

constexpr CodeTable kTable = {"cfca",
                              /*cite_code=*/false,
                              kWordCodeChars,
                              /*max_code_length=*/32,
                              /*not_code_like=*/"<invalid>",
                              kRows};

}  // namespace

std::string SafeCode(absl::string_view code) {
  return RecordableCode(kTable, code);
}

bool IsBilled(absl::string_view code) { return IsBilledCode(kTable, {code}); }

ProviderOutcome MapResponse(const CompareFaceResponse& response) {
  ProviderOutcome outcome = MapCode(kTable, response.code());
  if (outcome.status.ok()) {
    outcome.face_similarity = FaceSimilarity(response.similarity());
    outcome.liveness_passed =
        response.liveness() == CFCA_LIVENESS_RESULT_PASSED;
  }
  return outcome;
}

ProviderOutcome MapResult(const grpc::Status& status,
                          const CompareFaceResponse& response) {
  return status.ok() ? MapResponse(response) : TransportFailure("cfca", status);
}

}  // namespace cfca
}  // namespace idgate
