#include "server/service/provider_attempt.h"

#include <algorithm>

#include "core/time.h"
#include "server/policy/egress_guard.h"

namespace idgate {
namespace {

namespace v1 = ::idgate::v1;
using ::idgate::ledger::v1::RECORD_KIND_INTENT;
using ::idgate::ledger::v1::RECORD_KIND_OUTCOME;
using ::idgate::ledger::v1::RecordKind;

std::string OutcomeLabel(const ProviderOutcome& o) {
  if (o.status.ok()) return v1::Verdict_Name(o.verdict);
  return absl::StatusCodeToString(o.status.code());
}

}  // namespace

ProviderAttempt::ProviderAttempt(const Gateway& gateway, const Caller& caller,
                                 const AdmittedRequest& request,
                                 ProviderRuntime& provider,
                                 ProviderGuard::Lease lease,
                                 absl::Time deadline, Done done)
    : gw_(gateway),
      caller_(caller),
      request_(request),
      provider_(provider),
      lease_(std::move(lease)),
      deadline_(deadline),
      done_(std::move(done)) {}

absl::Time ProviderAttempt::ProviderDeadline() const {
  return std::min(deadline_ - gw_.deadline_margin,
                  gw_.now() + ToDuration(provider_.config->timeout()));
}

bool ProviderAttempt::HasTimeToSend() const {
  return ProviderDeadline() - gw_.now() >= gw_.min_provider_budget;
}

void ProviderAttempt::Start() {
  if (!HasTimeToSend()) {
    return NotAttempted(
        absl::DeadlineExceededError("too little time left to call a provider"));
  }
  const identity::NormalizedRequest& n = request_.normalized;
  const std::string& id = provider_.config->id();
  const std::set<FieldForm>& allowed = *gw_.policy->Allowed(id, n.purpose);
  CallContext context{n.check, gw_.new_disclosure_id()};
  auto prepared = provider_.adapter->Prepare(
      MinimizedSubject::Minimize(request_.values, allowed), context);
  if (!prepared.ok()) return NotAttempted(prepared.status());
  // I1: what is really in the message, checked against the policy.
  auto pairs = InspectEgress((*prepared)->request(), allowed, id);
  if (!pairs.ok()) return NotAttempted(pairs.status());
  // I5: separate consent for what is really being sent.
  for (const FieldForm& pair : *pairs) {
    if (auto st = DisclosurePolicy::CheckConsent(n.consent, pair.first);
        !st.ok()) {
      return NotAttempted(std::move(st), "consent");
    }
  }
  disclosure_id_ = std::move(context.disclosure_id);
  pairs_ = std::move(*pairs);
  call_ = std::move(*prepared);

  // I2: the intent, naming exactly these pairs, is durable before sending.
  LedgerRecord intent = Record(RECORD_KIND_INTENT);
  for (const auto& [field, form] : pairs_) {
    auto* f = intent.add_fields();
    f->set_field(field);
    f->set_form(form);
  }
  intent_appended_at_ = gw_.now();
  gw_.ledger->Append(std::move(intent),
                     [self = shared_from_this()](absl::Status status) {
                       self->OnIntentDurable(std::move(status));
                     });
}

void ProviderAttempt::OnIntentDurable(absl::Status status) {
  if (!status.ok()) {
    // I3: no durable record, no call.
    return NotAttempted(absl::UnavailableError(
        "disclosure ledger unavailable; nothing was sent"));
  }
  if (gw_.events) gw_.events->IntentDurable(gw_.now() - intent_appended_at_);
  ProviderOutcome not_sent;
  not_sent.sent = false;
  std::shared_ptr<PreparedCall> call;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) {
      not_sent.status =
          absl::CancelledError("the caller cancelled before sending");
    } else if (!HasTimeToSend()) {
      // The intent became durable too late; bounded by the caller's
      // deadline, not by the provider.
      not_sent.status = absl::DeadlineExceededError(
          "too little time left to call a provider");
    } else {
      sending_ = call = call_;
    }
  }
  // The intent is durable either way: its outcome record says nothing left.
  if (call == nullptr) return OnOutcome(std::move(not_sent));
  sent_at_ = gw_.now();
  call->Send(ProviderDeadline(),
             [self = shared_from_this()](ProviderOutcome outcome) {
               self->OnOutcome(std::move(outcome));
             });
}

