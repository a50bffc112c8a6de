#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "idgate/config/v1/config.pb.h"
#include "server/policy/disclosure_policy.h"
#include "server/routing/provider_guard.h"

namespace idgate {

// A configured provider at run time: its config, adapter and guard.
struct ProviderRuntime {
  const ::idgate::config::v1::Provider* config = nullptr;
  std::unique_ptr<Adapter> adapter;
  std::unique_ptr<ProviderGuard> guard;
};

// Orders the providers that may serve one request.
class Router {
 public:
  // `providers` by id; must outlive the router. `uniform` returns a value in
  // [0, 1) and is injected so tests can fix the weighted order.
  Router(const ::idgate::config::v1::GatewayConfig& config,
         const DisclosurePolicy& policy,
         const std::map<std::string, ProviderRuntime*>& providers,
         std::function<double()> uniform);

  // The providers to try, best first: route order by priority, weighted
  // random inside a priority level, keeping only those the policy allows for
  // the purpose and the consent's recipients (empty = any) name.
  std::vector<ProviderRuntime*> Candidates(
      ::idgate::config::v1::Check check, const std::string& purpose,
      const std::vector<std::string>& recipients) const;

 private:
  struct Target {
    ProviderRuntime* provider;
    uint32_t priority;
    uint32_t weight;
  };
  const DisclosurePolicy& policy_;
  std::map<int, std::vector<Target>> routes_;  // by check, sorted by priority
  std::function<double()> uniform_;
};

}  // namespace idgate
