#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "server/auth/caller_auth.h"
#include "server/routing/provider_guard.h"
#include "server/service/admission.h"

namespace idgate {

// How one provider attempt ended, for the flow's next step.
struct AttemptResult {
  const ProviderRuntime* provider = nullptr;
  // OK: `outcome` holds the provider's answer. Otherwise why there is none.
  absl::Status status;
  ProviderOutcome outcome;
  // Set when the request left for the provider: its disclosure receipt.
  absl::optional<::idgate::v1::DisclosureReceipt> receipt;
  // Another candidate may be tried: a retryable, unbilled failure known
  // not to have been processed (ARCHITECTURE.md, "Failover").
  bool failover = false;
  // A refusal before anything was sent (VerifyEvents::Refused's closed
  // set), or empty.
  std::string refusal;
};

// One request to one provider (steps 7-11 of a call, ARCHITECTURE.md):
// minimized subject, adapter, egress guard, durable intent, send, outcome
// record. It owns a lease on the provider's breaker slot and ends it as
// answered, provider failed or not attempted, so that only what the
// provider did moves the breaker.
class ProviderAttempt : public std::enable_shared_from_this<ProviderAttempt> {
 public:
  using Done = std::function<void(AttemptResult)>;

  // `request`, `caller` and `gateway` outlive `done`; the lease is held.
  ProviderAttempt(const Gateway& gateway, const Caller& caller,
                  const AdmittedRequest& request, ProviderRuntime& provider,
                  ProviderGuard::Lease lease, absl::Time deadline, Done done);

  // Runs the attempt; `done` runs exactly once, maybe before this returns.
  void Start();

  // The caller went away: cancels the provider call in progress, or stops
  // the attempt before it sends.
  void Cancel();

 private:
  void OnIntentDurable(absl::Status status);
  void OnOutcome(ProviderOutcome outcome);
  // The intent or outcome record of this disclosure: everything but the
  // kind-specific part.
  LedgerRecord Record(::idgate::ledger::v1::RecordKind kind) const;
  absl::Time ProviderDeadline() const;
  bool HasTimeToSend() const;
  // Ends the attempt before anything reached the provider.
  void NotAttempted(absl::Status status, std::string refusal = "");
  void End(AttemptResult result);

  const Gateway& gw_;
  const Caller& caller_;
  const AdmittedRequest& request_;
  ProviderRuntime& provider_;
  ProviderGuard::Lease lease_;
  const absl::Time deadline_;
  Done done_;

  std::string disclosure_id_;
  std::set<FieldForm> pairs_;
  absl::Time intent_appended_at_;
  absl::Time sent_at_;

  // Cancel() comes from another thread; the call is shared so that Cancel
  // can use it unlocked.
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<PreparedCall> sending_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<PreparedCall> call_;
};

}  // namespace idgate
