#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "adapters/adapter.h"
#include "adapters/provider_call.h"
#include "adapters/typed_factory.h"
#include "grpcpp/grpcpp.h"

namespace idgate {

// What every provider adapter does around its own request: it runs one
// check, needs that check's (field, form) pairs and refuses a call without
// them or without a disclosure id, and sends the request BuildRequest makes
// as one unary RPC of `Service` (UnaryProviderCall).
template <typename Service, typename Request, typename Response>
class UnaryCheckAdapter : public Adapter {
 public:
  using Stub = typename Service::Stub;
  // The stub's asynchronous method, e.g. &Stub::PrepareAsyncCompareFace.
  using Rpc = std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> (
      Stub::*)(grpc::ClientContext*, const Request&, grpc::CompletionQueue*);
  using Map = typename UnaryProviderCall<Request, Response>::Map;

  std::vector<Check> checks() const final { return {check_}; }

  std::vector<FieldForm> RequiredFields(Check check) const final {
    if (check != check_) return {};
    return required_;
  }

  absl::StatusOr<std::unique_ptr<PreparedCall>> Prepare(
      const MinimizedSubject& subject, const CallContext& context) const final {
    if (context.check != check_) {
      return absl::InternalError(absl::StrCat(kind_, ": unsupported check"));
    }
    if (context.disclosure_id.empty()) {
      return absl::InternalError(absl::StrCat(kind_, ": no disclosure id"));
    }
    auto values = RequiredValues(subject, required_, kind_);
    if (!values.ok()) return values.status();
    absl::StatusOr<Request> request = BuildRequest(*values, subject, context);
    if (!request.ok()) return request.status();
    return std::unique_ptr<PreparedCall>(
        new UnaryProviderCall<Request, Response>(
            *std::move(request),
            [stub = stub_, rpc = rpc_](grpc::ClientContext* context,
                                       const Request& request,
                                       grpc::CompletionQueue* cq) {
              return ((*stub).*rpc)(context, request, cq);
            },
            map_, call_queue_, now_));
  }

 protected:
  // `kind` names the provider in errors; `required` are the pairs `check`
  // needs, in the order BuildRequest gets their values. `env` has a channel
  // and a call queue (TypedAdapterFactory checks).
  UnaryCheckAdapter(std::string kind, Check check,
                    std::vector<FieldForm> required, Rpc rpc, Map map,
                    const AdapterEnv& env, Clock now)
      : kind_(std::move(kind)),
        check_(check),
        required_(std::move(required)),
        stub_(std::make_shared<Stub>(env.channel)),
        rpc_(rpc),
        map_(map),
        call_queue_(env.call_queue),
        now_(std::move(now)) {}

  // The request for `context`, given the subject's values of the required
  // pairs, in order. Never sends anything.
  virtual absl::StatusOr<Request> BuildRequest(
      const std::vector<absl::string_view>& values,
      const MinimizedSubject& subject, const CallContext& context) const = 0;

  // The adapter's clock, for requests that carry a timestamp.
  absl::Time Now() const { return now_(); }

 private:
  const std::string kind_;
  const Check check_;
  const std::vector<FieldForm> required_;
  // Shared with calls in flight, which may outlive a reconfigured adapter.
  const std::shared_ptr<Stub> stub_;
  const Rpc rpc_;
  const Map map_;
  ProviderCallQueue* const call_queue_;
  const Clock now_;
};

}  // namespace idgate
