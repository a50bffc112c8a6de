#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "idgate/config/v1/config.pb.h"
#include "server/state/admission_store.h"
#include "server/state/redis_client.h"

namespace idgate {

// The AdmissionStore shared by every replica, on Redis (ARCHITECTURE.md,
// "State shared by replicas"). Admit is one EVALSHA of a Lua script that,
// atomically and on the Redis server's clock, takes a token from the
// caller's bucket, finds the request_id's record (a stored answer, a claim
// in flight, a claim whose replica died, or another request), checks and
// counts the subject's calls and distinct contacts of the Asia/Shanghai day,
// and claims the key. Complete is one more write: the answer, or freeing a
// claim that disclosed nothing. Two round trips per call.
//
// Nothing personal goes to Redis: caller ids, request ids, keyed
// fingerprints and subject and contact references (HMACs from the ledger's
// keyring), and answers (which hold no personal value).
//
// When Redis does not answer: the idempotency claim and the subject limits
// fail closed (UNAVAILABLE, nothing is sent); the caller's rate limit falls
// back to a bucket of this process at rate ÷ expected replicas, so an
// over-limit caller still gets RESOURCE_EXHAUSTED.
class RedisAdmissionStore : public AdmissionStore {
 public:
  struct Options {
    std::string key_prefix = "idgate:";
    // How long answers are kept (idempotency.ttl).
    absl::Duration answer_ttl = absl::Hours(24);
    // A claim outlives its call's deadline by this much before a retry may
    // learn that its replica died.
    absl::Duration lease_margin = absl::Seconds(5);
    // A duplicate in flight elsewhere is checked again after these delays
    // (doubling), until the first call answers or its own deadline.
    absl::Duration min_poll = absl::Milliseconds(2);
    absl::Duration max_poll = absl::Milliseconds(100);
    ::idgate::config::v1::CallerSettings callers;
    ::idgate::config::v1::SubjectLimits subject_limits;
    uint32_t expected_replicas = 1;
    std::function<absl::Time()> now = [] { return absl::Now(); };
    // Each Admit decided by the local fallback bucket (Redis unavailable).
    std::function<void()> on_fallback;
  };

  // `client` outlives the store.
  RedisAdmissionStore(RedisClient& client, Options options);

  void Admit(const AdmissionAsk& ask, Done done) override;
  void Complete(const std::string& caller, const std::string& request_id,
                const VerifyResult& result, bool remember) override;
  // Kept in this process only: the ledger's restart rule is each replica's.
  void Remember(const std::string& caller, const std::string& request_id,
                const VerifyResult& result, absl::Time answered_at) override;

  // The Redis key of a request_id's record (tests look at it).
  std::string IdempotencyKey(const std::string& caller,
                             const std::string& request_id) const;

 private:
  struct Waiting;
  void Run(std::shared_ptr<Waiting> waiting, bool peek);
  void OnReply(std::shared_ptr<Waiting> waiting,
               absl::StatusOr<RedisReply> reply);
  void Fallback(Waiting& waiting, const absl::Status& cause);

  RedisClient& client_;
  const Options options_;
  // Token bucket per caller at rate ÷ replicas, when Redis cannot answer.
  InMemoryCallerLimiter fallback_;
  // The ledger's restart rule: request ids this replica (maybe) disclosed
  // before it started. Written before serving, read after.
  absl::Mutex mu_;
  std::map<std::string, std::pair<VerifyResult, absl::Time>> remembered_
      ABSL_GUARDED_BY(mu_);
};

// VerifyResult <-> the bytes Redis keeps (idgate.state.v1.StoredAnswer).
std::string EncodeAnswer(const VerifyResult& result);
VerifyResult DecodeAnswer(const std::string& bytes);

}  // namespace idgate
