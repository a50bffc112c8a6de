#include "adapters/alipay/alipay_codes.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "adapters/provider_call.h"

namespace idgate {
namespace alipay {
namespace {

using ::idgate::provider::v1::CertifyFaceResponse;

// A misbehaving provider could put anything in a code; only short code-like
// strings are recorded.
std::string SafeCode(absl::string_view code) {
  if (code.size() > 48) return "<invalid>";
  for (char c : code) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '-' && c != '_') {
      return "<invalid>";
    }
  }
  return std::string(code);
}

std::string ProviderCode(const CertifyFaceResponse& response) {
  std::string code = SafeCode(response.code());
  if (!response.sub_code().empty()) {
    absl::StrAppend(&code, "/", SafeCode(response.sub_code()));
  }
  return code;
}

float Similarity(double score) {
  // NaN compares false both ways and ends up 0.
  return score > 0 ? static_cast<float>(std::min(score, 100.0)) : 0.0f;
}

ProviderOutcome Verdict(const CertifyFaceResponse& response,
                        ::idgate::v1::Verdict verdict, bool billed,
                        bool liveness_passed) {
  ProviderOutcome outcome;
  outcome.verdict = verdict;
  outcome.billed = billed;
  outcome.provider_code = ProviderCode(response);
  outcome.face_similarity = Similarity(response.face_score());
  outcome.liveness_passed = liveness_passed;
  return outcome;
}

ProviderOutcome Failure(const CertifyFaceResponse& response,
                        absl::Status status, bool retryable) {
  ProviderOutcome outcome;
  outcome.status = std::move(status);
  outcome.retryable = retryable;
  outcome.provider_code = ProviderCode(response);
  return outcome;
}

ProviderOutcome Unknown(const CertifyFaceResponse& response) {
  return Failure(response,
                 absl::InternalError(absl::StrCat("alipay: unknown result ",
                                                  ProviderCode(response))),
                 false);
}

}  // namespace

ProviderOutcome MapResponse(const CertifyFaceResponse& response) {
  const std::string& code = response.code();
  const std::string& sub_code = response.sub_code();
  if (code == kSuccess) {
    if (response.passed() == kPassedTrue) {
      return Verdict(response, ::idgate::v1::VERDICT_MATCH, true, true);
    }
    if (response.passed() != kPassedFalse) return Unknown(response);
    if (sub_code == kNameIdMismatch) {
      return Verdict(response, ::idgate::v1::VERDICT_MISMATCH, true, false);
    }
    if (sub_code == kNoRecord) {
      return Verdict(response, ::idgate::v1::VERDICT_NO_RECORD, false, false);
    }
    if (sub_code == kFaceMismatch) {
      // Liveness is assessed before the comparison: the face was live.
      return Verdict(response, ::idgate::v1::VERDICT_MISMATCH, true, true);
    }
    if (sub_code == kLivenessRisk) {
      return Verdict(response, ::idgate::v1::VERDICT_LIVENESS_FAILED, true,
                     false);
    }
    return Unknown(response);
  }
  if (code == kUnavailable) {
    return Failure(response, absl::UnavailableError("alipay: unavailable"),
                   true);
  }
  if (code == kMissingArgument || code == kInvalidArgument) {
    const bool signature =
        sub_code == kMissingSignature || sub_code == kInvalidSignature;
    return Failure(
        response,
        absl::InternalError(signature ? "alipay: request signature refused"
                                      : "alipay: request refused"),
        false);
  }
  if (code == kBusinessFailed && sub_code == kTooManyAttemptsToday) {
    return Failure(response,
                   absl::ResourceExhaustedError(
                       "alipay: too many attempts today for subject"),
                   false);
  }
  return Unknown(response);
}

ProviderOutcome MapResult(
    const grpc::Status& status,
    const ::idgate::provider::v1::CertifyFaceResponse& response) {
  return status.ok() ? MapResponse(response)
                     : TransportFailure("alipay", status);
}

}  // namespace alipay
}  // namespace idgate
