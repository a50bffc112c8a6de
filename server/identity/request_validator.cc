#include "server/identity/request_validator.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/time.h"

namespace idgate::identity {
namespace {

namespace cfg = ::idgate::config::v1;
namespace v1 = ::idgate::v1;

// google.protobuf.Timestamp's documented range: 0001-01-01 to 9999-12-31.
constexpr std::int64_t kMinTimestampSeconds = -62135596800;
constexpr std::int64_t kMaxTimestampSeconds = 253402300799;
constexpr std::int32_t kMaxTimestampNanos = 999999999;

// Collects one violation per field, in the order the fields are checked.
class Violations {
 public:
  // Records the rule carried by a failed validator status.
  void Check(absl::string_view field, const absl::Status& status) {
    if (!status.ok()) Add(field, status.message());
  }

  // Stores the normalized value, or records the violation.
  void Take(absl::string_view field, absl::StatusOr<std::string> result,
            std::string* out) {
    if (result.ok()) {
      *out = *std::move(result);
    } else {
      Add(field, result.status().message());
    }
  }

  void Add(absl::string_view field, absl::string_view rule_name) {
    v1::FieldViolation* violation = bad_request_.add_field_violations();
    violation->set_field(std::string(field));
    // Defense in depth: only a known rule name may reach the caller, so a
    // status from a future validator can never carry a value out.
    violation->set_rule(
        std::string(IsRuleName(rule_name) ? rule_name : rule::kFormat));
  }

  bool empty() const { return bad_request_.field_violations().empty(); }

  absl::Status ToStatus() const {
    std::vector<std::string> entries;
    entries.reserve(bad_request_.field_violations_size());
    for (const v1::FieldViolation& v : bad_request_.field_violations()) {
      entries.push_back(absl::StrCat(v.field(), ": ", v.rule()));
    }
    absl::Status status = absl::InvalidArgumentError(
        absl::StrCat("invalid request: ", absl::StrJoin(entries, "; ")));
    status.SetPayload(kBadRequestTypeUrl,
                      absl::Cord(bad_request_.SerializeAsString()));
    return status;
  }

