#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/adapter.h"
#include "adapters/mock.h"
#include "adapters/mock_support/identity_book.h"
#include "adapters/mock_support/mock_host.h"
#include "adapters/provider_call.h"
#include "core/pii.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace idgate {

// The content of a file of the repository ("config/testdata/..."), wherever
// the test runs; empty when it cannot be read.
std::string ReadTestFile(absl::string_view path);

// A face image or liveness video of config/testdata/faces/.
std::string Face(absl::string_view file);

// The subject the server builds for a face check when the policy allows
// name, ID number, image and liveness video (an empty video is left out).
MinimizedSubject FaceSubject(const std::string& name, const std::string& id,
                             const std::string& image,
                             const std::string& video = "");

// An answer: `verdict`, recorded as `code`, billed or not, not retryable.
void ExpectVerdict(const ProviderOutcome& o, Verdict verdict,
                   absl::string_view code, bool billed);

// A failure with `status`, recorded as `code`: no verdict, not billed.
void ExpectError(const ProviderOutcome& o, absl::StatusCode status,
                 absl::string_view code, bool retryable);

// A row of a provider's documented code table: what a result must be
// normalized to.
struct DocumentedCode {
  std::string code;  // as the outcome records it (provider_code)
  absl::StatusCode status;
  Verdict verdict;
  bool billed;
  bool retryable;
};

// `o` is what `row` documents: its status, verdict, billing, retry and
// recorded code; sent, and never both billed and retryable.
void ExpectMapped(const ProviderOutcome& o, const DocumentedCode& row);

// A failed RPC is normalized the same for every provider (TransportFailure
// in adapters/provider_call.h). `map` is a provider's whole-call mapping,
// given a body it would answer with; it is called with each failure status,
// `secret` in its message: UNAVAILABLE and DEADLINE_EXCEEDED keep their code
// and are retryable, CANCELLED keeps its code, anything else is INTERNAL;
// never billed, no verdict, and the message never repeats `secret`.
void ExpectTransportFailures(
    const std::function<ProviderOutcome(const grpc::Status&)>& map,
    absl::string_view secret);

// Every text field of these protocol messages is classified
// (core/pii_fields.h), so the egress guard and the ledger see it.
void ExpectEveryTextFieldClassified(
    std::initializer_list<const google::protobuf::Descriptor*> messages);

// What a factory gets to create an adapter, with nothing listening behind
// the channel: for tests of config validation. Set the config with
// provider.mutable_adapter()->PackFrom(...).
struct UnconnectedEnv {
  explicit UnconnectedEnv(const std::string& provider_id);
  UnconnectedEnv(const UnconnectedEnv&) = delete;
  UnconnectedEnv& operator=(const UnconnectedEnv&) = delete;

  ::idgate::config::v1::Provider provider;
  ProviderCallQueue call_queue;
  AdapterEnv env;
};

// What every adapter test sets up: the identity book of config/testdata/,
// a provider's mock hosted on an in-process server, the adapter its factory
// makes in front of it, and calls that wait for their outcome.
class AdapterTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // Starts the mock `mocks` makes from `env` (the book filled in) and the
  // adapter `adapters` makes from `config` in front of it, in place of any
  // started before.
  void StartProvider(const MockFactory& mocks, MockEnv env,
                     const AdapterFactory& adapters,
                     const google::protobuf::Message& config);

  // An adapter for the running mock, its calls on `queue`. Key files named
  // in `config` are found in config/dev-secrets/.
  absl::StatusOr<std::unique_ptr<Adapter>> CreateAdapter(
      const AdapterFactory& factory, const google::protobuf::Message& config,
      ProviderCallQueue* queue);

  const IdentityBook::Person& Person(absl::string_view label) const;

  // A fresh disclosure id: "disc-1", "disc-2", ... (`calls_` counts them).
  std::string NextId();

  // Prepares a call of the adapter's check for `subject` and sends it;
  // `request`, when given, receives what was sent.
  ProviderOutcome Call(const MinimizedSubject& subject,
                       absl::Duration timeout = absl::Seconds(10),
                       google::protobuf::Message* request = nullptr);

  // Sends `call` and waits for its outcome.
  static ProviderOutcome Send(PreparedCall& call, absl::Time deadline);

  MockStats Stats() { return host_->mock(0).stats(); }

  // `o` is a call that had no time left: DEADLINE_EXCEEDED and retryable,
  // and nothing reached the mock.
  void ExpectNothingSent(const ProviderOutcome& o);

  // Calls the mock directly, bypassing the adapter, e.g.
  // CallMock(&CfcaFaceService::Stub::CompareFace, request).
  template <typename Stub, typename Request, typename Response>
  Response CallMock(grpc::Status (Stub::*rpc)(grpc::ClientContext*,
                                              const Request&, Response*),
                    const Request& request, grpc::Status* status = nullptr) {
    Stub stub(host_->InProcessChannel());
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    Response response;
    const grpc::Status result = (stub.*rpc)(&context, request, &response);
    EXPECT_TRUE(result.ok()) << result.error_message();
    if (status != nullptr) *status = result;
    return response;
  }

  ProviderCallQueue call_queue_;  // first: it outlives the adapter's calls
  std::unique_ptr<IdentityBook> book_;
  std::unique_ptr<MockHost> host_;
  std::unique_ptr<Adapter> adapter_;
  int calls_ = 0;
};

}  // namespace idgate
