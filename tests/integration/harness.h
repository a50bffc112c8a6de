#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "app/gateway_app.h"
#include "grpcpp/grpcpp.h"
#include "idgate/v1/verification.grpc.pb.h"

namespace idgate::testing {

// Synthetic people of config/testdata/identities.json.
struct TestPerson {
  std::string name, id_number, mobile, card;
};
TestPerson AdultMatch();    // 测试甲: every check matches
TestPerson Minor();         // under 18: refused before any provider call
TestPerson CardLost();      // card reported lost
TestPerson LivenessFail();  // face fails liveness
std::string ReadTestFile(const std::string& path);

// A gateway started in-process from config/dev.json (optionally edited),
// with a fresh state directory and captured logs.
class GatewayHarness {
 public:
  using ConfigEdit = std::function<void(::idgate::config::v1::GatewayConfig&)>;

  explicit GatewayHarness(ConfigEdit edit = nullptr,
                          std::shared_ptr<Ledger> ledger = nullptr,
                          bool serve_metrics = false);
  ~GatewayHarness();

  absl::Status start_status() const { return start_status_; }
  GatewayApp& app() { return **app_; }
  const std::string& state_dir() const { return state_dir_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

  // Verify as `caller` (development-mode metadata).
  grpc::Status Verify(const ::idgate::v1::VerifyRequest& request,
                      ::idgate::v1::VerifyResponse* response,
                      const std::string& caller = "esign-platform",
                      absl::Duration timeout = absl::Seconds(10));

  // Every log line written so far.
  std::string logs() const;
  // Stops the gateway (drain) and closes its ledger.
  void Stop(absl::Duration drain = absl::Seconds(5));

 private:
  std::string state_dir_;
  JsonLog log_;
  mutable absl::Mutex mu_;
  std::string logs_;
  absl::Status start_status_;
  absl::StatusOr<std::unique_ptr<GatewayApp>> app_ =
      absl::UnknownError("not started");
  std::shared_ptr<grpc::Channel> channel_;
};

// Requests for each check, with consent for everything the check needs.
::idgate::v1::VerifyRequest CarrierRequest(const TestPerson& p,
                                           const std::string& request_id);
::idgate::v1::VerifyRequest BankRequest(const TestPerson& p,
                                        const std::string& request_id);
::idgate::v1::VerifyRequest FaceRequest(const TestPerson& p,
                                        const std::string& face_image,
                                        const std::string& request_id);

// Every record of the ledger in `dir`, in order (segments concatenated).
std::vector<LedgerRecord> ReadLedger(const std::string& dir);
// Every byte of every file under `dir`, concatenated (canary searches).
std::string ReadAllFiles(const std::string& dir);

// A unique request id per call in this process.
std::string NextRequestId();

}  // namespace idgate::testing
