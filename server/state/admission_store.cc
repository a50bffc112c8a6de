#include "server/state/admission_store.h"

#include <memory>
#include <utility>

#include "core/status.h"

namespace idgate {

InMemoryAdmissionStore::InMemoryAdmissionStore(
    std::unique_ptr<InMemoryCallerLimiter> caller_limits,
    std::unique_ptr<InMemoryIdempotencyStore> idempotency,
    std::unique_ptr<InMemorySubjectLimiter> subject_limits)
    : caller_limits_(std::move(caller_limits)),
      idempotency_(std::move(idempotency)),
      subject_limits_(std::move(subject_limits)) {}

void InMemoryAdmissionStore::Admit(const AdmissionAsk& ask, Done done) {
  using Kind = AdmissionGrant::Kind;
  if (absl::Status limited = caller_limits_->Take(ask.caller); !limited.ok()) {
    return done({Kind::kRefused, std::move(limited), "rate_limit"});
  }
  // A new claim is answered inside Begin, while `ask` is alive; only a
  // duplicate in flight is answered later, with the first call's result.
  idempotency_->Begin(
      ask.caller, ask.request_id, ask.fingerprint,
      [this, ask = &ask,
       done = std::move(done)](absl::StatusOr<IdempotencyClaim> claim) {
        if (!claim.ok()) return done({Kind::kAnswered, claim.status(), ""});
        switch (claim->kind) {
          case IdempotencyClaim::Kind::kReplay:
            return done({Kind::kAnswered, std::move(claim->replay), ""});
          case IdempotencyClaim::Kind::kConflict:
            return done(
                {Kind::kAnswered,
                 absl::AlreadyExistsError(
                     "request_id was already used for a different request"),
                 ""});
          case IdempotencyClaim::Kind::kNew:
            break;
        }
        absl::Status counted = subject_limits_->Count(ask->use);
        if (counted.ok()) {
          return done({Kind::kAdmitted, absl::UnknownError("no answer"), ""});
        }
        absl::Status refusal = WithReason(std::move(counted), "SUBJECT_LIMIT");
        // Nothing was sent: the key is free again for a corrected retry.
        idempotency_->Complete(ask->caller, ask->request_id, refusal,
                               /*remember=*/false);
        done({Kind::kRefused, std::move(refusal), "subject_limit"});
      });
}

void InMemoryAdmissionStore::Complete(const std::string& caller,
                                      const std::string& request_id,
                                      const VerifyResult& result,
                                      bool remember) {
  idempotency_->Complete(caller, request_id, result, remember);
}

void InMemoryAdmissionStore::Remember(const std::string& caller,
                                      const std::string& request_id,
                                      const VerifyResult& result,
                                      absl::Time answered_at) {
  idempotency_->Remember(caller, request_id, result, answered_at);
}

}  // namespace idgate
