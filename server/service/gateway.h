#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "idgate/config/v1/config.pb.h"
#include "server/idempotency/idempotency_store.h"
#include "server/identity/request_validator.h"
#include "server/ledger/ledger.h"
#include "server/ledger/subject_ref.h"
#include "server/limits/rate_limits.h"
#include "server/policy/disclosure_policy.h"
#include "server/routing/router.h"

namespace idgate {

// What happened during one Verify, reported for metrics and logs. Carries
// ids, enums and codes only: never a personal value.
class VerifyEvents {
 public:
  virtual ~VerifyEvents() = default;
  // A Verify call arrived.
  virtual void CallStarted() {}
  // A refusal before any provider call; `reason` is from a closed set:
  // validation, underage, consent, permission, rate_limit, subject_limit.
  virtual void Refused(const std::string& reason) {}
  // One provider call ended. `outcome` is a verdict name or an error class.
  virtual void ProviderCall(const ProviderRuntime& provider,
                            const std::string& outcome, bool billed,
                            absl::Duration duration) {}
  // A disclosure left (the intent was durable and the request was sent).
  virtual void Disclosed(const ProviderRuntime& provider,
                         const std::set<FieldForm>& pairs) {}
  // An intent record became durable `wait` after it was appended.
  virtual void IntentDurable(absl::Duration wait) {}
};

// Everything a Verify call needs, built once by main and shared read-only
// (the components synchronize internally).
struct Gateway {
  const ::idgate::config::v1::GatewayConfig* config = nullptr;
  const DisclosurePolicy* policy = nullptr;
  const Router* router = nullptr;
  Ledger* ledger = nullptr;
  const SubjectKeyring* subject_keys = nullptr;
  IdempotencyStore* idempotency = nullptr;
  CallerRateLimiter* caller_limits = nullptr;
  SubjectLimiter* subject_limits = nullptr;
  VerifyEvents* events = nullptr;
  identity::ValidationLimits validation;
  // A provider call needs at least this much time left to start.
  absl::Duration min_provider_budget = absl::Milliseconds(20);
  // Kept back from the caller's deadline to answer in time.
  absl::Duration deadline_margin = absl::Milliseconds(50);
  std::function<absl::Time()> now;
  // Unique, unguessable disclosure ids.
  std::function<std::string()> new_disclosure_id;
};

}  // namespace idgate
