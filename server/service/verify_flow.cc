#include "server/service/verify_flow.h"

#include <algorithm>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "core/digest.h"
#include "core/time.h"
#include "google/protobuf/util/time_util.h"
#include "server/policy/egress_guard.h"

namespace idgate {
namespace {

namespace cfg = ::idgate::config::v1;
namespace v1 = ::idgate::v1;
using ::idgate::ledger::v1::RECORD_KIND_INTENT;
using ::idgate::ledger::v1::RECORD_KIND_OUTCOME;

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

// The scopes a check needs whatever the provider: checked before anything
// else so a missing separate consent never reaches routing.
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

bool HasScope(const v1::Consent& consent, v1::ConsentScope scope) {
  return std::find(consent.scopes().begin(), consent.scopes().end(), scope) !=
         consent.scopes().end();
}

absl::Status ConsentMissing(PiiField field) {
  return WithReason(
      absl::FailedPreconditionError(absl::StrCat(
          "consent lacks ",
          v1::ConsentScope_Name(DisclosurePolicy::RequiredScope(field)),
          ", which ", v1::PiiField_Name(field), " needs")),
      "CONSENT_SCOPE_MISSING");
}

// Provider failures that say the provider is unhealthy (for the breaker).
bool IsProviderFailure(const ProviderOutcome& o) {
  if (o.status.ok()) return false;
  return o.retryable || o.status.code() == absl::StatusCode::kDeadlineExceeded;
}

std::string OutcomeLabel(const ProviderOutcome& o) {
  if (o.status.ok()) return v1::Verdict_Name(o.verdict);
  return absl::StatusCodeToString(o.status.code());
}

}  // namespace

VerifyFlow::VerifyFlow(const Gateway& gateway, const Caller& caller,
                       const v1::VerifyRequest& request, absl::Time deadline,
                       Done done)
    : gw_(gateway),
      caller_(caller),
      request_(request),
      deadline_(deadline),
      done_(std::move(done)) {}

void VerifyFlow::Start() {
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
  if (gw_.caller_limits != nullptr) {
    absl::Duration retry_after;
    if (auto st = gw_.caller_limits->Acquire(caller_.id(), &retry_after);
        !st.ok()) {
      st.SetPayload(
          "type.googleapis.com/google.protobuf.Duration",
          absl::Cord(google::protobuf::util::TimeUtil::MillisecondsToDuration(
                         absl::ToInt64Milliseconds(retry_after))
                         .SerializeAsString()));
      return Refuse(st, "rate_limit");
    }
  }

  auto normalized =
      identity::ValidateVerifyRequest(request_, gw_.validation, gw_.now());
  if (!normalized.ok()) {
    const bool underage =
        normalized.status().code() == absl::StatusCode::kFailedPrecondition;
    return Refuse(normalized.status(), underage ? "underage" : "validation");
  }
  normalized_ = std::move(*normalized);

  for (PiiField field : FieldsOf(normalized_.check)) {
    if (!HasScope(normalized_.consent,
                  DisclosurePolicy::RequiredScope(field))) {
      return Refuse(ConsentMissing(field), "consent");
    }
  }

  // Computed before the images move into values_ (up to 2 + 8 MiB that
  // need not be copied); nothing else reads them from normalized_.
  const std::string fingerprint = Fingerprint();
  values_[v1::PII_FIELD_NAME] = normalized_.name;
  values_[v1::PII_FIELD_ID_NUMBER] = normalized_.id_number;
  if (!normalized_.mobile.empty())
    values_[v1::PII_FIELD_MOBILE] = normalized_.mobile;
  if (!normalized_.bank_card_number.empty()) {
    values_[v1::PII_FIELD_BANK_CARD_NUMBER] = normalized_.bank_card_number;
  }
  if (!normalized_.face_image.empty()) {
    values_[v1::PII_FIELD_FACE_IMAGE] = std::move(normalized_.face_image);
  }
  if (!normalized_.liveness_video.empty()) {
    values_[v1::PII_FIELD_LIVENESS_VIDEO] =
        std::move(normalized_.liveness_video);
  }
  subject_ = gw_.subject_keys->Reference(normalized_.id_number);

  // Idempotency (I8): a retry replays, a concurrent duplicate waits.
  VerifyResult replay = absl::UnknownError("unset");
  auto self = shared_from_this();
  auto claim = gw_.idempotency->Begin(
      caller_.id(), normalized_.request_id, fingerprint,
      [self](const VerifyResult& first) {
        VerifyResult result = first;
        if (result.ok()) result->set_replayed(true);
        self->Finish(std::move(result));
      },
      &replay);
  switch (claim) {
    case IdempotencyStore::Claim::kReplay:
      if (replay.ok()) replay->set_replayed(true);
      return Finish(std::move(replay));
    case IdempotencyStore::Claim::kWaiting:
      return;
    case IdempotencyStore::Claim::kConflict:
      return Finish(absl::AlreadyExistsError(
          "request_id was already used for a different request"));
    case IdempotencyStore::Claim::kNew:
      claimed_ = true;
      break;
  }

  if (gw_.subject_limits != nullptr) {
    std::string contact;
    if (!normalized_.bank_card_number.empty()) {
      contact =
          gw_.subject_keys->Reference("card:" + normalized_.bank_card_number)
              .ref;
    } else if (!normalized_.mobile.empty()) {
      contact = gw_.subject_keys->Reference("mobile:" + normalized_.mobile).ref;
    }
    if (auto st =
            gw_.subject_limits->Admit(subject_.ref, normalized_.check, contact);
        !st.ok()) {
      return Refuse(WithReason(st, "SUBJECT_LIMIT"), "subject_limit");
    }
  }

  candidates_ =
      gw_.router->Candidates(normalized_.check, normalized_.purpose,
                             {normalized_.consent.recipients().begin(),
                              normalized_.consent.recipients().end()});
  if (candidates_.empty()) {
    return Refuse(WithReason(absl::FailedPreconditionError(
                                 "no provider may serve this check for this "
                                 "purpose and consent"),
                             "NO_ELIGIBLE_PROVIDER"),
                  "consent");
  }
  response_.set_request_id(normalized_.request_id);
  last_failure_ = absl::UnavailableError("no provider available");
  TryNextProvider();
}

std::string VerifyFlow::Fingerprint() const {
  // Keyed, over normalized values: equal requests match whatever their
  // spelling, and the store holds nothing that can be reversed.
  std::string canonical = absl::StrCat(
      cfg::Check_Name(normalized_.check), "\x1f", normalized_.purpose, "\x1f",
      normalized_.consent.consent_id(), "\x1f", normalized_.name, "\x1f",
      normalized_.id_number, "\x1f", normalized_.mobile, "\x1f",
      normalized_.bank_card_number, "\x1f",
      normalized_.face_image.empty() ? "" : Sha256Hex(normalized_.face_image),
      "\x1f",
      normalized_.liveness_video.empty()
          ? ""
          : Sha256Hex(normalized_.liveness_video));
  for (int scope : normalized_.consent.scopes())
    absl::StrAppend(&canonical, "\x1f", scope);
  for (const auto& r : normalized_.consent.recipients())
    absl::StrAppend(&canonical, "\x1e", r);
  return gw_.subject_keys->Reference(canonical).ref;
}

absl::Time VerifyFlow::ProviderDeadline(const ProviderRuntime& provider) const {
  const auto& t = provider.config->timeout();
  return std::min(deadline_ - gw_.deadline_margin, gw_.now() + ToDuration(t));
}

void VerifyFlow::TryNextProvider() {
  while (next_candidate_ < candidates_.size()) {
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_)
        return Finish(absl::CancelledError("the caller cancelled"));
    }
    ProviderRuntime* provider = candidates_[next_candidate_++];
    const std::string& id = provider->config->id();
    switch (provider->guard->TryAcquire()) {
      case ProviderGuard::Admit::kCircuitOpen:
        last_failure_ = absl::UnavailableError(
            absl::StrCat("provider ", id, " circuit open"));
        if (gw_.events)
          gw_.events->ProviderCall(*provider, "CIRCUIT_OPEN", false,
                                   absl::ZeroDuration());
        continue;
      case ProviderGuard::Admit::kBulkheadFull:
        last_failure_ = absl::ResourceExhaustedError(
            absl::StrCat("provider ", id, " has too many calls in flight"));
        if (gw_.events)
          gw_.events->ProviderCall(*provider, "BULKHEAD_FULL", false,
                                   absl::ZeroDuration());
        continue;
      case ProviderGuard::Admit::kAdmitted:
        break;
    }
    if (ProviderDeadline(*provider) - gw_.now() < gw_.min_provider_budget) {
      provider->guard->Release(false);
      last_failure_ = absl::DeadlineExceededError(
          "too little time left to call a provider");
      break;
    }

