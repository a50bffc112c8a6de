#include "server/service/admission.h"

#include "absl/strings/str_cat.h"
#include "core/digest.h"
#include "core/status.h"

namespace idgate {
namespace {

namespace cfg = ::idgate::config::v1;
namespace v1 = ::idgate::v1;

cfg::Check CheckOf(const v1::VerifyRequest& request) {
  switch (request.check_case()) {
    case v1::VerifyRequest::kCarrierThreeFactor:
      return cfg::CHECK_CARRIER_THREE_FACTOR;
    case v1::VerifyRequest::kBankFourFactor:
      return cfg::CHECK_BANK_FOUR_FACTOR;
    case v1::VerifyRequest::kFaceVerification:
      return cfg::CHECK_FACE_VERIFICATION;
    default:
      return cfg::CHECK_UNSPECIFIED;
  }
}

// The fields a check sends whatever the provider: their consent scopes are
// checked before anything else, so a missing separate consent never
// reaches routing.
std::vector<PiiField> FieldsOf(cfg::Check check) {
  switch (check) {
    case cfg::CHECK_BANK_FOUR_FACTOR:
      return {v1::PII_FIELD_NAME, v1::PII_FIELD_ID_NUMBER,
              v1::PII_FIELD_BANK_CARD_NUMBER, v1::PII_FIELD_MOBILE};
    case cfg::CHECK_FACE_VERIFICATION:
      return {v1::PII_FIELD_NAME, v1::PII_FIELD_ID_NUMBER,
              v1::PII_FIELD_FACE_IMAGE};
    default:
      return {v1::PII_FIELD_NAME, v1::PII_FIELD_ID_NUMBER,
              v1::PII_FIELD_MOBILE};
  }
}

}  // namespace

void Admission::Run(const Gateway& gateway, const Caller& caller,
                    const v1::VerifyRequest& request, absl::Time deadline,
                    Done done) {
  std::make_shared<Admission>(gateway, caller, request, deadline,
                              std::move(done))
      ->Start();
}

Admission::Admission(const Gateway& gateway, const Caller& caller,
                     const v1::VerifyRequest& request, absl::Time deadline,
                     Done done)
    : gw_(gateway),
      caller_(caller),
      request_(request),
      deadline_(deadline),
      done_(std::move(done)) {}

void Admission::Start() {
  const cfg::Check check = CheckOf(request_);
  // Authorization first: a caller without the grant learns nothing about
  // the validity of what it sent. (No check set: validation says so.)
  if (check != cfg::CHECK_UNSPECIFIED) {
    if (auto st =
            CallerAuthenticator::Authorize(caller_, check, request_.purpose());
        !st.ok()) {
      return Refuse(st, "permission");
    }
  }
  auto normalized =
      identity::ValidateVerifyRequest(request_, gw_.validation, gw_.now());
  if (!normalized.ok()) {
    const bool underage =
        normalized.status().code() == absl::StatusCode::kFailedPrecondition;
    return Refuse(normalized.status(), underage ? "underage" : "validation");
  }
  identity::NormalizedRequest& n = admitted_.normalized;
  n = std::move(*normalized);
  for (PiiField field : FieldsOf(n.check)) {
    if (auto st = DisclosurePolicy::CheckConsent(n.consent, field); !st.ok()) {
      return Refuse(std::move(st), "consent");
    }
  }

  // Before the images move into values (up to 2 + 8 MiB that need not be
  // copied); nothing else reads them from the normalized request.
  AdmissionAsk ask;
  ask.caller = caller_.id();
  ask.request_id = n.request_id;
  ask.fingerprint = Fingerprint();
  ask.deadline = deadline_;
  PersonalValues& values = admitted_.values;
  values[v1::PII_FIELD_NAME] = n.name;
  values[v1::PII_FIELD_ID_NUMBER] = n.id_number;
  if (!n.mobile.empty()) values[v1::PII_FIELD_MOBILE] = n.mobile;
  if (!n.bank_card_number.empty()) {
    values[v1::PII_FIELD_BANK_CARD_NUMBER] = n.bank_card_number;
  }
  if (!n.face_image.empty()) {
    values[v1::PII_FIELD_FACE_IMAGE] = std::move(n.face_image);
  }
  if (!n.liveness_video.empty()) {
    values[v1::PII_FIELD_LIVENESS_VIDEO] = std::move(n.liveness_video);
  }
  admitted_.subject = gw_.subject_keys->Reference(n.id_number);
  ask.use = {admitted_.subject.ref, n.check, ContactRef()};

  // The caller's token, the idempotency claim (I8: a retry replays, a
  // duplicate in flight waits) and the subject limits, in one step.
  gw_.admission->Admit(ask, [self = shared_from_this()](AdmissionGrant grant) {
    self->OnGrant(std::move(grant));
  });
}

void Admission::OnGrant(AdmissionGrant grant) {
  switch (grant.kind) {
    case AdmissionGrant::Kind::kRefused:
      return Refuse(grant.answer.status(), grant.refusal);
    case AdmissionGrant::Kind::kAnswered:
      if (grant.answer.ok()) grant.answer->set_replayed(true);
      return Answer(std::move(grant.answer));
    case AdmissionGrant::Kind::kAdmitted:
      claimed_ = true;
      break;
  }
  const identity::NormalizedRequest& n = admitted_.normalized;
  admitted_.candidates = gw_.router->Candidates(
      n.check, n.purpose,
      {n.consent.recipients().begin(), n.consent.recipients().end()});
  if (admitted_.candidates.empty()) {
    return Refuse(
        WithReason(absl::FailedPreconditionError("no provider may serve this "
                                                 "check for this purpose and "
                                                 "consent"),
                   "NO_ELIGIBLE_PROVIDER"),
        "consent");
  }
  Done done = std::move(done_);
  done(std::move(admitted_));
}

std::string Admission::Fingerprint() const {
  const identity::NormalizedRequest& n = admitted_.normalized;
  std::string canonical =
      absl::StrCat(cfg::Check_Name(n.check), "\x1f", n.purpose, "\x1f",
                   n.consent.consent_id(), "\x1f", n.name, "\x1f", n.id_number,
                   "\x1f", n.mobile, "\x1f", n.bank_card_number, "\x1f",
                   n.face_image.empty() ? "" : Sha256Hex(n.face_image), "\x1f",
                   n.liveness_video.empty() ? "" : Sha256Hex(n.liveness_video));
  for (int scope : n.consent.scopes()) {
    absl::StrAppend(&canonical, "\x1f", scope);
  }
  for (const auto& r : n.consent.recipients()) {
    absl::StrAppend(&canonical, "\x1e", r);
  }
  return gw_.subject_keys->Reference(canonical).ref;
}

std::string Admission::ContactRef() const {
  const identity::NormalizedRequest& n = admitted_.normalized;
  if (!n.bank_card_number.empty()) {
    return gw_.subject_keys->Reference("card:" + n.bank_card_number).ref;
  }
  if (!n.mobile.empty()) {
    return gw_.subject_keys->Reference("mobile:" + n.mobile).ref;
  }
  return "";
}

void Admission::Refuse(absl::Status status, const std::string& reason) {
  if (gw_.events) gw_.events->Refused(reason);
  if (claimed_) {
    // Nothing was sent: free the key, so that a corrected retry runs.
    gw_.admission->Complete(caller_.id(), admitted_.normalized.request_id,
                            status, /*remember=*/false);
  }
  Answer(std::move(status));
}

void Admission::Answer(VerifyResult result) {
  Done done = std::move(done_);
  done(std::move(result));
}

}  // namespace idgate
