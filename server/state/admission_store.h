#pragma once

#include <functional>
#include <string>

#include "absl/time/time.h"
#include "server/idempotency/idempotency_store.h"
#include "server/limits/rate_limits.h"

namespace idgate {

// What admission asks of the state it shares with other calls (and, on a
// shared store, with the other replicas), in one step.
struct AdmissionAsk {
  std::string caller;
  std::string request_id;
  // Keyed hash of the normalized request (IdempotencyStore::Begin).
  std::string fingerprint;
  SubjectUse use;
  // The call's deadline: a claim outlives it, and a duplicate in flight
  // waits for the first call's answer at most until then.
  absl::Time deadline;
};

// How that step ended.
struct AdmissionGrant {
  enum class Kind {
    kAdmitted,  // the request holds the claim: run it, then Complete()
    kAnswered,  // `answer` is the call's answer: a replay, a conflict, or
                // the store's own failure; nothing was counted
    kRefused,   // `answer` holds a limit's refusal, reason `refusal`
  };
  Kind kind = Kind::kAdmitted;
  VerifyResult answer = absl::UnknownError("no answer");
  // kRefused: "rate_limit" or "subject_limit" (VerifyEvents::Refused).
  std::string refusal;
};

// The state admission shares: the caller's token bucket, the idempotency
// claim (I8) and the subject's daily counts, decided together so that a
// shared store needs one round trip for them. A new request takes a token,
// is checked against and counted in the subject limits, and is claimed; a
// retry takes a token and gets the stored answer; a duplicate in flight
// waits for the first call's answer. Asynchronous: `done` may run before
// Admit returns, or later on another thread, never on a waiting one.
class AdmissionStore {
 public:
  using Done = std::function<void(AdmissionGrant)>;

  virtual ~AdmissionStore() = default;

  virtual void Admit(const AdmissionAsk& ask, Done done) = 0;

  // Ends a kAdmitted claim, as IdempotencyStore::Complete.
  virtual void Complete(const std::string& caller,
                        const std::string& request_id,
                        const VerifyResult& result, bool remember) = 0;

  // A request that reached a provider before this process started (from
  // the ledger): its retries get `result` until answered_at + the answers'
  // ttl. Called at start-up, before the server serves.
  virtual void Remember(const std::string& caller,
                        const std::string& request_id,
                        const VerifyResult& result, absl::Time answered_at) = 0;
};

// The three in-memory parts of one process, in the order a shared store
// applies them: caller limit, idempotency claim, subject limits (a claim
// whose request the subject limits refuse is freed again). Answers inline,
// except a duplicate in flight, whose `done` runs with the first call's
// answer on the thread that completes it.
class InMemoryAdmissionStore : public AdmissionStore {
 public:
  InMemoryAdmissionStore(
      std::unique_ptr<InMemoryCallerLimiter> caller_limits,
      std::unique_ptr<InMemoryIdempotencyStore> idempotency,
      std::unique_ptr<InMemorySubjectLimiter> subject_limits);

  void Admit(const AdmissionAsk& ask, Done done) override;
  void Complete(const std::string& caller, const std::string& request_id,
                const VerifyResult& result, bool remember) override;
  void Remember(const std::string& caller, const std::string& request_id,
                const VerifyResult& result, absl::Time answered_at) override;

 private:
  const std::unique_ptr<InMemoryCallerLimiter> caller_limits_;
  const std::unique_ptr<InMemoryIdempotencyStore> idempotency_;
  const std::unique_ptr<InMemorySubjectLimiter> subject_limits_;
};

}  // namespace idgate
