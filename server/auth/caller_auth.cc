#include "server/auth/caller_auth.h"

#include "absl/strings/str_cat.h"

namespace idgate {

namespace cfg = ::idgate::config::v1;

CallerAuthenticator::CallerAuthenticator(const cfg::CallerSettings& settings)
    : development_mode_(settings.development_mode()) {
  for (const auto& caller : settings.callers()) callers_[caller.id()] = caller;
}

const Caller* CallerAuthenticator::Find(const std::string& id) const {
  auto it = callers_.find(id);
  return it == callers_.end() ? nullptr : &it->second;
}

absl::StatusOr<const Caller*> CallerAuthenticator::Identify(
    const PeerIdentity& peer) const {
  const bool has_certificate = !peer.uri_sans.empty() ||
                               !peer.dns_sans.empty() ||
                               !peer.common_name.empty();
  if (has_certificate) {
    // The first identity kind present decides; a weaker one never overrides it.
    const std::vector<std::string>* sans =
        !peer.uri_sans.empty()   ? &peer.uri_sans
        : !peer.dns_sans.empty() ? &peer.dns_sans
                                 : nullptr;
    if (sans != nullptr) {
      for (const auto& id : *sans) {
        if (const Caller* caller = Find(id)) return caller;
      }
    } else if (const Caller* caller = Find(peer.common_name)) {
      return caller;
    }
    return absl::UnauthenticatedError(
        "client certificate names no configured caller");
  }
  if (development_mode_ && !peer.development_caller.empty()) {
    if (const Caller* caller = Find(peer.development_caller)) return caller;
    return absl::UnauthenticatedError(
        "x-idgate-caller names no configured caller");
  }
  return absl::UnauthenticatedError(
      "no caller identity: a client certificate is required");
}

absl::Status CallerAuthenticator::Authorize(const Caller& caller,
                                            cfg::Check check,
                                            const std::string& purpose) {
  bool check_granted = false;
  for (int c : caller.checks()) check_granted |= (c == check);
  if (!check_granted) {
    return absl::PermissionDeniedError(absl::StrCat(
        "caller ", caller.id(), " may not run ", cfg::Check_Name(check)));
  }
  for (const auto& p : caller.purposes()) {
    if (p == purpose) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("caller ", caller.id(), " was not granted this purpose"));
}

}  // namespace idgate
