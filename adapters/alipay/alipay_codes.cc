#include "adapters/alipay/alipay_codes.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "adapters/code_table.h"
#include "adapters/provider_call.h"

namespace idgate {
namespace alipay {
namespace {

using ::idgate::provider::v1::CertifyFaceResponse;

// The table of alipay_codes.h, keyed by {code, passed, sub_code}.
constexpr CodeRow kRows[] = {
    AnswerRow({kSuccess, kPassedTrue, kAnyCode}, ::idgate::v1::VERDICT_MATCH,
              Billing::kBilled),
    AnswerRow({kSuccess, kPassedFalse, kNameIdMismatch},
              ::idgate::v1::VERDICT_MISMATCH, Billing::kBilled),
    AnswerRow({kSuccess, kPassedFalse, kNoRecord},
              ::idgate::v1::VERDICT_NO_RECORD, Billing::kNotBilled),
    AnswerRow({kSuccess, kPassedFalse, kFaceMismatch},
              ::idgate::v1::VERDICT_MISMATCH, Billing::kBilled),
    AnswerRow({kSuccess, kPassedFalse, kLivenessRisk},
              ::idgate::v1::VERDICT_LIVENESS_FAILED, Billing::kBilled),
    FailureRow({kUnavailable, kAnyCode, kAnyCode},
               absl::StatusCode::kUnavailable, Retry::kRetryable,
               "unavailable"),
    FailureRow({kMissingArgument, kAnyCode, kMissingSignature},
               absl::StatusCode::kInternal, Retry::kFinal,
               "request signature refused"),
    FailureRow({kMissingArgument, kAnyCode, kInvalidSignature},
               absl::StatusCode::kInternal, Retry::kFinal,
               "request signature refused"),
    FailureRow({kMissingArgument, kAnyCode, kAnyCode},
               absl::StatusCode::kInternal, Retry::kFinal, "request refused"),
    FailureRow({kInvalidArgument, kAnyCode, kMissingSignature},
               absl::StatusCode::kInternal, Retry::kFinal,
               "request signature refused"),
    FailureRow({kInvalidArgument, kAnyCode, kInvalidSignature},
               absl::StatusCode::kInternal, Retry::kFinal,
               "request signature refused"),
    FailureRow({kInvalidArgument, kAnyCode, kAnyCode},
               absl::StatusCode::kInternal, Retry::kFinal, "request refused"),
    FailureRow({kBusinessFailed, kAnyCode, kTooManyAttemptsToday},
               absl::StatusCode::kResourceExhausted, Retry::kFinal,
               "too many attempts today for subject"),
};

constexpr CodeTable kTable = {"alipay",
                              /*cite_code=*/false,
                              kWordCodeChars,
                              /*max_code_length=*/48,
                              /*not_code_like=*/"<invalid>",
                              kRows};

// "<code>" or "<code>/<sub_code>".
std::string ProviderCode(const CertifyFaceResponse& response) {
  std::string code = RecordableCode(kTable, response.code());
  if (!response.sub_code().empty()) {
    absl::StrAppend(&code, "/", RecordableCode(kTable, response.sub_code()));
  }
  return code;
}

}  // namespace

bool IsBilled(const CertifyFaceResponse& response) {
  return IsBilledCode(
      kTable, {response.code(), response.passed(), response.sub_code()});
}

ProviderOutcome MapResponse(const CertifyFaceResponse& response) {
  ProviderOutcome outcome =
      MapCode(kTable, {response.code(), response.passed(), response.sub_code()},
              ProviderCode(response));
  if (outcome.status.ok()) {
    outcome.face_similarity = FaceSimilarity(response.face_score());
    // Liveness is assessed before the comparison: a face that passed, or
    // was compared and differed, was live.
    outcome.liveness_passed = response.passed() == kPassedTrue ||
                              response.sub_code() == kFaceMismatch;
  }
  return outcome;
}

ProviderOutcome MapResult(const grpc::Status& status,
                          const CertifyFaceResponse& response) {
  return status.ok() ? MapResponse(response)
                     : TransportFailure("alipay", status);
}

}  // namespace alipay
}  // namespace idgate
