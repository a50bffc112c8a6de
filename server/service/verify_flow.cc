#include "server/service/verify_flow.h"

#include "absl/strings/str_cat.h"

namespace idgate {

namespace cfg = ::idgate::config::v1;

VerifyFlow::VerifyFlow(const Gateway& gateway, const Caller& caller,
                       const ::idgate::v1::VerifyRequest& request,
                       absl::Time deadline, Done done)
    : gw_(gateway),
      caller_(caller),
      request_(request),
      deadline_(deadline),
      done_(std::move(done)) {}

void VerifyFlow::Start() {
  Admission::Run(gw_, caller_, request_, deadline_,
                 [self = shared_from_this()](Admission::Result result) {
                   self->OnAdmission(std::move(result));
                 });
}

void VerifyFlow::OnAdmission(Admission::Result result) {
  if (auto* answer = std::get_if<VerifyResult>(&result)) {
    return Finish(std::move(*answer));
  }
  admitted_ = std::get<AdmittedRequest>(std::move(result));
  claimed_ = true;
  response_.set_request_id(admitted_.normalized.request_id);
  last_failure_ = absl::UnavailableError("no provider available");
  TryNextProvider();
}

void VerifyFlow::TryNextProvider() {
  while (next_candidate_ < admitted_.candidates.size()) {
    ProviderRuntime& provider = *admitted_.candidates[next_candidate_++];
    const std::string& id = provider.config->id();
    ProviderGuard::Lease lease;
    switch (provider.guard->TryAcquire(&lease)) {
      case ProviderGuard::Admit::kCircuitOpen:
        last_failure_ = absl::UnavailableError(
            absl::StrCat("provider ", id, " circuit open"));
        if (gw_.events) {
          gw_.events->ProviderCall(provider, "CIRCUIT_OPEN", false,
                                   absl::ZeroDuration());
        }
        continue;
      case ProviderGuard::Admit::kBulkheadFull:
        last_failure_ = absl::ResourceExhaustedError(
            absl::StrCat("provider ", id, " has too many calls in flight"));
        if (gw_.events) {
          gw_.events->ProviderCall(provider, "BULKHEAD_FULL", false,
                                   absl::ZeroDuration());
        }
        continue;
      case ProviderGuard::Admit::kAdmitted:
        break;
    }
    auto attempt = std::make_shared<ProviderAttempt>(
        gw_, caller_, admitted_, provider, std::move(lease), deadline_,
        [self = shared_from_this()](AttemptResult result) {
          self->OnAttempt(std::move(result));
        });
    {
      absl::MutexLock lock(&mu_);
      // Checked with the attempt's publication under one lock: a Cancel
      // either stops the flow here or reaches the attempt.
      if (cancelled_) break;
      attempt_ = attempt;
    }
    return attempt->Start();
  }
  bool cancelled;
  {
    absl::MutexLock lock(&mu_);
    cancelled = cancelled_;
  }
  Finish(cancelled ? absl::CancelledError("the caller cancelled")
                   : last_failure_);
}

void VerifyFlow::OnAttempt(AttemptResult result) {
  if (result.receipt.has_value()) {
    *response_.add_disclosures() = std::move(*result.receipt);
    disclosed_ = true;
  }
  if (result.status.ok()) {
    const ProviderOutcome& o = result.outcome;
    response_.set_verdict(o.verdict);
    response_.set_provider(result.provider->config->id());
    response_.set_provider_code(o.provider_code);
    response_.set_billed(o.billed);
    if (admitted_.normalized.check == cfg::CHECK_FACE_VERIFICATION) {
      response_.set_face_similarity(o.face_similarity);
      response_.set_liveness_passed(o.liveness_passed);
    }
    return Finish(std::move(response_));  // the flow is done with it
  }
  if (result.failover) {
    last_failure_ = std::move(result.status);
    return TryNextProvider();
  }
  if (!result.refusal.empty() && gw_.events) {
    gw_.events->Refused(result.refusal);
  }
  Finish(std::move(result.status));
}

void VerifyFlow::Finish(VerifyResult result) {
  if (finished_.exchange(true)) return;
  if (claimed_) {
    // Remember whatever followed a disclosure, so a retry of this id never
    // reaches a provider again (I8); forget what sent nothing.
    gw_.admission->Complete(caller_.id(), admitted_.normalized.request_id,
                            result, disclosed_);
  }
  done_(std::move(result));
}

void VerifyFlow::Cancel() {
  std::shared_ptr<ProviderAttempt> attempt;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    attempt = attempt_;
  }
  // Outside the lock: cancellation may complete the attempt inline.
  if (attempt != nullptr) attempt->Cancel();
}

}  // namespace idgate
