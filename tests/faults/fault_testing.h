#pragma once

// Shared by the fault, crash and hostile-caller suites (issue 10): the
// standalone mock providers served over loopback, misbehaving endpoints (a
// closed port, a refusing or silent listener, a TCP proxy that resets),
// fake providers, the real `idgate` binary as a child process, and the
// searches for canary values and ledger evidence.
//
// Tests run from the repository root (ctest's WORKING_DIRECTORY), so
// "config/dev.json" is a valid relative path. Everything listens on
// 127.0.0.1 only, and every wait is bounded.

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/mock.h"
#include "grpcpp/grpcpp.h"
#include "idgate/config/v1/config.pb.h"
#include "idgate/provider/v1/carrier.grpc.pb.h"
#include "idgate/v1/verification.grpc.pb.h"
#include "server/ledger/ledger.h"
#include "tools/idgate-audit/audit.h"

namespace idgate {
struct MockProviders;
}

namespace idgate::testing {

namespace cfg = ::idgate::config::v1;

// `d` stretched by $IDGATE_TIME_SCALE (default 1; the sanitizer script sets
// it): for upper bounds on how long something may take, never for the
// deadlines themselves.
absl::Duration Slack(absl::Duration d);

// An absolute path for `relative` to the repository root (the cwd).
std::string RepoPath(const std::string& relative);

// A fresh directory under $TMPDIR, removed with its contents.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& stem = "idgate-fault");
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& content);
std::string ReadFileOrEmpty(const std::string& path);

// --- The standalone mock server (tools/idgate-mock-providers), in-process
// through its library, serving every mock kind on 127.0.0.1:<free port>.
class MockServer {
 public:
  // Behaviours by kind ("carrier", "bank", "alipay", "cfca"); kinds not
  // listed answer at once without faults.
  static std::unique_ptr<MockServer> Start(
      std::map<std::string, cfg::MockBehaviour> behaviours = {},
      uint64_t seed = 1);
  ~MockServer();

  std::string address() const;
  int port() const;
  MockStats stats(const std::string& kind) const;
  std::shared_ptr<grpc::Channel> InProcessChannel();
  // Lets calls finish until `deadline`, then cancels hung ones.
  void Shutdown(absl::Duration grace = absl::ZeroDuration());

 private:
  MockServer() = default;
  std::unique_ptr<MockProviders> providers_;
};

// Behaviour helpers.
cfg::MockBehaviour Latency(absl::Duration mean);
cfg::MockBehaviour Hang();
cfg::MockBehaviour Busy(double rate);

// --- Config edits (the GatewayConfig of config/dev.json).
cfg::Provider* FindProvider(cfg::GatewayConfig& c, const std::string& id);
// Switches a provider from its embedded mock to `address`.
void UseAddress(cfg::GatewayConfig& c, const std::string& provider_id,
                const std::string& address);
// Adds provider `id`, a copy of `like` reached at `address`, to the route of
// `like` at `priority` and to `like`'s disclosure rule.
void AddProviderLike(cfg::GatewayConfig& c, const std::string& like,
                     const std::string& id, const std::string& address,
                     uint32_t priority);

// config/dev.json loaded with every file path made absolute (adapter keys
// included), so that it works when written anywhere.
cfg::GatewayConfig DevConfigAbsolute();
// Proto3 JSON of `c`.
std::string ConfigJson(const cfg::GatewayConfig& c);

// --- Misbehaving endpoints on 127.0.0.1.

// A port nothing listens on (bound, then closed): connections are refused.
int ClosedPort();

// A TCP listener that misbehaves, or a proxy to `upstream_port` that can
// reset the connection. All threads stop in the destructor.
class TcpFault {
 public:
  enum class Mode {
    kForward,           // plain proxy
    kAcceptAndReset,    // accepts, then RSTs at once (SO_LINGER 0)
    kSilent,            // accepts and never answers (no HTTP/2 settings)
    kResetMidResponse,  // forwards the request, RSTs when the answer starts
  };
  TcpFault(Mode mode, int upstream_port = 0);
  ~TcpFault();
  TcpFault(const TcpFault&) = delete;
  TcpFault& operator=(const TcpFault&) = delete;

  int port() const { return port_; }
  std::string address() const;
  int connections() const { return connections_.load(); }
  int resets() const { return resets_.load(); }

 private:
  void AcceptLoop();
  void Serve(int client);

  const Mode mode_;
  const int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> resets_{0};
  std::thread acceptor_;
  // std::mutex, not absl::Mutex: Debian's Abseil is not TSan-instrumented.
  std::mutex mu_;
  // Guarded by mu_:
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
};

// --- Fake providers.

// A CarrierService that echoes the personal values it received in its
// error text (or in its answer), as badly written providers do.
class EchoingCarrier final
    : public ::idgate::provider::v1::CarrierService::CallbackService {
 public:
  enum class Mode {
    kUnavailable,  // UNAVAILABLE "...<id number>..."
    kInternal,     // INTERNAL "...<name> <id number> <mobile>..."
    kCodeIsValue,  // OK with code = the ID number (an "unknown code")
    kMessageEcho,  // OK, code "0", message and operator echo the values
  };
  explicit EchoingCarrier(Mode mode) : mode_(mode) {}
  grpc::ServerUnaryReactor* CheckThreeFactor(
      grpc::CallbackServerContext* context,
      const ::idgate::provider::v1::CheckThreeFactorRequest* request,
      ::idgate::provider::v1::CheckThreeFactorResponse* response) override;
  int requests() const { return requests_.load(); }

 private:
  const Mode mode_;
  std::atomic<int> requests_{0};
};

