#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace idgate::testing {

// A real redis-server (Debian's, 7.x) for one test: on a free loopback
// port, in a temporary directory, without persistence. Started for real,
// never mocked; stopped (SIGKILL) and its directory removed by the
// destructor.
class RedisServer {
 public:
  RedisServer();
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts it (again) on the same port and waits until it answers PING.
  // `extra` is appended to its command line (e.g. "--requirepass s3cret").
  absl::Status Start(const std::string& extra = "");
  // SIGKILL: its data is gone (nothing is persisted).
  void Kill();
  // SIGSTOP / SIGCONT: it stops answering without closing connections.
  void Pause();
  void Resume();

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool running() const { return pid_ > 0; }

  // Runs redis-cli against it; its standard output.
  std::string Cli(const std::string& args) const;

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace idgate::testing
