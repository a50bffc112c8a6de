// Fuzz target over the whole request validation path, fed with serialized
// idgate.v1.VerifyRequest bytes. Checks that every outcome is one of the
// three documented shapes and that an accepted request really is valid.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "idgate/v1/verification.pb.h"
#include "server/identity/request_validator.h"
#include "server/identity/validators.h"
#include "tests/fuzz/fuzz_check.h"

namespace idgate::identity {
namespace {

namespace cfg = ::idgate::config::v1;
namespace v1 = ::idgate::v1;

// A fixed clock keeps every run reproducible: 2025-06-15 04:00 UTC.
const absl::Time kNow = absl::FromUnixSeconds(1749960000);

// Small caps so the fuzzer reaches the size rules with small inputs.
ValidationLimits SmallLimits() {
  ValidationLimits limits;
  limits.max_face_image_bytes = 256;
  limits.max_liveness_video_bytes = 64;
  return limits;
}

void CheckInvalidArgument(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kBadRequestTypeUrl);
  FUZZ_CHECK(payload.has_value());
  FUZZ_CHECK(!status.GetPayload(kErrorReasonTypeUrl).has_value());
  v1::BadRequest bad_request;
  FUZZ_CHECK(bad_request.ParseFromString(std::string(*payload)));
  FUZZ_CHECK(bad_request.field_violations_size() > 0);
  std::vector<std::string> entries;
  for (const v1::FieldViolation& v : bad_request.field_violations()) {
    FUZZ_CHECK(IsRuleName(v.rule()));
    FUZZ_CHECK(!v.field().empty());
    for (char c : v.field()) {
      FUZZ_CHECK((c >= 'a' && c <= 'z') || c == '_' || c == '.');
    }
    entries.push_back(absl::StrCat(v.field(), ": ", v.rule()));
  }
  // The message is exactly the payload's content, nothing else.
  FUZZ_CHECK(status.message() ==
             absl::StrCat("invalid request: ", absl::StrJoin(entries, "; ")));
}

void CheckUnderage(const absl::Status& status) {
  FUZZ_CHECK(status.message() == "subject is under 18");
  absl::optional<absl::Cord> payload = status.GetPayload(kErrorReasonTypeUrl);
  FUZZ_CHECK(payload.has_value());
  FUZZ_CHECK(!status.GetPayload(kBadRequestTypeUrl).has_value());
  v1::ErrorReason reason;
  FUZZ_CHECK(reason.ParseFromString(std::string(*payload)));
  FUZZ_CHECK(reason.reason() == kSubjectUnderageReason);
}

void CheckAccepted(const v1::VerifyRequest& request,
                   const NormalizedRequest& out) {
  FUZZ_CHECK(ValidateRequestId(out.request_id).ok());
  FUZZ_CHECK(out.request_id == request.request_id());
  FUZZ_CHECK(ValidatePurposeFormat(out.purpose).ok());
  FUZZ_CHECK(request.has_consent() && request.consent().has_granted_at());
  FUZZ_CHECK(IsAdult(out.birth_date, kNow));
  // Normalized values are fixed points of their normalizers.
  FUZZ_CHECK(NormalizeName(out.name).value_or("") == out.name);
  FUZZ_CHECK(NormalizeIdNumber(out.id_number, kNow).value_or("") ==
             out.id_number);
  FUZZ_CHECK(BirthDateFromIdNumber(out.id_number).value_or(absl::CivilDay()) ==
             out.birth_date);
  switch (request.check_case()) {
    case v1::VerifyRequest::kCarrierThreeFactor:
      FUZZ_CHECK(out.check == cfg::CHECK_CARRIER_THREE_FACTOR);
      FUZZ_CHECK(NormalizeMobile(out.mobile).value_or("") == out.mobile);
      FUZZ_CHECK(out.bank_card_number.empty() && out.face_image.empty());
      break;
    case v1::VerifyRequest::kBankFourFactor:
      FUZZ_CHECK(out.check == cfg::CHECK_BANK_FOUR_FACTOR);
      FUZZ_CHECK(NormalizeMobile(out.mobile).value_or("") == out.mobile);
      FUZZ_CHECK(NormalizeBankCard(out.bank_card_number).ok());
      FUZZ_CHECK(out.face_image.empty());
      break;
    case v1::VerifyRequest::kFaceVerification:
      FUZZ_CHECK(out.check == cfg::CHECK_FACE_VERIFICATION);
      FUZZ_CHECK(out.face_image == request.face_verification().face_image());
      FUZZ_CHECK(ValidateFaceImage(out.face_image, 256).ok());
      FUZZ_CHECK(out.mobile.empty() && out.bank_card_number.empty());
      break;
    case v1::VerifyRequest::CHECK_NOT_SET:
      FUZZ_CHECK(false);
  }
}

}  // namespace
}  // namespace idgate::identity

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace idgate::identity;  // NOLINT: local to the entry point
  // Invalid UTF-8 in a string field fails the parse with a log line per
  // input; silence it so fuzzer output stays readable.
  static const bool kQuiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)kQuiet;
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return 0;
  }
  idgate::v1::VerifyRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  absl::StatusOr<NormalizedRequest> result =
      ValidateVerifyRequest(request, SmallLimits(), kNow);
  if (result.ok()) {
    CheckAccepted(request, *result);
  } else if (result.status().code() == absl::StatusCode::kInvalidArgument) {
    CheckInvalidArgument(result.status());
  } else {
    FUZZ_CHECK(result.status().code() == absl::StatusCode::kFailedPrecondition);
    CheckUnderage(result.status());
  }
  return 0;
}