void ProviderAttempt::OnOutcome(ProviderOutcome outcome) {
  bool cancelled;
  {
    absl::MutexLock lock(&mu_);
    cancelled = cancelled_;
    sending_.reset();
  }
  const absl::StatusCode code = outcome.status.code();
  // The breaker hears only what the provider did: our own deadline or our
  // caller's cancellation before anything left says nothing about it.
  if (outcome.status.ok()) {
    lease_.Answered();
  } else if (!outcome.sent && (code == absl::StatusCode::kDeadlineExceeded ||
                               code == absl::StatusCode::kCancelled)) {
    lease_.NotAttempted();
  } else if (outcome.retryable || code == absl::StatusCode::kDeadlineExceeded) {
    lease_.ProviderFailed();
  } else {
    lease_.Answered();  // an error that is the provider's answer
  }
  if (gw_.events) {
    gw_.events->ProviderCall(
        provider_, OutcomeLabel(outcome), outcome.billed,
        outcome.sent ? gw_.now() - sent_at_ : absl::ZeroDuration());
  }

  LedgerRecord record = Record(RECORD_KIND_OUTCOME);
  auto* o = record.mutable_outcome();
  o->set_verdict(outcome.verdict);
  o->set_billed(outcome.billed);
  o->set_provider_code(outcome.provider_code);
  o->set_sent(outcome.sent);
  if (!outcome.status.ok()) o->set_error_code(absl::StatusCodeToString(code));
  // The answer does not wait for the outcome record: the intent already
  // proves the disclosure; a lost outcome shows as "possibly disclosed".
  // Unawaited, it rides on the next intent's fdatasync instead of its own.
  gw_.ledger->Append(std::move(record), nullptr);

  AttemptResult result;
  if (outcome.sent) {
    // Counted here, not at Send: only the outcome tells whether the request
    // left (a refused connection sends nothing).
    if (gw_.events) gw_.events->Disclosed(provider_, pairs_);
    auto& receipt = result.receipt.emplace();
    receipt.set_disclosure_id(disclosure_id_);
    receipt.set_provider(provider_.config->id());
    receipt.set_recipient(provider_.config->recipient());
    for (const auto& pair : pairs_) {
      if (std::find(receipt.fields().begin(), receipt.fields().end(),
                    pair.first) == receipt.fields().end()) {
        receipt.add_fields(pair.first);
      }
    }
  }
  // Failover only when nothing was billed and another provider may answer,
  // and never after a timeout of a sent request: the provider may have
  // processed (and billed) it.
  const bool maybe_processed =
      outcome.sent && code == absl::StatusCode::kDeadlineExceeded;
  result.failover = !outcome.status.ok() && !cancelled && outcome.retryable &&
                    !outcome.billed && !maybe_processed;
  result.status = !outcome.status.ok() && cancelled
                      ? absl::CancelledError("the caller cancelled")
                      : outcome.status;
  result.outcome = std::move(outcome);
  End(std::move(result));
}

LedgerRecord ProviderAttempt::Record(RecordKind kind) const {
  const identity::NormalizedRequest& n = request_.normalized;
  LedgerRecord record;
  record.set_kind(kind);
  record.set_disclosure_id(disclosure_id_);
  record.set_caller(caller_.id());
  record.set_request_id(n.request_id);
  record.set_purpose(n.purpose);
  record.set_provider(provider_.config->id());
  record.set_recipient(provider_.config->recipient());
  record.set_subject_ref(request_.subject.ref);
  record.set_subject_key_version(request_.subject.key_version);
  record.set_consent_id(n.consent.consent_id());
  record.set_policy_version(gw_.policy->version());
  return record;
}

void ProviderAttempt::NotAttempted(absl::Status status, std::string refusal) {
  lease_.NotAttempted();
  AttemptResult result;
  result.status = std::move(status);
  result.refusal = std::move(refusal);
  End(std::move(result));
}

void ProviderAttempt::End(AttemptResult result) {
  result.provider = &provider_;
  Done done = std::move(done_);
  done(std::move(result));
}

void ProviderAttempt::Cancel() {
  std::shared_ptr<PreparedCall> call;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    call = sending_;
  }
  // Outside the lock: cancellation may complete the call inline.
  if (call != nullptr) call->Cancel();
}

}  // namespace idgate
