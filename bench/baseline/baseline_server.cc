// The ceiling of gRPC on this machine for idgate's API: a bare callback
// server implementing idgate.v1.VerificationService/Verify that answers
// every call with one constant response (the size of a real carrier MATCH
// answer), with no validation, ledger or provider. It runs with the
// gateway's server settings and process settings (bench/bench_server.h)
// and, like it, on jemalloc; everything else is gRPC's defaults.
//
//   baseline_server --listen=127.0.0.1:0
// Logs one JSON line {"event":"started","port":N} to stderr; SIGTERM or
// SIGINT stops it (exit 0) after printing the number of calls served.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>

#include "bench/bench_server.h"
#include "grpcpp/grpcpp.h"
#include "idgate/v1/verification.grpc.pb.h"

namespace {

namespace v1 = ::idgate::v1;

class ConstantVerify final : public v1::VerificationService::CallbackService {
 public:
  ConstantVerify() {
    constant_.set_verdict(v1::VERDICT_MATCH);
    constant_.set_provider("carrier_mock");
    constant_.set_provider_code("0");
    constant_.set_billed(true);
    auto* d = constant_.add_disclosures();
    d->set_disclosure_id("d-00000000000000000000000000000000");
    d->set_provider("carrier_mock");
    d->set_recipient("Mock Carrier Data Services Co., Ltd.");
    d->add_fields(v1::PII_FIELD_NAME);
    d->add_fields(v1::PII_FIELD_ID_NUMBER);
    d->add_fields(v1::PII_FIELD_MOBILE);
  }

  grpc::ServerUnaryReactor* Verify(grpc::CallbackServerContext* context,
                                   const v1::VerifyRequest* request,
                                   v1::VerifyResponse* response) override {
    *response = constant_;
    response->set_request_id(request->request_id());
    calls_.fetch_add(1, std::memory_order_relaxed);
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  uint64_t calls() const { return calls_.load(); }

 private:
  v1::VerifyResponse constant_;
  std::atomic<uint64_t> calls_{0};
};

}  // namespace

int main(int argc, char** argv) {
  const sigset_t signals = idgate::bench::StartAsTheGatewayDoes();
  std::string listen = "127.0.0.1:0";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--listen=", 9) == 0) {
      listen = argv[i] + 9;
    } else {
      std::fprintf(stderr, "usage: baseline_server [--listen=host:port]\n");
      return 2;
    }
  }
  ConstantVerify service;
  const int status =
      idgate::bench::ServeUntilStopped(listen, &service, signals);
  if (status == 0) {
    std::fprintf(stderr, "{\"event\":\"stopped\",\"calls\":%llu}\n",
                 static_cast<unsigned long long>(service.calls()));
  }
  return status;
}
