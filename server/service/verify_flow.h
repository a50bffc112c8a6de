#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/pii.h"
#include "server/auth/caller_auth.h"
#include "server/service/gateway.h"

namespace idgate {

// One Verify call, as an asynchronous pipeline (DESIGN.md, "One Verify call"):
// authorize → validate → consent → idempotency → limits → for each candidate
// provider: minimize → prepare → egress guard → durable ledger intent → send
// → outcome → failover on a retryable, unbilled failure. Never blocks: every
// wait is a callback (ledger writer thread, gRPC client callback).
class VerifyFlow : public std::enable_shared_from_this<VerifyFlow> {
 public:
  using Done = std::function<void(VerifyResult)>;

  // `request` must outlive `done` (the gRPC call owns it until Finish).
  // Create with std::make_shared, then Start().
  VerifyFlow(const Gateway& gateway, const Caller& caller,
             const ::idgate::v1::VerifyRequest& request, absl::Time deadline,
             Done done);

  // Runs the pipeline; `done` runs exactly once, maybe before this returns.
  void Start();

  // The caller went away: cancel the provider call in progress, if any.
  void Cancel();

 private:
  void TryNextProvider();
  void OnIntentDurable(absl::Status status);
  void OnOutcome(ProviderOutcome outcome);
  // Ends a provider call that was prepared (and maybe sent).
  void EndCall(const ProviderOutcome& outcome);
  void Refuse(absl::Status status, const std::string& reason);
  void Finish(VerifyResult result);
  absl::Time ProviderDeadline(const ProviderRuntime& provider) const;
  // Reads the images: Start calls it before moving them into values_.
  std::string Fingerprint() const;

  const Gateway& gw_;
  const Caller& caller_;
  const ::idgate::v1::VerifyRequest& request_;
  const absl::Time deadline_;
  Done done_;

  identity::NormalizedRequest normalized_;
  PersonalValues values_;
  SubjectReference subject_;
  std::vector<ProviderRuntime*> candidates_;
  size_t next_candidate_ = 0;
  ::idgate::v1::VerifyResponse response_;
  absl::Status last_failure_;
  bool claimed_ = false;    // holds an idempotency claim to complete
  bool disclosed_ = false;  // some request was sent to a provider
  std::atomic<bool> finished_{false};

  // The provider call in progress. Guarded because Cancel() comes from
  // another thread; the call is shared so Cancel() can use it unlocked.
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool sending_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<PreparedCall> call_ ABSL_GUARDED_BY(mu_);
  ProviderRuntime* provider_ = nullptr;
  std::string disclosure_id_;
  std::set<FieldForm> pairs_;
  absl::Time sent_at_;
  absl::Time intent_appended_at_;
};

}  // namespace idgate
