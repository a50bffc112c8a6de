#pragma once

#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/pii.h"
#include "server/auth/caller_auth.h"
#include "server/service/gateway.h"

namespace idgate {

// A request admitted to its providers: what the provider attempts need.
struct AdmittedRequest {
  // Validated and normalized; the face image and video moved into `values`.
  identity::NormalizedRequest normalized;
  PersonalValues values;
  SubjectReference subject;
  // The providers to try, best first.
  std::vector<ProviderRuntime*> candidates;
};

// Everything before the first provider attempt (ARCHITECTURE.md, "One
// Verify call"): authorization, validation, consent scopes, then in one step
// of the AdmissionStore the caller's rate limit, the idempotency claim and
// the subject limits, then routing. Never blocks: the store answers through
// a callback.
//
// Ends in one of two ways. Admitted: the request holds an idempotency
// claim, which whoever runs the attempts completes. Answered without any
// provider call: a refusal (reported to VerifyEvents::Refused, and its
// claim, if one was taken, freed) or the answer of an earlier call with the
// same request_id.
class Admission : public std::enable_shared_from_this<Admission> {
 public:
  using Result = std::variant<AdmittedRequest, VerifyResult>;
  using Done = std::function<void(Result)>;

  // `gateway`, `caller` and `request` outlive `done`. `done` runs exactly
  // once, maybe before Run returns. `deadline` is the call's.
  static void Run(const Gateway& gateway, const Caller& caller,
                  const ::idgate::v1::VerifyRequest& request,
                  absl::Time deadline, Done done);

  Admission(const Gateway& gateway, const Caller& caller,
            const ::idgate::v1::VerifyRequest& request, absl::Time deadline,
            Done done);

 private:
  void Start();
  void OnGrant(AdmissionGrant grant);
  // A keyed hash of the normalized request: equal requests match however
  // they were spelled, and it can be stored anywhere.
  std::string Fingerprint() const;
  // The keyed reference of the mobile or card tried, for the enumeration
  // guard (mobiles and cards count together), or "" for a face check.
  std::string ContactRef() const;
  void Refuse(absl::Status status, const std::string& reason);
  void Answer(VerifyResult result);

  const Gateway& gw_;
  const Caller& caller_;
  const ::idgate::v1::VerifyRequest& request_;
  const absl::Time deadline_;
  Done done_;
  AdmittedRequest admitted_;
  bool claimed_ = false;
};

}  // namespace idgate
