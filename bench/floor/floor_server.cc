// The floor of idgate's design on this machine: a gRPC callback server
// implementing idgate.v1.VerificationService/Verify that does only what
// the design requires of every checked call, the way the gateway does it,
// and none of the gateway's own work:
//
//   1. a record made durable before anything leaves (I2): one writer
//      thread, group commit (one pwrite + fdatasync per batch) into a file
//      grown in zeroed 1 MiB chunks, then the batch's callbacks;
//   2. the outbound provider RPC: the carrier API over an in-process
//      channel to a mock that answers MATCH at once, on a completion queue
//      of its own drained by half the cores' worth of threads (2 to 16);
//   3. the answer.
//
// No validation, keyed references, idempotency, routing, policy, egress
// guard, hash chain, logs or metrics. bench/run.sh measures it beside the
// bare baseline and the gateway, so the figures split what gRPC costs, what
// the design adds to it, and what the gateway adds to the design.
//
//   floor_server --listen=127.0.0.1:0 --dir=DIR
// Logs {"event":"started","port":N} to stderr; SIGTERM or SIGINT stops it.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_server.h"
#include "grpcpp/grpcpp.h"
#include "idgate/provider/v1/carrier.grpc.pb.h"
#include "idgate/v1/verification.grpc.pb.h"

namespace {

namespace v1 = ::idgate::v1;
namespace pv1 = ::idgate::provider::v1;

// Group commit: Append queues; the writer writes and syncs each batch, then
// runs its callbacks (which start the provider calls, as in the gateway).
class DurableLog {
 public:
  explicit DurableLog(int fd) : fd_(fd), writer_([this] { Run(); }) {}
  ~DurableLog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    writer_.join();
    ::close(fd_);
  }

  void Append(std::string record, std::function<void(bool)> done) {
    bool wake;
    {
      std::lock_guard<std::mutex> lock(mu_);
      wake = queue_.empty();
      queue_.push_back({std::move(record), std::move(done)});
    }
    if (wake) cv_.notify_one();
  }

 private:
  struct Pending {
    std::string record;
    std::function<void(bool)> done;
  };

  void Run() {
    std::vector<Pending> batch;
    std::string bytes;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        batch.assign(std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(queue_.end()));
        queue_.clear();
      }
      bytes.clear();
      for (const Pending& p : batch) bytes += p.record;
      const bool ok = Write(bytes) && ::fdatasync(fd_) == 0;
      for (Pending& p : batch) p.done(ok);
      batch.clear();
    }
  }

  // Grows the file in zeroed 1 MiB chunks ahead of the records, as the
  // ledger does, so that fdatasync need not also write the file's size.
  bool Write(const std::string& bytes) {
    static constexpr uint64_t kChunk = 1 << 20;
    static const std::string kZeros(kChunk, '\0');
    while (end_ + bytes.size() > allocated_) {
      if (::pwrite(fd_, kZeros.data(), kChunk,
                   static_cast<off_t>(allocated_)) !=
          static_cast<ssize_t>(kChunk)) {
        return false;
      }
      allocated_ += kChunk;
    }
    if (::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(end_)) !=
        static_cast<ssize_t>(bytes.size())) {
      return false;
    }
    end_ += bytes.size();
    return true;
  }

  const int fd_;
  uint64_t end_ = 0;
  uint64_t allocated_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stop_ = false;
  std::thread writer_;
};

