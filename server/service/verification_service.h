#pragma once

#include <atomic>
#include <functional>

#include "grpcpp/grpcpp.h"
#include "idgate/v1/verification.grpc.pb.h"
#include "server/auth/caller_auth.h"
#include "server/service/gateway.h"

namespace idgate {

// Sees each finished call, for the access log and gRPC metrics.
struct CallRecord {
  std::string request_id;
  std::string caller;
  ::idgate::config::v1::Check check = ::idgate::config::v1::CHECK_UNSPECIFIED;
  std::string purpose;
  grpc::StatusCode code = grpc::StatusCode::OK;
  ::idgate::v1::Verdict verdict = ::idgate::v1::VERDICT_UNSPECIFIED;
  std::vector<std::string> providers;  // every provider that received data
  std::vector<std::string> disclosure_ids;
  bool replayed = false;
  absl::Duration duration;
};
using CallObserver = std::function<void(const CallRecord&)>;

// The gRPC face of the gateway (callback API): identifies the caller, sets
// the deadline, runs a VerifyFlow and converts its result at one boundary.
//
// Verify is a raw method (bytes in, bytes out) and parses its request
// itself: for a body that does not parse, gRPC's generated handler answers
// UNIMPLEMENTED with no message and never calls the service, so the caller
// got no usable error and the access log no line. Parsing and serializing
// here cost what the generated handler's did (the same ProtoBufferReader and
// writer over the same slices), plus two shallow ByteBuffer copies (slices
// shared, no bytes copied: about 0.1 us a call).
class VerificationServiceImpl final
    : public ::idgate::v1::VerificationService::WithRawCallbackMethod_Verify<
          ::idgate::v1::VerificationService::Service> {
 public:
  VerificationServiceImpl(const Gateway& gateway,
                          const CallerAuthenticator& authenticator,
                          CallObserver observer);

  // `request` holds a serialized idgate.v1.VerifyRequest; `response`
  // receives the serialized idgate.v1.VerifyResponse.
  grpc::ServerUnaryReactor* Verify(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;

  int64_t in_flight() const { return in_flight_.load(); }

 private:
  class Reactor;

  const Gateway& gateway_;
  const CallerAuthenticator& authenticator_;
  const CallObserver observer_;
  std::atomic<int64_t> in_flight_{0};
};

// The caller identity the transport proves (TLS peer) or, in development
// mode, the x-idgate-caller metadata value.
PeerIdentity PeerFromContext(const grpc::CallbackServerContext& context);

}  // namespace idgate
