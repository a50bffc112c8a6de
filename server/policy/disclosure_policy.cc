#include "server/policy/disclosure_policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/digest.h"
#include "core/status.h"

namespace idgate {
namespace {

namespace cfg = ::idgate::config::v1;

std::string PairName(const FieldForm& pair) {
  return absl::StrCat(::idgate::v1::PiiField_Name(pair.first), "/",
                      ::idgate::v1::PiiForm_Name(pair.second));
}

}  // namespace

ConsentScope DisclosurePolicy::RequiredScope(PiiField field) {
  switch (field) {
    case ::idgate::v1::PII_FIELD_FACE_IMAGE:
    case ::idgate::v1::PII_FIELD_LIVENESS_VIDEO:
      return ::idgate::v1::CONSENT_SCOPE_BIOMETRIC;
    case ::idgate::v1::PII_FIELD_BANK_CARD_NUMBER:
      return ::idgate::v1::CONSENT_SCOPE_FINANCIAL_ACCOUNT;
    default:
      return ::idgate::v1::CONSENT_SCOPE_IDENTITY;
  }
}

absl::Status DisclosurePolicy::CheckConsent(
    const ::idgate::v1::Consent& consent, PiiField field) {
  const ConsentScope scope = RequiredScope(field);
  if (std::find(consent.scopes().begin(), consent.scopes().end(), scope) !=
      consent.scopes().end()) {
    return absl::OkStatus();
  }
  return WithReason(
      absl::FailedPreconditionError(absl::StrCat(
          "consent lacks ", ::idgate::v1::ConsentScope_Name(scope), ", which ",
          ::idgate::v1::PiiField_Name(field), " needs")),
      "CONSENT_SCOPE_MISSING");
}

absl::StatusOr<std::unique_ptr<const DisclosurePolicy>>
DisclosurePolicy::Compile(const cfg::GatewayConfig& config,
                          const AdapterLookup& adapter_of) {
  std::unique_ptr<DisclosurePolicy> policy(new DisclosurePolicy());
  // Which rule granted each (provider, purpose), to name it in errors.
  std::map<std::pair<std::string, std::string>, int> rule_of;
  for (int i = 0; i < config.disclosure_rules_size(); ++i) {
    const auto& rule = config.disclosure_rules(i);
    for (const auto& purpose : rule.purposes()) {
      auto key = std::make_pair(rule.provider(), purpose);
      auto& allowed = policy->allowed_[key];
      for (const auto& f : rule.fields()) allowed.insert({f.field(), f.form()});
      rule_of.emplace(key, i);
    }
  }

  for (int r = 0; r < config.routes_size(); ++r) {
    const auto& route = config.routes(r);
    for (int t = 0; t < route.targets_size(); ++t) {
      const std::string& provider = route.targets(t).provider();
      const std::string where =
          absl::StrCat("routes[", r, "].targets[", t, "]");
      const Adapter* adapter = adapter_of(provider);
      if (adapter == nullptr) {
        return absl::FailedPreconditionError(absl::StrCat(
            "policy: ", where, ": provider ", provider, " has no adapter"));
      }
      bool any_rule = false;
      for (const auto& [key, allowed] : policy->allowed_) {
        if (key.first != provider) continue;
        any_rule = true;
        for (const FieldForm& need : adapter->RequiredFields(route.check())) {
          if (!allowed.count(need)) {
            return absl::FailedPreconditionError(absl::StrCat(
                "policy: disclosure_rules[", rule_of[key], "] (provider ",
                provider, ", purpose ", key.second, ") does not allow ",
                PairName(need), ", which the adapter needs for ",
                cfg::Check_Name(route.check()), " (", where, ")"));
          }
        }
      }
      if (!any_rule) {
        return absl::FailedPreconditionError(absl::StrCat(
            "policy: ", where, ": provider ", provider,
            " has no disclosure rule, so it could never be called"));
      }
    }
  }

  // The version covers exactly what decides a disclosure: rules and recipients.
  std::string canonical;
  for (const auto& [key, allowed] : policy->allowed_) {
    absl::StrAppend(&canonical, key.first, "\x1f", key.second);
    for (const auto& pair : allowed)
      absl::StrAppend(&canonical, "\x1f", PairName(pair));
    absl::StrAppend(&canonical, "\x1e");
  }
  for (const auto& p : config.providers()) {
    absl::StrAppend(&canonical, p.id(), "\x1f", p.recipient(), "\x1e");
  }
  policy->version_ = Sha256Hex(canonical);
  return std::unique_ptr<const DisclosurePolicy>(std::move(policy));
}

const std::set<FieldForm>* DisclosurePolicy::Allowed(
    const std::string& provider, const std::string& purpose) const {
  auto it = allowed_.find({provider, purpose});
  return it == allowed_.end() ? nullptr : &it->second;
}

}  // namespace idgate