    const std::set<FieldForm>& allowed =
        *gw_.policy->Allowed(id, normalized_.purpose);
    MinimizedSubject subject = MinimizedSubject::Minimize(values_, allowed);
    CallContext context{normalized_.check, gw_.new_disclosure_id()};
    auto prepared = provider->adapter->Prepare(subject, context);
    if (!prepared.ok()) {
      provider->guard->Release(false);
      return Finish(prepared.status());
    }
    // I1: what is really in the message, checked against the policy.
    auto pairs = InspectEgress((*prepared)->request(), allowed, id);
    if (!pairs.ok()) {
      provider->guard->Release(false);
      return Finish(pairs.status());
    }
    // I5: separate consent for what is really being sent.
    for (const FieldForm& pair : *pairs) {
      if (!HasScope(normalized_.consent,
                    DisclosurePolicy::RequiredScope(pair.first))) {
        provider->guard->Release(false);
        return Refuse(ConsentMissing(pair.first), "consent");
      }
    }

    provider_ = provider;
    disclosure_id_ = context.disclosure_id;
    pairs_ = std::move(*pairs);
    {
      absl::MutexLock lock(&mu_);
      call_ = std::move(*prepared);
      sending_ = false;
    }

    // I2: the intent, naming exactly these pairs, is durable before sending.
    LedgerRecord intent;
    intent.set_kind(RECORD_KIND_INTENT);
    intent.set_disclosure_id(disclosure_id_);
    intent.set_caller(caller_.id());
    intent.set_request_id(normalized_.request_id);
    intent.set_purpose(normalized_.purpose);
    intent.set_provider(id);
    intent.set_recipient(provider->config->recipient());
    for (const auto& [field, form] : pairs_) {
      auto* f = intent.add_fields();
      f->set_field(field);
      f->set_form(form);
    }
    intent.set_subject_ref(subject_.ref);
    intent.set_subject_key_version(subject_.key_version);
    intent.set_consent_id(normalized_.consent.consent_id());
    intent.set_policy_version(gw_.policy->version());
    auto self = shared_from_this();
    intent_appended_at_ = gw_.now();
    gw_.ledger->Append(std::move(intent),
                       [self](absl::Status st) { self->OnIntentDurable(st); });
    return;
  }
  Finish(last_failure_);
}