 private:
  v1::BadRequest bad_request_;
};

void ValidateConsent(const v1::VerifyRequest& request, absl::Time now,
                     Violations* violations) {
  if (!request.has_consent()) {
    violations->Add("consent", rule::kMissing);
    return;
  }
  const v1::Consent& consent = request.consent();
  violations->Check(
      "consent.consent_id",
      ValidateOpaqueId(consent.consent_id(), kMaxConsentIdLength));

  if (!consent.has_granted_at()) {
    violations->Add("consent.granted_at", rule::kMissing);
  } else {
    const google::protobuf::Timestamp& t = consent.granted_at();
    if (t.seconds() < kMinTimestampSeconds ||
        t.seconds() > kMaxTimestampSeconds || t.nanos() < 0 ||
        t.nanos() > kMaxTimestampNanos) {
      violations->Add("consent.granted_at", rule::kFormat);
    } else if (ToTime(t) > now) {
      violations->Add("consent.granted_at", rule::kFuture);
    }
  }

  // Proto3 enums are open: an unknown number would reach authorization.
  for (int scope : consent.scopes()) {
    if (!v1::ConsentScope_IsValid(scope) ||
        scope == v1::CONSENT_SCOPE_UNSPECIFIED) {
      violations->Add("consent.scopes", rule::kUnknownValue);
      break;
    }
  }
  for (const std::string& recipient : consent.recipients()) {
    absl::Status status = ValidateOpaqueId(recipient, kMaxRecipientLength);
    if (!status.ok()) {
      violations->Check("consent.recipients", status);
      break;
    }
  }
}

// Normalizes the ID number and extracts the birth date from it.
void TakeIdNumber(absl::string_view field, absl::string_view id_number,
                  absl::Time now, Violations* violations,
                  NormalizedRequest* out) {
  absl::StatusOr<std::string> normalized = NormalizeIdNumber(id_number, now);
  if (!normalized.ok()) {
    violations->Check(field, normalized.status());
    return;
  }
  absl::StatusOr<absl::CivilDay> birth_date =
      BirthDateFromIdNumber(*normalized);
  if (!birth_date.ok()) {  // unreachable: a normalized number has a date
    violations->Check(field, birth_date.status());
    return;
  }
  out->id_number = *std::move(normalized);
  out->birth_date = *birth_date;
}

void ValidateCheck(const v1::VerifyRequest& request,
                   const ValidationLimits& limits, absl::Time now,
                   Violations* violations, NormalizedRequest* out) {
  switch (request.check_case()) {
    case v1::VerifyRequest::kCarrierThreeFactor: {
      const v1::CarrierThreeFactor& c = request.carrier_three_factor();
      out->check = cfg::CHECK_CARRIER_THREE_FACTOR;
      violations->Take("carrier_three_factor.name", NormalizeName(c.name()),
                       &out->name);
      TakeIdNumber("carrier_three_factor.id_number", c.id_number(), now,
                   violations, out);
      violations->Take("carrier_three_factor.mobile",
                       NormalizeMobile(c.mobile()), &out->mobile);
      return;
    }
    case v1::VerifyRequest::kBankFourFactor: {
      const v1::BankFourFactor& b = request.bank_four_factor();
      out->check = cfg::CHECK_BANK_FOUR_FACTOR;
      violations->Take("bank_four_factor.name", NormalizeName(b.name()),
                       &out->name);
      TakeIdNumber("bank_four_factor.id_number", b.id_number(), now, violations,
                   out);
      violations->Take("bank_four_factor.bank_card_number",
                       NormalizeBankCard(b.bank_card_number()),
                       &out->bank_card_number);
      violations->Take("bank_four_factor.mobile", NormalizeMobile(b.mobile()),
                       &out->mobile);
      return;
    }
    case v1::VerifyRequest::kFaceVerification: {
      const v1::FaceVerification& f = request.face_verification();
      out->check = cfg::CHECK_FACE_VERIFICATION;
      violations->Take("face_verification.name", NormalizeName(f.name()),
                       &out->name);
      TakeIdNumber("face_verification.id_number", f.id_number(), now,
                   violations, out);
      violations->Check(
          "face_verification.face_image",
          ValidateFaceImage(f.face_image(), limits.max_face_image_bytes));
      violations->Check("face_verification.liveness_video",
                        ValidateLivenessVideo(f.liveness_video(),
                                              limits.max_liveness_video_bytes));
      // Copied only when they will be used: they can weigh megabytes.
      if (violations->empty()) {
        out->face_image = f.face_image();
        out->liveness_video = f.liveness_video();
      }
      return;
    }
    case v1::VerifyRequest::CHECK_NOT_SET:
      violations->Add("check", rule::kMissing);
      return;
  }
  violations->Add("check", rule::kUnknownValue);  // unreachable with this proto
}

absl::Status UnderageError() {
  absl::Status status = absl::FailedPreconditionError(
      absl::StrCat("subject is under ", kAdultAge));
  return WithReason(std::move(status), kSubjectUnderageReason);
}

}  // namespace

ValidationLimits ValidationLimitsFromConfig(
    const idgate::config::v1::ValidationSettings& settings) {
  ValidationLimits limits;
  if (settings.max_face_image_bytes() != 0) {
    limits.max_face_image_bytes = settings.max_face_image_bytes();
  }
  if (settings.max_liveness_video_bytes() != 0) {
    limits.max_liveness_video_bytes = settings.max_liveness_video_bytes();
  }
  return limits;
}

absl::StatusOr<NormalizedRequest> ValidateVerifyRequest(
    const idgate::v1::VerifyRequest& request, const ValidationLimits& limits,
    absl::Time now) {
  Violations violations;
  NormalizedRequest out;
  violations.Check("request_id", ValidateRequestId(request.request_id()));
  violations.Check("purpose", ValidatePurposeFormat(request.purpose()));
  ValidateConsent(request, now, &violations);
  ValidateCheck(request, limits, now, &violations, &out);
  if (!violations.empty()) return violations.ToStatus();

  // Only a fully valid request reaches the age rule, so the caller fixes
  // every input error before learning anything about the subject.
  if (!IsAdult(out.birth_date, now)) return UnderageError();

  out.request_id = request.request_id();
  out.purpose = request.purpose();
  out.consent = request.consent();
  return out;
}

}  // namespace idgate::identity