// Serves `services` on 127.0.0.1:<free port>.
struct FakeServer {
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::string address() const;
};
FakeServer StartFakeServer(const std::vector<grpc::Service*>& services);

// --- The real binaries, as child processes.

struct ProcessOptions {
  std::vector<std::string> argv;  // argv[0] is the binary
  std::vector<std::pair<std::string, std::string>> env;  // added to ours
  std::string stdout_path = "/dev/null";
  std::string stderr_path = "/dev/null";
  // When set, stdout and stderr go through a pipe that a thread of this
  // process appends to this file: the child's file-size limit (below)
  // then cannot cut its logs.
  std::string capture_path;
  // RLIMIT_FSIZE in bytes (a "full disk" for this process), -1 = unlimited.
  int64_t file_size_limit = -1;
  // SIGXFSZ ignored, so that writes past RLIMIT_FSIZE fail with EFBIG
  // instead of killing the process (implied by file_size_limit >= 0).
  bool ignore_sigxfsz = false;
};

class Subprocess {
 public:
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const ProcessOptions& options);
  ~Subprocess();  // SIGKILLs and reaps a child still running
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  // True once the child exited (within `timeout`).
  bool Wait(absl::Duration timeout);
  bool running();
  void Signal(int signal);
  // After Wait() returned true: the exit code, or -1 if killed by a signal.
  int exit_code() const { return exit_code_; }
  int term_signal() const { return term_signal_; }

 private:
  Subprocess() = default;
  pid_t pid_ = -1;
  std::thread reader_;
  bool reaped_ = false;
  int exit_code_ = -1;
  int term_signal_ = 0;
};

// Sets RLIMIT_FSIZE of a running process (the test runs as root or as the
// child's owner): its writes past `bytes` then fail.
bool SetFileSizeLimit(pid_t pid, int64_t bytes);

// Path of a binary built by this tree (compile definitions of the tests).
std::string IdgateBinary();

// The `idgate` binary with a config file and a state directory.
class GatewayProcess {
 public:
  struct Options {
    std::string config_path;
    std::string state_dir;
    std::string log_path;  // stderr (the JSON log); appended across restarts
    std::vector<std::pair<std::string, std::string>> env;
    int64_t file_size_limit = -1;
    bool ignore_sigxfsz = false;
    std::string metrics_listen = "127.0.0.1:0";
    std::vector<std::string> extra_flags;
  };
  explicit GatewayProcess(Options options) : options_(std::move(options)) {}
  ~GatewayProcess();

  // Starts the process and waits (bounded) for its "started" log line.
  absl::Status Start(absl::Duration timeout = absl::Seconds(20));
  void Kill9();
  // SIGTERM and wait for a clean exit; returns the exit code (-1 if killed).
  int Terminate(absl::Duration timeout = absl::Seconds(30));
  // The child exited on its own (e.g. failed start-up) within `timeout`.
  bool WaitExit(absl::Duration timeout, int* exit_code);

  int port() const { return port_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::string logs() const { return ReadFileOrEmpty(options_.log_path); }
  bool running() const { return process_ != nullptr && process_->running(); }
  pid_t pid() const { return process_ == nullptr ? -1 : process_->pid(); }

 private:
  Options options_;
  std::unique_ptr<Subprocess> process_;
  size_t log_offset_ = 0;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

// --- Calls and checks.

grpc::Status VerifyOn(const std::shared_ptr<grpc::Channel>& channel,
                      const ::idgate::v1::VerifyRequest& request,
                      ::idgate::v1::VerifyResponse* response,
                      const std::string& caller = "esign-platform",
                      absl::Duration timeout = absl::Seconds(10));

// SERVING, NOT_SERVING, ... of the gRPC health service for `service`
// ("" = the server); "UNREACHABLE" when the call fails.
std::string HealthOf(
    const std::shared_ptr<grpc::Channel>& channel,
    const std::string& service = "idgate.v1.VerificationService");

// The gateway behind `channel` still serves after a fault: health SERVING,
// and `request` (a check the fault leaves alone) answered MATCH. Expects
// both (gtest), for the fault, crash and hostile suites.
void ExpectServingAndMatching(const std::shared_ptr<grpc::Channel>& channel,
                              const ::idgate::v1::VerifyRequest& request);

// The encodings a leaked value may take: raw, hex (both cases), base64,
// web-safe base64, percent-encoding, JSON \u escapes.
std::vector<std::string> LeakForms(const std::string& value);
// "" when none of `values`, in any LeakForms, occurs in `haystack`; else a
// description of the first hit (never the value itself, to keep test logs
// clean: its index and form number).
std::string FindLeak(const std::string& haystack,
                     const std::vector<std::string>& values);

// idgate-audit verify over a ledger directory, with the development
// checkpoint public key.
audit::VerifyReport AuditLedger(const std::string& ledger_dir);
// Disclosure ids of the INTENT records (in order) and of OUTCOMEs.
struct LedgerSummary {
  std::vector<LedgerRecord> intents;
  std::vector<LedgerRecord> outcomes;
  std::map<std::string, int> intents_by_provider;
};
LedgerSummary SummarizeLedger(const std::string& ledger_dir);

// Scrapes a Prometheus text sample, e.g. `idgate_ledger_healthy`; -1 if absent.
double Sample(const std::string& scrape, const std::string& series);

}  // namespace idgate::testing