void VerifyFlow::OnIntentDurable(absl::Status status) {
  ProviderOutcome not_sent;
  not_sent.sent = false;
  if (!status.ok()) {
    // I3: no durable record, no call.
    provider_->guard->Release(false);
    return Finish(absl::UnavailableError(
        "disclosure ledger unavailable; nothing was sent"));
  }
  if (gw_.events) gw_.events->IntentDurable(gw_.now() - intent_appended_at_);
  std::shared_ptr<PreparedCall> call;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) {
      not_sent.status =
          absl::CancelledError("the caller cancelled before sending");
    } else if (ProviderDeadline(*provider_) - gw_.now() <
               gw_.min_provider_budget) {
      not_sent.status = absl::DeadlineExceededError(
          "too little time left to call a provider");
    } else {
      sending_ = true;
      call = call_;
    }
  }
  if (call == nullptr) return OnOutcome(std::move(not_sent));
  sent_at_ = gw_.now();
  disclosed_ = true;
  if (gw_.events) gw_.events->Disclosed(*provider_, pairs_);
  auto self = shared_from_this();
  call->Send(ProviderDeadline(*provider_),
             [self](ProviderOutcome o) { self->OnOutcome(std::move(o)); });
}

void VerifyFlow::EndCall(const ProviderOutcome& outcome) {
  provider_->guard->Release(IsProviderFailure(outcome));
  if (gw_.events) {
    gw_.events->ProviderCall(
        *provider_, OutcomeLabel(outcome), outcome.billed,
        outcome.sent ? gw_.now() - sent_at_ : absl::ZeroDuration());
  }
  LedgerRecord record;
  record.set_kind(RECORD_KIND_OUTCOME);
  record.set_disclosure_id(disclosure_id_);
  record.set_caller(caller_.id());
  record.set_request_id(normalized_.request_id);
  record.set_purpose(normalized_.purpose);
  record.set_provider(provider_->config->id());
  record.set_recipient(provider_->config->recipient());
  record.set_subject_ref(subject_.ref);
  record.set_subject_key_version(subject_.key_version);
  record.set_consent_id(normalized_.consent.consent_id());
  record.set_policy_version(gw_.policy->version());
  auto* o = record.mutable_outcome();
  o->set_verdict(outcome.verdict);
  o->set_billed(outcome.billed);
  o->set_provider_code(outcome.provider_code);
  o->set_sent(outcome.sent);
  if (!outcome.status.ok())
    o->set_error_code(absl::StatusCodeToString(outcome.status.code()));
  // The answer does not wait for the outcome record: the intent already
  // proves the disclosure; a lost outcome shows as "possibly disclosed".
  // Unawaited, it rides on the next intent's fdatasync instead of its own.
  gw_.ledger->Append(std::move(record), nullptr);

  if (outcome.sent) {
    auto* receipt = response_.add_disclosures();
    receipt->set_disclosure_id(disclosure_id_);
    receipt->set_provider(provider_->config->id());
    receipt->set_recipient(provider_->config->recipient());
    for (const auto& pair : pairs_) {
      if (std::find(receipt->fields().begin(), receipt->fields().end(),
                    pair.first) == receipt->fields().end()) {
        receipt->add_fields(pair.first);
      }
    }
  }
}

