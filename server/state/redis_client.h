#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct event;
struct event_base;
struct redisAsyncContext;

namespace idgate {

// A Redis reply, copied out of hiredis's.
struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;  // kString and kStatus
  std::vector<RedisReply> elements;
};

// A Lua script run with EVALSHA, and with EVAL when the server does not know
// it (NOSCRIPT: after a restart or SCRIPT FLUSH), which also reloads it.
class RedisScript {
 public:
  explicit RedisScript(std::string body);
  const std::string& body() const { return body_; }
  const std::string& sha1() const { return sha1_; }

 private:
  std::string body_;
  std::string sha1_;  // lowercase hex, as Redis names scripts
};

// An asynchronous Redis client on Debian's hiredis 0.14: a few connections,
// each pipelining its commands, driven by one event-loop thread of its own
// (hiredis contexts are not thread-safe; nothing else touches them). No
// thread ever waits on Redis: Command queues and returns, and `done` runs
// on the loop thread when the reply comes, or with UNAVAILABLE when none can:
// no connection is up, the command timed out (hiredis 0.14 has no timeout
// of its own; this one's ends the connection, whose other commands fail
// too, and reconnects), or the client stops.
class RedisClient {
 public:
  struct Options {
    std::string host;
    int port = 6379;
    std::string password;   // AUTH on connect; empty: none
    uint32_t database = 0;  // SELECT on connect
    absl::Duration connect_timeout = absl::Seconds(1);
    absl::Duration command_timeout = absl::Milliseconds(200);
    int connections = 2;
    // Commands queued on one connection beyond this fail at once.
    size_t max_pending_per_connection = 20000;
    // Reconnect delays: doubling from the first to the last.
    absl::Duration min_backoff = absl::Milliseconds(50);
    absl::Duration max_backoff = absl::Seconds(5);
    // On the loop thread: each command's round trip and how it failed ("",
    // "timeout", "connection", "reply", "unavailable"); and every change of
    // whether some connection is usable, the first failure to connect
    // included. Must be quick.
    std::function<void(absl::Duration, absl::string_view)> on_command;
    std::function<void(bool available, absl::string_view cause)>
        on_availability;
  };
  using Done = std::function<void(absl::StatusOr<RedisReply>)>;

  // Starts the loop and connects in the background: a Redis that is down at
  // start-up is retried like one that goes down later.
  static absl::StatusOr<std::unique_ptr<RedisClient>> Start(Options options);
  // Fails what is pending with UNAVAILABLE and stops the loop.
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Thread-safe. An error reply is an error status (FAILED_PRECONDITION with
  // the server's message, which names no value: our keys and arguments are
  // hashes and ids).
  void Command(std::vector<std::string> args, Done done);
  void Eval(const RedisScript& script, std::vector<std::string> keys,
            std::vector<std::string> args, Done done);

  // Runs `fn` on the loop thread after `delay` (at once when the client
  // stops). Call it from the loop thread only: from a `done`.
  void After(absl::Duration delay, std::function<void()> fn);

  // Waits (blocking: for shutdown, never on a gRPC thread) until every
  // command has been answered or failed, at most `max`. False on timeout.
  bool WaitIdle(absl::Duration max);

  // Some connection is up (and authenticated).
  bool available() const { return ready_connections_.load() > 0; }

 private:
  struct Pending;
  struct Connection;

  explicit RedisClient(Options options);
  void Loop();
  void OnWake();
  void OnTick();
  void OnTimer();
  void ArmTimer();
  void Connect(Connection& c);
  void ConnectionReady(Connection& c);
  void ConnectionDown(Connection& c, absl::string_view cause);
  // Calls on_availability when usability changed since it last did (the
  // first connection failure counts as a change).
  void ReportAvailability(absl::string_view cause);
  void Send(Connection& c, std::unique_ptr<Pending> pending);
  void Finish(Pending& pending, absl::StatusOr<RedisReply> result,
              absl::string_view error_kind);
  Connection* PickReady();
  void Stop();

  static void OnReply(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnConnect(const redisAsyncContext* ac, int status);
  static void OnDisconnect(const redisAsyncContext* ac, int status);

  const Options options_;
  event_base* base_ = nullptr;
  event* wake_event_ = nullptr;
  event* tick_event_ = nullptr;
  event* timer_event_ = nullptr;
  std::multimap<absl::Time, std::function<void()>> timers_;  // loop thread
  int wake_fd_ = -1;
  std::vector<std::unique_ptr<Connection>> connections_;  // loop thread
  size_t next_connection_ = 0;                            // loop thread
  int reported_ = -1;  // loop thread: last availability reported
  std::atomic<int> ready_connections_{0};
  std::atomic<int64_t> unfinished_{0};  // commands not answered or failed

  std::mutex mu_;
  std::deque<std::unique_ptr<Pending>> submitted_;  // guarded by mu_
  bool stopping_ = false;                           // guarded by mu_
  std::thread thread_;
};

}  // namespace idgate
