#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "idgate/config/v1/config.pb.h"

namespace idgate {

using Caller = ::idgate::config::v1::Caller;

// What the transport says about the peer, extracted at the gRPC boundary.
struct PeerIdentity {
  // From a verified client certificate (empty without mTLS).
  std::vector<std::string> uri_sans;
  std::vector<std::string> dns_sans;
  std::string common_name;
  // The x-idgate-caller metadata value; used only in development mode.
  std::string development_caller;
};

// Who is calling, and may they run this check for this purpose?
class CallerAuthenticator {
 public:
  explicit CallerAuthenticator(
      const ::idgate::config::v1::CallerSettings& settings);

  // The configured caller the peer proves to be: certificate URI SAN, else
  // DNS SAN, else CN; the metadata id only in development mode.
  // UNAUTHENTICATED when none matches a configured caller.
  absl::StatusOr<const Caller*> Identify(const PeerIdentity& peer) const;

  // PERMISSION_DENIED unless the caller was granted the check and purpose.
  // The message does not repeat the purpose: it is caller-supplied text.
  static absl::Status Authorize(const Caller& caller,
                                ::idgate::config::v1::Check check,
                                const std::string& purpose);

 private:
  const Caller* Find(const std::string& id) const;

  bool development_mode_;
  std::map<std::string, Caller> callers_;
};

}  // namespace idgate
