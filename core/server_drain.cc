#include "core/server_drain.h"

#include <thread>

#include "absl/synchronization/notification.h"
#include "grpc/grpc.h"

namespace idgate {

void DrainServer(grpc::Server& server, absl::Time deadline,
                 const std::function<bool()>& idle) {
  absl::Notification shut_down;
  // Shutdown blocks; it runs beside the watch for idleness.
  std::thread shutdown([&server, deadline, &shut_down] {
    server.Shutdown(absl::ToChronoTime(deadline));
    shut_down.Notify();
  });
  while (!shut_down.WaitForNotificationWithTimeout(absl::Milliseconds(20))) {
    if (idle()) grpc_server_cancel_all_calls(server.c_server());
  }
  shutdown.join();
}

}  // namespace idgate