void VerifyFlow::OnOutcome(ProviderOutcome outcome) {
  EndCall(outcome);
  bool cancelled;
  {
    absl::MutexLock lock(&mu_);
    cancelled = cancelled_;
    call_.reset();
    sending_ = false;
  }
  if (outcome.status.ok()) {
    response_.set_verdict(outcome.verdict);
    response_.set_provider(provider_->config->id());
    response_.set_provider_code(outcome.provider_code);
    response_.set_billed(outcome.billed);
    if (normalized_.check == cfg::CHECK_FACE_VERIFICATION) {
      response_.set_face_similarity(outcome.face_similarity);
      response_.set_liveness_passed(outcome.liveness_passed);
    }
    return Finish(std::move(response_));  // the flow is done with it
  }
  if (cancelled) return Finish(absl::CancelledError("the caller cancelled"));
  // Failover only when nothing was billed and another provider may answer,
  // and never after a timeout on a sent request: the provider may have
  // processed (and billed) it, and DESIGN step 12 retries only failures
  // known to be unprocessed (unavailable, busy, not sent).
  const bool maybe_processed =
      outcome.sent &&
      outcome.status.code() == absl::StatusCode::kDeadlineExceeded;
  if (outcome.retryable && !outcome.billed && !maybe_processed) {
    last_failure_ = outcome.status;
    return TryNextProvider();
  }
  Finish(outcome.status);
}

void VerifyFlow::Refuse(absl::Status status, const std::string& reason) {
  if (gw_.events) gw_.events->Refused(reason);
  Finish(std::move(status));
}

void VerifyFlow::Finish(VerifyResult result) {
  if (finished_.exchange(true)) return;
  if (claimed_) {
    // Remember whatever followed a disclosure, so a retry of this id never
    // reaches a provider again (I8); forget refusals that sent nothing.
    gw_.idempotency->Complete(caller_.id(), normalized_.request_id, result,
                              disclosed_);
  }
  done_(std::move(result));
}

void VerifyFlow::Cancel() {
  std::shared_ptr<PreparedCall> call;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (sending_) call = call_;
  }
  // Outside the lock: cancellation may complete the call inline.
  if (call != nullptr) call->Cancel();
}

}  // namespace idgate
