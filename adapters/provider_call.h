#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/adapter.h"
#include "grpcpp/grpcpp.h"

namespace idgate {

// China Standard Time (UTC+8), the providers' clock for timestamps and
// daily limits. China has had no DST since 1991, so a fixed offset avoids
// depending on tzdata in the container.
inline absl::TimeZone ChinaStandardTime() { return absl::FixedTimeZone(8 * 60 * 60); }

// A call that ended without a provider answer. Nothing is billed: providers
// bill only the answers they deliver. UNAVAILABLE is retryable (the request
// most likely never reached the service); DEADLINE_EXCEEDED is marked
// retryable too, and the gateway decides (it does not fail over after a
// timeout of a request that was sent); CANCELLED means our caller went away.
// The provider's own error text is never copied: it may echo input.
ProviderOutcome TransportFailure(absl::string_view provider_kind, const grpc::Status& status);

// The subject's values for `required`, in order; INTERNAL naming the first
// missing (field, form) -- a policy/adapter mismatch start-up should catch.
absl::StatusOr<std::vector<absl::string_view>> RequiredValues(
    const MinimizedSubject& subject, const std::vector<FieldForm>& required,
    absl::string_view provider_kind);

// The shape every adapter's call shares: one unary RPC through a generated
// stub's callback API, with a deadline, cancellation, and nothing sent once
// the deadline has passed. `Map` turns the RPC's status and answer into the
// normalized outcome.
template <typename Request, typename Response>
class UnaryProviderCall final : public PreparedCall {
 public:
  // Starts the RPC, e.g. stub->async()->CheckThreeFactor(ctx, req, resp, cb).
  using Start = std::function<void(grpc::ClientContext*, const Request*, Response*,
                                   std::function<void(grpc::Status)>)>;
  using Map = ProviderOutcome (*)(const grpc::Status&, const Response&);

  UnaryProviderCall(Request request, Start start, Map map,
                    std::function<absl::Time()> now = [] { return absl::Now(); })
      : request_(std::move(request)), start_(std::move(start)), map_(map), now_(std::move(now)) {}

  const google::protobuf::Message& request() const override { return request_; }

  void Send(absl::Time deadline, OutcomeCallback done) override {
    if (deadline <= now_()) {
      // Nothing left the gateway: no disclosure, another provider may try.
      ProviderOutcome outcome;
      outcome.status = absl::DeadlineExceededError("no time left to call the provider");
      outcome.retryable = true;
      outcome.sent = false;
      done(std::move(outcome));
      return;
    }
    context_.set_deadline(absl::ToChronoTime(deadline));
    start_(&context_, &request_, &response_, [this, done = std::move(done)](grpc::Status status) {
      // `done` may destroy this call: the outcome is computed first.
      done(map_(status, response_));
    });
  }

  // Thread-safe; before Send it makes the call end as CANCELLED at once.
  void Cancel() override { context_.TryCancel(); }

 private:
  const Request request_;
  const Start start_;
  const Map map_;
  const std::function<absl::Time()> now_;
  grpc::ClientContext context_;
  Response response_;
};

}  // namespace idgate
