#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "adapters/adapter.h"
#include "idgate/config/v1/config.pb.h"

namespace idgate {

using ConsentScope = ::idgate::v1::ConsentScope;

// The disclosure rules of the config, compiled once at start-up into an
// immutable lookup: which (field, form) pairs each provider may receive for
// each purpose. Anything not listed is refused.
class DisclosurePolicy {
 public:
  // Returns the adapter of a provider id (nullptr if unknown).
  using AdapterLookup = std::function<const Adapter*(const std::string&)>;

  // Fails, naming the rule or route, when a routed provider's adapter needs a
  // field its rule does not allow, or a routed provider has no rule at all.
  static absl::StatusOr<std::unique_ptr<const DisclosurePolicy>> Compile(
      const ::idgate::config::v1::GatewayConfig& config,
      const AdapterLookup& adapter_of);

  // The pairs `provider` may receive for `purpose`; nullptr when the policy
  // does not let that provider serve that purpose at all.
  const std::set<FieldForm>* Allowed(const std::string& provider,
                                     const std::string& purpose) const;

  // Lowercase hex SHA-256 of the compiled rules: the ledger's policy_version.
  const std::string& version() const { return version_; }

  // The consent scope a field needs (PIPL art. 29 separate consent for
  // biometric and financial-account data).
  static ConsentScope RequiredScope(PiiField field);

  // OK when `consent` grants the scope `field` needs; else
  // FAILED_PRECONDITION with the reason CONSENT_SCOPE_MISSING.
  static absl::Status CheckConsent(const ::idgate::v1::Consent& consent,
                                   PiiField field);

 private:
  DisclosurePolicy() = default;
  std::map<std::pair<std::string, std::string>, std::set<FieldForm>> allowed_;
  std::string version_;
};

}  // namespace idgate
