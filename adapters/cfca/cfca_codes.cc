#include "adapters/cfca/cfca_codes.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "adapters/provider_call.h"

namespace idgate {
namespace cfca {
namespace {

using ::idgate::provider::v1::CFCA_LIVENESS_RESULT_PASSED;
using ::idgate::provider::v1::CompareFaceResponse;

ProviderOutcome Verdict(const CompareFaceResponse& response,
                        ::idgate::v1::Verdict verdict, bool billed) {
  ProviderOutcome outcome;
  outcome.status = absl::OkStatus();
  outcome.verdict = verdict;
  outcome.billed = billed;
  outcome.provider_code = response.code();
  // NaN compares false both ways and ends up 0.
  const double similarity = response.similarity();
  outcome.face_similarity =
      similarity > 0 ? static_cast<float>(std::min(similarity, 100.0)) : 0.0f;
  outcome.liveness_passed = response.liveness() == CFCA_LIVENESS_RESULT_PASSED;
  return outcome;
}

ProviderOutcome Failure(const std::string& code, absl::Status status,
                        bool retryable) {
  ProviderOutcome outcome;
  outcome.status = std::move(status);
  outcome.retryable = retryable;
  outcome.provider_code = code;
  return outcome;
}

}  // namespace

std::string SafeCode(absl::string_view code) {
  // An unknown code is kept for diagnosis, but a misbehaving provider could
  // put anything there; only short code-like strings go on to the ledger.
  if (code.size() > 32) return "<invalid>";
  for (char c : code) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '-' && c != '_') {
      return "<invalid>";
    }
  }
  return std::string(code);
}

ProviderOutcome MapResponse(const CompareFaceResponse& response) {
  const std::string& code = response.code();
  if (code == kPassed)
    return Verdict(response, ::idgate::v1::VERDICT_MATCH, true);
  if (code == kNameIdMismatch || code == kFaceMismatch) {
    return Verdict(response, ::idgate::v1::VERDICT_MISMATCH, true);
  }
  if (code == kNoIdPhoto) {
    return Verdict(response, ::idgate::v1::VERDICT_NO_RECORD, false);
  }
  if (code == kLivenessFailed) {
    return Verdict(response, ::idgate::v1::VERDICT_LIVENESS_FAILED, true);
  }
  if (code == kEngineTimeout) {
    return Failure(code, absl::UnavailableError("cfca: engine timeout"), true);
  }
  if (code == kBusy) {
    return Failure(code, absl::UnavailableError("cfca: busy"), true);
  }
  if (code == kSignatureInvalid) {
    return Failure(code, absl::InternalError("cfca: request signature refused"),
                   false);
  }
  if (code == kBadRequest) {
    return Failure(code, absl::InternalError("cfca: request format refused"),
                   false);
  }
  if (code == kDailyLimit) {
    return Failure(
        code,
        absl::ResourceExhaustedError("cfca: daily limit reached for subject"),
        false);
  }
  const std::string safe = SafeCode(code);
  return Failure(safe,
                 absl::InternalError(
                     absl::StrCat("cfca: unknown result code \"", safe, "\"")),
                 false);
}

ProviderOutcome MapResult(
    const grpc::Status& status,
    const ::idgate::provider::v1::CompareFaceResponse& response) {
  return status.ok() ? MapResponse(response) : TransportFailure("cfca", status);
}

}  // namespace cfca
}  // namespace idgate
