// idgate: wiring only. Parses flags, loads the config, starts the gateway
// and waits for SIGTERM/SIGINT to drain and exit 0.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "app/gateway_app.h"
#include "core/time.h"
#include "grpc/support/log.h"
#include "server/config/config_loader.h"
#include "server/observability/json_log.h"

ABSL_FLAG(std::string, config, "config/dev.json",
          "Gateway config (proto3 JSON).");
ABSL_FLAG(std::string, listen, "",
          "host:port of the gRPC API; overrides the config.");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port of /metrics; overrides the config.");
ABSL_FLAG(std::string, state_dir, "var",
          "Runtime state: the ledger lives in <state_dir>/ledger.");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error.");
ABSL_FLAG(bool, check_config, false,
          "Only parse and check the config, then exit 0 or 1.");

namespace {

// gRPC core writes its own lines to stderr, and some quote what a caller sent
// (a malformed header value, say). They go through the JSON log instead,
// with where they came from but never their text.
std::atomic<const idgate::JsonLog*> grpc_core_log{nullptr};

void LogGrpcCore(gpr_log_func_args* args) {
  const idgate::JsonLog* log = grpc_core_log.load();
  if (log == nullptr) return;
  const bool error = args->severity == GPR_LOG_SEVERITY_ERROR;
  (error                                     ? log->Warning("grpc_core")
   : args->severity == GPR_LOG_SEVERITY_INFO ? log->Info("grpc_core")
                                             : log->Debug("grpc_core"))
      .Str("file", args->file != nullptr ? args->file : "")
      .Int("line", args->line);
  // gRPC's failed assertions log an error, then abort().
  if (error) log->Flush();
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "idgate --config=FILE [--listen=host:port] [--state_dir=DIR]");
  absl::ParseCommandLine(argc, argv);

  idgate::LogLevel level;
  if (!idgate::ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    std::fprintf(stderr,
                 "--log_level: expected debug, info, warning or error\n");
    return 2;
  }
  idgate::JsonLog log(level);
  grpc_core_log = &log;
  gpr_set_log_function(LogGrpcCore);
  // `log` ends with main while gRPC threads may still log: unhook first.
  struct Unhook {
    ~Unhook() { grpc_core_log = nullptr; }
  } unhook;

  // Signals are taken synchronously by this thread only: block them before
  // any other thread exists, so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto config = idgate::LoadConfigFile(absl::GetFlag(FLAGS_config));
  if (!config.ok()) {
    log.Error("config_invalid")
        .Str("error", std::string(config.status().message()));
    return 1;
  }
  if (absl::GetFlag(FLAGS_check_config)) {
    log.Info("config_ok").Str("config", absl::GetFlag(FLAGS_config));
    return 0;
  }
  const absl::Duration drain =
      idgate::ToDuration(config->config.server().drain_timeout());

  idgate::AppOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.metrics_listen_address = absl::GetFlag(FLAGS_metrics_listen);
  options.state_dir = absl::GetFlag(FLAGS_state_dir);
  options.log = &log;
  auto app = idgate::GatewayApp::Start(std::move(*config), std::move(options));
  if (!app.ok()) {
    log.Error("start_failed").Str("error", std::string(app.status().message()));
    return 1;
  }

  const timespec tick = {1, 0};
  while (true) {
    const int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGTERM || sig == SIGINT) {
      log.Info("signal").Str("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    (*app)->RefreshHealth();
  }
  (*app)->Shutdown(drain);
  return 0;
}
