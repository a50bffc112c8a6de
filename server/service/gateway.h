#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "idgate/config/v1/config.pb.h"
#include "server/identity/request_validator.h"
#include "server/ledger/ledger.h"
#include "server/ledger/subject_ref.h"
#include "server/policy/disclosure_policy.h"
#include "server/routing/router.h"
#include "server/state/admission_store.h"

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

// Everything a Verify call reads, shared read-only by all calls (the parts
// synchronize internally). GatewayParts builds and owns it.
struct Gateway {
  const ::idgate::config::v1::GatewayConfig* config = nullptr;
  const DisclosurePolicy* policy = nullptr;
  const Router* router = nullptr;
  Ledger* ledger = nullptr;
  const SubjectKeyring* subject_keys = nullptr;
  AdmissionStore* admission = nullptr;
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

// What the gateway is built from besides its config: the parts that come
// from outside server/ (adapters, the ledger, keys) or that tests replace.
struct GatewayInputs {
  // One adapter per configured provider, by provider id.
  std::map<std::string, std::unique_ptr<Adapter>> adapters;
  Ledger* ledger = nullptr;  // outlives the gateway
  std::unique_ptr<SubjectKeyring> subject_keys;
  VerifyEvents* events = nullptr;  // optional; outlives the gateway
  // The shared state of admission (e.g. on Redis); empty: this process's
  // own, in memory, as the config describes it.
  std::unique_ptr<AdmissionStore> admission;
  std::function<absl::Time()> now = [] { return absl::Now(); };
  // A value in [0, 1): the weighted order of providers inside a priority.
  std::function<double()> uniform;
  std::function<std::string()> new_disclosure_id;
};

// The gateway assembled from a config: provider runtimes (adapter, breaker
// and bulkhead), the compiled disclosure policy, the router, the stores and
// limits. The one way a gateway is put together, by the app and by tests.
class GatewayParts {
 public:
  // Fails, naming the config path, when the policy does not allow what a
  // routed adapter needs, or a provider has no adapter.
  static absl::StatusOr<std::unique_ptr<GatewayParts>> Assemble(
      const ::idgate::config::v1::GatewayConfig& config, GatewayInputs inputs);

  const Gateway& gateway() const { return gateway_; }
  AdmissionStore& admission() { return *inputs_.admission; }
  // By provider id.
  const std::map<std::string, std::unique_ptr<ProviderRuntime>>& providers()
      const {
    return providers_;
  }

 private:
  GatewayParts() = default;

  GatewayInputs inputs_;
  std::map<std::string, std::unique_ptr<ProviderRuntime>> providers_;
  std::unique_ptr<const DisclosurePolicy> policy_;
  std::unique_ptr<Router> router_;
  Gateway gateway_;
};

}  // namespace idgate
