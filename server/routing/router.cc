#include "server/routing/router.h"

#include <algorithm>

namespace idgate {

Router::Router(const ::idgate::config::v1::GatewayConfig& config,
               const DisclosurePolicy& policy,
               const std::map<std::string, ProviderRuntime*>& providers,
               std::function<double()> uniform)
    : policy_(policy), uniform_(std::move(uniform)) {
  for (const auto& route : config.routes()) {
    auto& targets = routes_[route.check()];
    for (const auto& t : route.targets()) {
      targets.push_back({providers.at(t.provider()), t.priority(),
                         std::max<uint32_t>(1, t.weight())});
    }
    std::stable_sort(targets.begin(), targets.end(),
                     [](const Target& a, const Target& b) {
                       return a.priority < b.priority;
                     });
  }
}

std::vector<ProviderRuntime*> Router::Candidates(
    ::idgate::config::v1::Check check, const std::string& purpose,
    const std::vector<std::string>& recipients) const {
  std::vector<ProviderRuntime*> out;
  auto route = routes_.find(check);
  if (route == routes_.end()) return out;

  std::vector<Target> level;
  auto flush = [&] {
    // Weighted random order without replacement inside one priority level.
    while (!level.empty()) {
      uint64_t total = 0;
      for (const auto& t : level) total += t.weight;
      double pick = uniform_() * static_cast<double>(total);
      size_t i = 0;
      for (; i + 1 < level.size(); ++i) {
        if (pick < level[i].weight) break;
        pick -= level[i].weight;
      }
      out.push_back(level[i].provider);
      level.erase(level.begin() + static_cast<long>(i));
    }
  };
  for (const Target& t : route->second) {
    const std::string& id = t.provider->config->id();
    if (policy_.Allowed(id, purpose) == nullptr) continue;
    if (!recipients.empty() && std::find(recipients.begin(), recipients.end(),
                                         id) == recipients.end()) {
      continue;
    }
    if (!level.empty() && level.front().priority != t.priority) flush();
    level.push_back(t);
  }
  flush();
  return out;
}

}  // namespace idgate
