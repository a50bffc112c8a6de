// idgate-mock-providers: every built-in mock provider (carrier, bank, and
// the face providers once registered) on one port, with gRPC health and
// reflection, for a gateway configured with provider addresses instead of
// embedded mocks.

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "tools/idgate-mock-providers/mock_providers.h"

ABSL_FLAG(std::string, config, "",
          "MockServerConfig JSON file, e.g. config/mock-providers.json");
ABSL_FLAG(std::string, listen, "",
          "host:port to listen on; overrides the config's listen_address");
ABSL_FLAG(int, drain_seconds, 5,
          "on SIGTERM, time left to calls in flight before cancelling them");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Serves the idgate mock providers.\n"
      "  idgate-mock-providers --config=config/mock-providers.json "
      "[--listen=host:port]");
  absl::ParseCommandLine(argc, argv);
  const std::string config_path = absl::GetFlag(FLAGS_config);
  if (config_path.empty()) {
    std::fprintf(stderr, "idgate-mock-providers: --config is required\n");
    return 2;
  }

  // Signals are taken synchronously by sigwait below; blocking them before
  // any gRPC thread starts makes every thread inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto config = idgate::LoadMockServerConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "idgate-mock-providers: %s\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  std::string listen = absl::GetFlag(FLAGS_listen);
  if (listen.empty()) listen = config->listen_address();
  const size_t slash = config_path.rfind('/');
  const std::string config_dir =
      slash == std::string::npos ? "." : config_path.substr(0, slash);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  auto providers = idgate::StartMockProviders(*config, config_dir, listen);
  if (!providers.ok()) {
    std::fprintf(stderr, "idgate-mock-providers: %s\n",
                 std::string(providers.status().message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "idgate-mock-providers: serving %s on port %d\n",
               absl::StrJoin((*providers)->kinds, ", ").c_str(),
               (*providers)->host->port());

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::fprintf(stderr, "idgate-mock-providers: signal %d, draining\n",
               signal_number);
  grpc::Server* server = (*providers)->host->server();
  if (auto* health = server->GetHealthCheckService()) {
    health->SetServingStatus(false);  // load balancers stop sending first
  }
  (*providers)
      ->host->Shutdown(absl::Now() +
                       absl::Seconds(absl::GetFlag(FLAGS_drain_seconds)));
  // Each phase says it ended, so that a slow exit shows where it stalled:
  // the drain (bounded by --drain_seconds), or the teardown (the mocks'
  // threads, then gRPC's own shutdown with the server).
  std::fprintf(stderr, "idgate-mock-providers: drained\n");
  providers->reset();
  std::fprintf(stderr, "idgate-mock-providers: stopped\n");
  return 0;
}
