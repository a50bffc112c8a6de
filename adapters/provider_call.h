#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/adapter.h"
#include "grpcpp/grpcpp.h"

namespace idgate {

// A call that ended without a provider answer. Nothing is billed: providers
// bill only the answers they deliver. UNAVAILABLE is retryable (the request
// most likely never reached the service); DEADLINE_EXCEEDED is marked
// retryable too, and the gateway decides (it does not fail over after a
// timeout of a request that was sent); CANCELLED means our caller went away.
// The provider's own error text is never copied: it may echo input.
ProviderOutcome TransportFailure(absl::string_view provider_kind,
                                 const grpc::Status& status);

// True when a failed call provably never reached a transport, so nothing of
// its request left the gateway. gRPC 1.51's client API has no direct signal;
// this takes the one unambiguous case: the load balancer failed the pick
// ("failed to connect to all addresses", pick_first's status once every
// address refused or failed to connect; the call is not wait_for_ready) and
// `peer` (ClientContext::peer()) names no transport endpoint, so the status
// was not a provider's answer passing that text on. Everything else counts
// as sent, cautiously: peer() alone cannot tell (gRPC clears it when a call
// that did reach a transport fails, e.g. a reset in the middle of sending),
// nor can a deadline that passed while the pick was queued be told from one
// that passed after sending. A target written as "ipv4:..." looks like a
// transport endpoint: its refusals stay recorded as sent. Exact only on a
// channel without retries (GRPC_ARG_ENABLE_RETRIES 0, as the gateway makes
// them): a transparent retry after a refused stream could end in a failed
// pick although the first attempt's bytes reached the provider.
bool NeverReachedTransport(const grpc::Status& status, absl::string_view peer);

// The subject's values for `required`, in order; INTERNAL naming the first
// missing (field, form) -- a policy/adapter mismatch start-up should catch.
absl::StatusOr<std::vector<absl::string_view>> RequiredValues(
    const MinimizedSubject& subject, const std::vector<FieldForm>& required,
    absl::string_view provider_kind);

// The completion queue every provider call ends on, and the threads that
// run the calls' callbacks (as many as gRPC gives its callback API:
// half the cores, 2 to 16).
//
// Why not gRPC's callback API: it puts the pending operations of every call
// in the process -- the gateway's server calls, the embedded mocks' and
// these -- on one shared queue, and Debian's libgrpc (built without NDEBUG)
// scans that queue's list of pending operations, under its lock, at every
// completion. With 10,000 checks in flight, that list was 40,000 long (two
// per provider call); on a queue of their own, provider calls are one
// operation each, and the shared list is 20,000 long.
//
// Must outlive every adapter and call that uses it. The destructor shuts
// the queue down and waits until every call on it has ended.
class ProviderCallQueue {
 public:
  // Something waiting on the queue; Complete runs on a queue thread.
  class Tag {
   public:
    virtual void Complete(bool ok) = 0;

   protected:
    ~Tag() = default;
  };

  ProviderCallQueue();
  ProviderCallQueue(const ProviderCallQueue&) = delete;
  ProviderCallQueue& operator=(const ProviderCallQueue&) = delete;
  ~ProviderCallQueue();

  grpc::CompletionQueue* cq() { return &cq_; }

 private:
  grpc::CompletionQueue cq_;
  std::vector<std::thread> threads_;
};

// The shape every adapter's call shares: one unary RPC through a generated
// stub's asynchronous API on a ProviderCallQueue, with a deadline,
// cancellation, and nothing sent once the deadline has passed. `Map` turns
// the RPC's status and answer into the normalized outcome.
template <typename Request, typename Response>
class UnaryProviderCall final : public PreparedCall,
                                private ProviderCallQueue::Tag {
 public:
  // Prepares the RPC, e.g. stub->PrepareAsyncCheckThreeFactor(ctx, req, cq).
  using Prepare =
      std::function<std::unique_ptr<grpc::ClientAsyncResponseReader<Response>>(
          grpc::ClientContext*, const Request&, grpc::CompletionQueue*)>;
  using Map = ProviderOutcome (*)(const grpc::Status&, const Response&);

  UnaryProviderCall(
      Request request, Prepare prepare, Map map, ProviderCallQueue* queue,
      std::function<absl::Time()> now = [] { return absl::Now(); })
      : request_(std::move(request)),
        prepare_(std::move(prepare)),
        map_(map),
        queue_(queue),
        now_(std::move(now)) {}

  const google::protobuf::Message& request() const override { return request_; }

  void Send(absl::Time deadline, OutcomeCallback done) override {
    if (deadline <= now_()) {
      // Nothing left the gateway: no disclosure, another provider may try.
      ProviderOutcome outcome;
      outcome.status =
          absl::DeadlineExceededError("no time left to call the provider");
      outcome.retryable = true;
      outcome.sent = false;
      done(std::move(outcome));
      return;
    }
    context_.set_deadline(absl::ToChronoTime(deadline));
    done_ = std::move(done);
    reader_ = prepare_(&context_, request_, queue_->cq());
    reader_->StartCall();
    reader_->Finish(&response_, &status_,
                    static_cast<ProviderCallQueue::Tag*>(this));
  }

  // Thread-safe; before Send it makes the call end as CANCELLED at once.
  void Cancel() override { context_.TryCancel(); }

 private:
  // A client's Finish always completes with ok; status_ says how it ended.
  void Complete(bool /*ok*/) override {
    // `done` may destroy this call: it and the outcome are taken first.
    ProviderOutcome outcome = map_(status_, response_);
    if (!status_.ok() && NeverReachedTransport(status_, context_.peer()))
      outcome.sent = false;
    OutcomeCallback done = std::move(done_);
    done(std::move(outcome));
  }

  const Request request_;
  const Prepare prepare_;
  const Map map_;
  ProviderCallQueue* const queue_;
  const std::function<absl::Time()> now_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader_;
  OutcomeCallback done_;
  Response response_;
  grpc::Status status_;
};

}  // namespace idgate
