#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/auth/caller_auth.h"
#include "server/service/admission.h"
#include "server/service/gateway.h"
#include "server/service/provider_attempt.h"

namespace idgate {

// One Verify call (ARCHITECTURE.md, "One Verify call"): admission, then
// one provider attempt after another while a failure allows failover, then
// the answer, which the idempotency claim keeps for retries. Never blocks:
// every wait is a callback (the stores, the ledger writer thread, the
// provider call's completion).
class VerifyFlow : public std::enable_shared_from_this<VerifyFlow> {
 public:
  using Done = std::function<void(VerifyResult)>;

  // `gateway`, `caller` and `request` must outlive `done` (the gRPC call
  // owns the request until it finishes). Create with std::make_shared,
  // then Start().
  VerifyFlow(const Gateway& gateway, const Caller& caller,
             const ::idgate::v1::VerifyRequest& request, absl::Time deadline,
             Done done);

  // Runs the call; `done` runs exactly once, maybe before this returns.
  void Start();

  // The caller went away: cancels the provider attempt in progress, if any.
  void Cancel();

 private:
  void OnAdmission(Admission::Result result);
  void TryNextProvider();
  void OnAttempt(AttemptResult result);
  void Finish(VerifyResult result);

  const Gateway& gw_;
  const Caller& caller_;
  const ::idgate::v1::VerifyRequest& request_;
  const absl::Time deadline_;
  Done done_;

  AdmittedRequest admitted_;  // once admitted
  bool claimed_ = false;      // holds an idempotency claim to complete
  size_t next_candidate_ = 0;
  ::idgate::v1::VerifyResponse response_;
  absl::Status last_failure_;
  bool disclosed_ = false;  // some request reached a provider
  std::atomic<bool> finished_{false};

  absl::Mutex mu_;  // Cancel() comes from another thread
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<ProviderAttempt> attempt_ ABSL_GUARDED_BY(mu_);
};

}  // namespace idgate
