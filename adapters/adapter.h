#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/pii.h"
#include "google/protobuf/message.h"
#include "grpcpp/channel.h"
#include "idgate/config/v1/config.pb.h"
#include "idgate/v1/verification.pb.h"

namespace idgate {

using Check = ::idgate::config::v1::Check;
using Verdict = ::idgate::v1::Verdict;

// What a provider said, normalized. `provider_code` keeps the raw code.
struct ProviderOutcome {
  // OK: `verdict` is the provider's definitive answer. Otherwise the call
  // failed; the message never contains a personal value.
  absl::Status status;
  Verdict verdict = ::idgate::v1::VERDICT_UNSPECIFIED;
  bool billed = false;
  // A failure another provider may answer instead: never true when billed.
  bool retryable = false;
  // False only when the failure happened before the request left the
  // gateway (e.g. deadline too short, every provider address refused the
  // connection), so no disclosure took place.
  bool sent = true;
  std::string provider_code;
  // Face checks.
  float face_similarity = 0;
  bool liveness_passed = false;
};

using OutcomeCallback = std::function<void(ProviderOutcome)>;

// One provider call, built but not yet sent. The server inspects request()
// with the egress guard and makes the ledger intent durable before Send():
// the ledger records what is actually sent, not what the code meant to send.
class PreparedCall {
 public:
  virtual ~PreparedCall() = default;

  // The exact message Send() transmits.
  virtual const google::protobuf::Message& request() const = 0;

  // Starts the call asynchronously. `done` runs exactly once, possibly on a
  // gRPC thread, and must not block. The object stays alive until then.
  virtual void Send(absl::Time deadline, OutcomeCallback done) = 0;

  // Cancels a call in progress (the caller went away); `done` still runs.
  virtual void Cancel() = 0;
};

// Per-call inputs that are not personal.
struct CallContext {
  Check check = ::idgate::config::v1::CHECK_UNSPECIFIED;
  // Unique per provider call; adapters use it as the order number.
  std::string disclosure_id;
};

// A provider adapter: immutable after creation, shared by all calls.
class Adapter {
 public:
  virtual ~Adapter() = default;

  // The checks this adapter can run.
  virtual std::vector<Check> checks() const = 0;

  // The (field, form) pairs the adapter needs for `check`; start-up fails
  // when the disclosure policy does not allow them for a routed purpose.
  virtual std::vector<FieldForm> RequiredFields(Check check) const = 0;

  // Builds the provider request from the subject. Fails (INTERNAL) when a
  // required field is missing; never sends anything.
  virtual absl::StatusOr<std::unique_ptr<PreparedCall>> Prepare(
      const MinimizedSubject& subject, const CallContext& context) const = 0;
};

class ProviderCallQueue;  // provider_call.h

// What an adapter gets at creation, besides its typed config.
struct AdapterEnv {
  const ::idgate::config::v1::Provider* provider = nullptr;
  // The channel to the provider: in-process for an embedded mock.
  std::shared_ptr<grpc::Channel> channel;
  // Where the adapter's calls complete; outlives the adapter and its calls.
  ProviderCallQueue* call_queue = nullptr;
  // Resolves a path from the config (relative to the config file).
  std::function<std::string(const std::string&)> resolve_path;
};

// Turns a typed adapter config (the Provider's `adapter` Any) into an Adapter.
class AdapterFactory {
 public:
  virtual ~AdapterFactory() = default;
  // Full name of the config message, e.g.
  // "idgate.config.v1.CarrierAdapterConfig".
  virtual std::string config_type() const = 0;
  virtual absl::StatusOr<std::unique_ptr<Adapter>> Create(
      const AdapterEnv& env) const = 0;
};

}  // namespace idgate
