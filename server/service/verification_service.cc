#include "server/service/verification_service.h"

#include <memory>

#include "absl/time/clock.h"
#include "core/time.h"
#include "grpc/support/time.h"
#include "server/identity/validators.h"
#include "server/service/grpc_status.h"
#include "server/service/verify_flow.h"

namespace idgate {
namespace {

namespace cfg = ::idgate::config::v1;

cfg::Check CheckOf(const ::idgate::v1::VerifyRequest& request) {
  switch (request.check_case()) {
    case ::idgate::v1::VerifyRequest::kCarrierThreeFactor:
      return cfg::CHECK_CARRIER_THREE_FACTOR;
    case ::idgate::v1::VerifyRequest::kBankFourFactor:
      return cfg::CHECK_BANK_FOUR_FACTOR;
    case ::idgate::v1::VerifyRequest::kFaceVerification:
      return cfg::CHECK_FACE_VERIFICATION;
    default:
      return cfg::CHECK_UNSPECIFIED;
  }
}

}  // namespace

PeerIdentity PeerFromContext(const grpc::CallbackServerContext& context) {
  PeerIdentity peer;
  auto auth = context.auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    for (const auto& v :
         auth->FindPropertyValues(GRPC_PEER_URI_PROPERTY_NAME)) {
      peer.uri_sans.emplace_back(v.data(), v.size());
    }
    for (const auto& v :
         auth->FindPropertyValues(GRPC_PEER_DNS_PROPERTY_NAME)) {
      peer.dns_sans.emplace_back(v.data(), v.size());
    }
    for (const auto& v : auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME)) {
      peer.common_name.assign(v.data(), v.size());
    }
  }
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("x-idgate-caller"); it != metadata.end()) {
    peer.development_caller.assign(it->second.data(), it->second.size());
  }
  return peer;
}

// Lives from Verify() until gRPC says the call is done.
class VerificationServiceImpl::Reactor final : public grpc::ServerUnaryReactor {
 public:
  Reactor(VerificationServiceImpl& service, const grpc::ByteBuffer& request,
          grpc::ByteBuffer& response)
      : service_(service), response_(response), started_(absl::Now()) {
    // Deserialize consumes its buffer: it gets a copy sharing the slices.
    grpc::ByteBuffer body(request);
    parsed_ =
        grpc::SerializationTraits<::idgate::v1::VerifyRequest>::Deserialize(
            &body, &request_)
            .ok();
    if (!parsed_) request_.Clear();  // a failed parse may leave a part
    // Logged only in a valid form: a malformed id could be anything,
    // personal data included.
    record_.request_id = identity::ValidateRequestId(request_.request_id()).ok()
                             ? request_.request_id()
                             : "<invalid>";
    record_.check = CheckOf(request_);
  }

  void Run(grpc::CallbackServerContext& context) {
    const auto& gw = service_.gateway_;
    if (gw.events) gw.events->CallStarted();
    if (service_.in_flight_.fetch_add(1) >=
        gw.config->server().max_concurrent_calls()) {
      counted_ = true;
      return Done(
          absl::ResourceExhaustedError("gateway at its concurrent call limit"));
    }
    counted_ = true;
    auto caller = service_.authenticator_.Identify(PeerFromContext(context));
    if (!caller.ok()) return Done(caller.status());
    record_.caller = (*caller)->id();
    // Only a configured purpose is logged (a closed set); anything else is
    // caller text.
    record_.purpose = "<unknown>";
    for (const auto& p : gw.config->purposes()) {
      if (p.id() == request_.purpose()) record_.purpose = p.id();
    }
    if (!parsed_) {
      if (gw.events) gw.events->Refused("validation");
      return Done(absl::InvalidArgumentError(
          "the request body is not a valid idgate.v1.VerifyRequest"));
    }

    // From the raw deadline: the largest legal grpc-timeout (99999999H)
    // overflows ServerContext::deadline()'s chrono conversion.
    const gpr_timespec raw =
        gpr_convert_clock_type(context.raw_deadline(), GPR_CLOCK_REALTIME);
    const absl::Time now = gw.now();
    const absl::Time far = now + absl::Hours(24 * 365);
    absl::Time deadline = raw.tv_sec >= absl::ToUnixSeconds(far)
                              ? absl::InfiniteFuture()
                              : absl::FromUnixSeconds(raw.tv_sec) +
                                    absl::Nanoseconds(raw.tv_nsec);
    if (deadline > far)
      deadline = now + ToDuration(gw.config->server().default_deadline());
    auto flow = std::make_shared<VerifyFlow>(
        gw, **caller, request_, deadline,
        [this](VerifyResult result) { Done(std::move(result)); });
    {
      absl::MutexLock lock(&mu_);
      flow_ = flow;
    }
    flow->Start();
  }

  void OnCancel() override {
    std::shared_ptr<VerifyFlow> flow;
    {
      absl::MutexLock lock(&mu_);
      flow = flow_;
    }
    if (flow != nullptr) flow->Cancel();
  }

  void OnDone() override {
    if (counted_) service_.in_flight_.fetch_sub(1);
    delete this;
  }

  // OnCancel and OnDone only take short locks and never wait, so gRPC may
  // run them on the thread that completes the call instead of handing each
  // call's OnDone to its executor thread (a wake-up and a switch per call).
  // gRPC calls this hook internal; it is a public virtual in 1.51, and
  // `override` turns its removal in a later gRPC into a build error.
  bool InternalInlineable() override { return true; }

 private:
  void Done(VerifyResult result) {
    grpc::Status status = ToGrpcStatus(result.status());
    if (result.ok()) {
      record_.verdict = result->verdict();
      record_.replayed = result->replayed();
      for (const auto& d : result->disclosures()) {
        record_.providers.push_back(d.provider());
        record_.disclosure_ids.push_back(d.disclosure_id());
      }
      bool own_buffer = false;
      status =
          grpc::SerializationTraits<::idgate::v1::VerifyResponse>::Serialize(
              *result, &response_, &own_buffer);
    }
    record_.code = status.error_code();
    record_.duration = absl::Now() - started_;
    if (service_.observer_) service_.observer_(record_);
    Finish(status);
  }

  VerificationServiceImpl& service_;
  ::idgate::v1::VerifyRequest request_;  // the flow's, until OnDone
  bool parsed_ = false;
  grpc::ByteBuffer& response_;
  const absl::Time started_;
  CallRecord record_;
  bool counted_ = false;
  absl::Mutex mu_;
  std::shared_ptr<VerifyFlow> flow_ ABSL_GUARDED_BY(mu_);
};

VerificationServiceImpl::VerificationServiceImpl(
    const Gateway& gateway, const CallerAuthenticator& authenticator,
    CallObserver observer)
    : gateway_(gateway),
      authenticator_(authenticator),
      observer_(std::move(observer)) {}

grpc::ServerUnaryReactor* VerificationServiceImpl::Verify(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  auto* reactor = new Reactor(*this, *request, *response);
  reactor->Run(*context);
  return reactor;
}

}  // namespace idgate
