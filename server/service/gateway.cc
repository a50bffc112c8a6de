#include "server/service/gateway.h"

#include "absl/strings/str_cat.h"
#include "core/time.h"

namespace idgate {

namespace cfg = ::idgate::config::v1;

// Per process, not per replica: one person's requests across callers.
constexpr size_t kMaxSubjectsPerDay = 1'000'000;
// A duplicate beyond this many waiting ones is refused (ABORTED).
constexpr size_t kMaxWaitersPerRequestId = 1000;

absl::StatusOr<std::unique_ptr<GatewayParts>> GatewayParts::Assemble(
    const cfg::GatewayConfig& config, GatewayInputs inputs) {
  std::unique_ptr<GatewayParts> parts(new GatewayParts());
  GatewayInputs& in = parts->inputs_;
  in = std::move(inputs);

  std::map<std::string, ProviderRuntime*> by_id;
  for (int i = 0; i < config.providers_size(); ++i) {
    const cfg::Provider& p = config.providers(i);
    auto adapter = in.adapters.find(p.id());
    if (adapter == in.adapters.end() || adapter->second == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "config: providers[", i, "] (", p.id(), "): no adapter"));
    }
    auto runtime = std::make_unique<ProviderRuntime>();
    runtime->config = &p;
    runtime->adapter = std::move(adapter->second);
    runtime->guard = std::make_unique<ProviderGuard>(
        p.max_in_flight(), p.circuit_breaker(), in.now);
    by_id[p.id()] = runtime.get();
    parts->providers_[p.id()] = std::move(runtime);
  }
  in.adapters.clear();

  auto policy = DisclosurePolicy::Compile(
      config, [&by_id](const std::string& id) -> const Adapter* {
        auto it = by_id.find(id);
        return it == by_id.end() ? nullptr : it->second->adapter.get();
      });
  if (!policy.ok()) return policy.status();
  parts->policy_ = std::move(*policy);
  parts->router_ =
      std::make_unique<Router>(config, *parts->policy_, by_id, in.uniform);

  if (in.admission == nullptr) {
    in.admission = std::make_unique<InMemoryAdmissionStore>(
        std::make_unique<InMemoryCallerLimiter>(config.callers(), in.now),
        std::make_unique<InMemoryIdempotencyStore>(
            ToDuration(config.idempotency().ttl()),
            config.idempotency().max_entries(), kMaxWaitersPerRequestId,
            in.now),
        std::make_unique<InMemorySubjectLimiter>(config.subject_limits(),
                                                 kMaxSubjectsPerDay, in.now));
  }

  Gateway& gw = parts->gateway_;
  gw.config = &config;
  gw.policy = parts->policy_.get();
  gw.router = parts->router_.get();
  gw.ledger = in.ledger;
  gw.subject_keys = in.subject_keys.get();
  gw.admission = in.admission.get();
  gw.events = in.events;
  gw.validation = identity::ValidationLimitsFromConfig(config.validation());
  gw.now = in.now;
  gw.new_disclosure_id = in.new_disclosure_id;
  return parts;
}

}  // namespace idgate
