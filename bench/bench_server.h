// What bench/run.sh's servers other than the gateway share: they serve
// with the gateway's server settings and the gateway's start/stop protocol
// on stderr, so that the figures compare the work done per call and
// nothing else.
#pragma once

#include <signal.h>

#include <cstdio>
#include <string>

#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"

namespace idgate::bench {

// The process-wide settings the gateway runs with. Call first in main,
// before any thread starts (threads inherit the signal mask): SIGTERM and
// SIGINT are then taken by ServeUntilStopped's sigwait. Abseil's deadlock
// detection goes off, as in the gateway: gRPC's locks are absl::Mutex, and
// Debian's Abseil (built without NDEBUG) checks every acquisition against
// a global lock-order graph under one lock.
inline sigset_t StartAsTheGatewayDoes() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return signals;
}

// Serves `service` on `listen` with the gateway's server settings (16 MiB
// messages, no per-call deadline timer), logs {"event":"started","port":N},
// and returns 0 after SIGTERM or SIGINT once every call has ended, or 1 if
// it cannot listen.
inline int ServeUntilStopped(const std::string& listen, grpc::Service* service,
                             const sigset_t& signals) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(16 << 20);
  builder.AddChannelArgument(GRPC_ARG_ENABLE_DEADLINE_CHECKS, 0);
  builder.RegisterService(service);
  auto server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "{\"event\":\"start_failed\",\"listen\":\"%s\"}\n",
                 listen.c_str());
    return 1;
  }
  std::fprintf(stderr, "{\"event\":\"started\",\"port\":%d}\n", port);
  int sig = 0;
  sigwait(&signals, &sig);
  server->Shutdown();
  return 0;
}

}  // namespace idgate::bench