// The provider: answers every check MATCH at once.
class MatchingCarrier final : public pv1::CarrierService::CallbackService {
  grpc::ServerUnaryReactor* CheckThreeFactor(
      grpc::CallbackServerContext* context,
      const pv1::CheckThreeFactorRequest* request,
      pv1::CheckThreeFactorResponse* response) override {
    response->set_code("0");
    response->set_operator_name("CMCC");
    response->set_order_no(request->order_no());
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// Provider calls complete here, as on the gateway's ProviderCallQueue.
struct CallTag {
  virtual void Complete() = 0;

 protected:
  ~CallTag() = default;
};

class FloorVerify final : public v1::VerificationService::CallbackService {
 public:
  FloorVerify(DurableLog& log, pv1::CarrierService::Stub& provider,
              grpc::CompletionQueue& cq)
      : log_(log), provider_(provider), cq_(cq) {}

  grpc::ServerUnaryReactor* Verify(grpc::CallbackServerContext* context,
                                   const v1::VerifyRequest* request,
                                   v1::VerifyResponse* response) override {
    auto* reactor = new Reactor(*this, *request, *response);
    reactor->Start(context->deadline());
    return reactor;
  }

 private:
  class Reactor final : public grpc::ServerUnaryReactor, private CallTag {
   public:
    Reactor(FloorVerify& service, const v1::VerifyRequest& request,
            v1::VerifyResponse& response)
        : service_(service), request_(request), response_(response) {}

    void Start(std::chrono::system_clock::time_point deadline) {
      const auto& c = request_.carrier_three_factor();
      provider_request_.set_app_id("idgate-bench");
      provider_request_.set_order_no(request_.request_id());
      provider_request_.set_hash_mode(pv1::CARRIER_HASH_MODE_PLAIN);
      provider_request_.set_name(c.name());
      provider_request_.set_id_number(c.id_number());
      provider_request_.set_mobile(c.mobile());
      context_.set_deadline(
          std::min(deadline,
                   std::chrono::system_clock::now() + std::chrono::seconds(2)));
      // About the size of the gateway's intent record.
      std::string record = request_.request_id();
      record.resize(std::max<size_t>(record.size(), 400), ' ');
      service_.log_.Append(std::move(record), [this](bool durable) {
        if (!durable)
          return Finish(
              grpc::Status(grpc::StatusCode::UNAVAILABLE, "log unavailable"));
        reader_ = service_.provider_.PrepareAsyncCheckThreeFactor(
            &context_, provider_request_, &service_.cq_);
        reader_->StartCall();
        reader_->Finish(&provider_response_, &provider_status_,
                        static_cast<CallTag*>(this));
      });
    }

    void OnDone() override { delete this; }
    bool InternalInlineable() override { return true; }

   private:
    void Complete() override {
      if (!provider_status_.ok()) return Finish(provider_status_);
      response_.set_request_id(request_.request_id());
      response_.set_verdict(provider_response_.code() == "0"
                                ? v1::VERDICT_MATCH
                                : v1::VERDICT_MISMATCH);
      response_.set_provider("carrier_mock");
      response_.set_provider_code(provider_response_.code());
      response_.set_billed(true);
      Finish(grpc::Status::OK);
    }

    FloorVerify& service_;
    const v1::VerifyRequest& request_;
    v1::VerifyResponse& response_;
    grpc::ClientContext context_;
    pv1::CheckThreeFactorRequest provider_request_;
    pv1::CheckThreeFactorResponse provider_response_;
    grpc::Status provider_status_;
    std::unique_ptr<
        grpc::ClientAsyncResponseReader<pv1::CheckThreeFactorResponse>>
        reader_;
  };

  DurableLog& log_;
  pv1::CarrierService::Stub& provider_;
  grpc::CompletionQueue& cq_;
};

}  // namespace

int main(int argc, char** argv) {
  const sigset_t signals = idgate::bench::StartAsTheGatewayDoes();
  std::string listen = "127.0.0.1:0";
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--listen=", 9) == 0) {
      listen = argv[i] + 9;
    } else if (std::strncmp(argv[i], "--dir=", 6) == 0) {
      dir = argv[i] + 6;
    } else {
      dir.clear();
      break;
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr,
                 "usage: floor_server --dir=DIR [--listen=host:port]\n");
    return 2;
  }
  const std::string path = dir + "/floor.log";
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::fprintf(stderr, "{\"event\":\"start_failed\",\"file\":\"%s\"}\n",
                 path.c_str());
    return 1;
  }

  MatchingCarrier carrier;
  grpc::ServerBuilder provider_builder;
  provider_builder.RegisterService(&carrier);
  provider_builder.AddChannelArgument(GRPC_ARG_ENABLE_DEADLINE_CHECKS, 0);
  auto provider_server = provider_builder.BuildAndStart();
  auto provider = pv1::CarrierService::NewStub(
      provider_server->InProcessChannel(grpc::ChannelArguments()));

  grpc::CompletionQueue cq;
  std::vector<std::thread> cq_threads;
  const unsigned n =
      std::clamp(std::thread::hardware_concurrency() / 2, 2u, 16u);
  for (unsigned i = 0; i < n; ++i) {
    cq_threads.emplace_back([&cq] {
      void* tag = nullptr;
      bool ok = false;
      while (cq.Next(&tag, &ok)) static_cast<CallTag*>(tag)->Complete();
    });
  }

  int status;
  {
    DurableLog log(fd);
    FloorVerify service(log, *provider, cq);
    status = idgate::bench::ServeUntilStopped(listen, &service, signals);
  }
  provider_server->Shutdown();
  cq.Shutdown();
  for (auto& t : cq_threads) t.join();
  if (status == 0) std::fprintf(stderr, "{\"event\":\"stopped\"}\n");
  return status;
}
