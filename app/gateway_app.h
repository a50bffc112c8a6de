#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "adapters/mock.h"
#include "adapters/provider_call.h"
#include "adapters/registry.h"
#include "grpcpp/grpcpp.h"
#include "server/auth/caller_auth.h"
#include "server/config/config_loader.h"
#include "server/ledger/file_ledger.h"
#include "server/observability/json_log.h"
#include "server/observability/metrics.h"
#include "server/service/gateway.h"
#include "server/service/ledger_mirror_service.h"
#include "server/service/verification_service.h"
#include "server/state/redis_admission_store.h"

namespace idgate {

class IdentityBook;
class ServerTls;

struct AppOptions {
  // Overrides of the config's addresses; empty keeps the config's.
  std::string listen_address;
  std::string metrics_listen_address;
  // Tests that do not scrape skip the HTTP server (it takes ~2 s to stop).
  bool serve_metrics = true;
  // Runtime state; the ledger lives in <state_dir>/ledger.
  std::string state_dir = "var";
  // Replaces the ledger (tests inject failures); nullptr opens a FileLedger.
  std::shared_ptr<Ledger> ledger;
  // Extra per-call observer (tests); the access log always runs.
  CallObserver call_observer;
  std::function<absl::Time()> now = [] { return absl::Now(); };
  JsonLog* log = nullptr;  // required
  // Abseil as Debian builds it checks every Mutex acquisition against a
  // process-wide lock-order graph kept under one spinlock (and every Mutex
  // destructor removes its node): a quarter of the gateway's CPU per call
  // under load (BENCHMARKS.md). Off unless asked for; it is process-wide.
  bool mutex_deadlock_detection = false;
};

// The whole gateway assembled from a config: embedded mocks, adapters,
// policy, ledger, routing and the gRPC server with health and reflection.
// main() only parses flags, starts this and waits for a signal.
class GatewayApp {
 public:
  static absl::StatusOr<std::unique_ptr<GatewayApp>> Start(LoadedConfig config,
                                                           AppOptions options);
  ~GatewayApp();

  // SIGTERM path: health NOT_SERVING, in-flight calls get until `drain`,
  // then the ledger writes its last checkpoint and closes.
  void Shutdown(absl::Duration drain);

  // Re-reads ledger health into the gRPC health service (NOT_SERVING once
  // the ledger failed). Called periodically by main.
  void RefreshHealth();

  int port() const { return port_; }
  // Port of /metrics (0 when not served).
  int metrics_port() const;
  const Metrics& metrics() const { return *metrics_; }
  Ledger& ledger() { return *ledger_; }
  // Embedded mock of a provider id (nullptr for a remote provider).
  const MockProvider* mock(const std::string& provider_id) const;
  const RecoveryReport* recovery_report() const { return recovery_; }

 private:
  GatewayApp() = default;
  // Start's steps, in order.
  absl::Status StartProviders(
      const std::function<absl::Time()>& now,
      std::map<std::string, std::unique_ptr<Adapter>>* adapters);
  absl::Status OpenLedger(const AppOptions& options);
  absl::StatusOr<std::unique_ptr<AdmissionStore>> SharedState();
  absl::Status AssembleGateway(
      const AppOptions& options,
      std::map<std::string, std::unique_ptr<Adapter>> adapters);
  void RestoreIdempotency();
  absl::Status StartServer(const AppOptions& options);

  LoadedConfig loaded_;
  JsonLog* log_ = nullptr;
  std::vector<ProviderKind> kinds_;
  std::unique_ptr<IdentityBook> book_;
  // Before the providers, so that it is destroyed after them: its
  // destructor waits for their calls.
  std::unique_ptr<ProviderCallQueue> provider_calls_;
  std::map<std::string, std::unique_ptr<MockProvider>> mocks_;
  std::vector<std::unique_ptr<grpc::Server>> mock_servers_;
  std::unique_ptr<Metrics> metrics_;
  std::shared_ptr<Ledger> ledger_;
  FileLedger* file_ledger_ = nullptr;  // when the ledger is ours
  const RecoveryReport* recovery_ = nullptr;
  // Before parts_, whose shared state uses it: destroyed after it.
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<GatewayParts> parts_;
  std::unique_ptr<CallerAuthenticator> authenticator_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::unique_ptr<VerificationServiceImpl> service_;
  // With a file ledger only.
  std::unique_ptr<LedgerMirrorServiceImpl> mirror_service_;
  // Before the server, so that it is destroyed after it.
  std::unique_ptr<ServerTls> tls_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool healthy_ = false;
};

}  // namespace idgate
