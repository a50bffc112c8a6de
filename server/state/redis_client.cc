#include "server/state/redis_client.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace idgate {

struct RedisClient::Pending {
  std::vector<std::string> args;
  Done done;  // empty for the connection's own AUTH and SELECT
  absl::Time submitted;
  absl::Time deadline;
  bool finished = false;
};

struct RedisClient::Connection {
  enum class State { kDown, kConnecting, kSettingUp, kReady };
  RedisClient* client = nullptr;
  redisAsyncContext* ac = nullptr;
  State state = State::kDown;
  // Sent and not yet answered, in the order Redis answers them. Owned.
  std::deque<Pending*> in_flight;
  int setup_left = 0;
  absl::Time connect_deadline;
  absl::Time retry_at = absl::InfinitePast();
  absl::Duration backoff;
};

namespace {

std::string Sha1Hex(absl::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha1(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(md), len));
}

absl::StatusOr<RedisReply> Convert(const redisReply& r) {
  RedisReply out;
  switch (r.type) {
    case REDIS_REPLY_ERROR:
      return absl::FailedPreconditionError(
          absl::StrCat("redis: ", absl::string_view(r.str, r.len)));
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out.type = r.type == REDIS_REPLY_STRING ? RedisReply::Type::kString
                                              : RedisReply::Type::kStatus;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      for (size_t i = 0; i < r.elements; ++i) {
        auto element = Convert(*r.element[i]);
        if (!element.ok()) return element.status();
        out.elements.push_back(std::move(*element));
      }
      break;
    default:
      break;  // nil
  }
  return out;
}

}  // namespace

RedisScript::RedisScript(std::string body)
    : body_(std::move(body)), sha1_(Sha1Hex(body_)) {}

absl::StatusOr<std::unique_ptr<RedisClient>> RedisClient::Start(
    Options options) {
  std::unique_ptr<RedisClient> client(new RedisClient(std::move(options)));
  client->base_ = event_base_new();
  client->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (client->base_ == nullptr || client->wake_fd_ < 0) {
    return absl::InternalError("redis client: cannot create its event loop");
  }
  client->wake_event_ = event_new(
      client->base_, client->wake_fd_, EV_READ | EV_PERSIST,
      [](evutil_socket_t, short, void* self) {
        static_cast<RedisClient*>(self)->OnWake();
      },
      client.get());
  client->tick_event_ = event_new(
      client->base_, -1, EV_PERSIST,
      [](evutil_socket_t, short, void* self) {
        static_cast<RedisClient*>(self)->OnTick();
      },
      client.get());
  // Timeouts are checked on this tick: a quarter of the command timeout,
  // between 1 and 50 ms.
  const absl::Duration tick =
      std::clamp(client->options_.command_timeout / 4, absl::Milliseconds(1),
                 absl::Milliseconds(50));
  client->timer_event_ = event_new(
      client->base_, -1, 0,
      [](evutil_socket_t, short, void* self) {
        static_cast<RedisClient*>(self)->OnTimer();
      },
      client.get());
  const timeval tv = absl::ToTimeval(tick);
  event_add(client->wake_event_, nullptr);
  event_add(client->tick_event_, &tv);
  for (int i = 0; i < std::max(1, client->options_.connections); ++i) {
    auto c = std::make_unique<Connection>();
    c->client = client.get();
    c->backoff = client->options_.min_backoff;
    client->connections_.push_back(std::move(c));
  }
  client->thread_ = std::thread([c = client.get()] { c->Loop(); });
  return client;
}

RedisClient::RedisClient(Options options) : options_(std::move(options)) {}

RedisClient::~RedisClient() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  const uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  if (wake_event_ != nullptr) event_free(wake_event_);
  if (tick_event_ != nullptr) event_free(tick_event_);
  if (timer_event_ != nullptr) event_free(timer_event_);
  if (base_ != nullptr) event_base_free(base_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void RedisClient::Loop() {
  for (auto& c : connections_) Connect(*c);
  event_base_loop(base_, 0);
}

void RedisClient::Command(std::vector<std::string> args, Done done) {
  const absl::Time now = absl::Now();
  auto pending = std::make_unique<Pending>();
  pending->args = std::move(args);
  pending->done = std::move(done);
  pending->submitted = now;
  pending->deadline = now + options_.command_timeout;
  unfinished_.fetch_add(1);
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      unfinished_.fetch_sub(1);
      pending->done(absl::UnavailableError("redis client stopped"));
      return;
    }
    wake = submitted_.empty();
    submitted_.push_back(std::move(pending));
  }
  // One wake-up per batch: the loop takes everything queued at once.
  const uint64_t one = 1;
  if (wake) (void)!write(wake_fd_, &one, sizeof one);
}

void RedisClient::Eval(const RedisScript& script, std::vector<std::string> keys,
                       std::vector<std::string> args, Done done) {
  std::vector<std::string> command = {"EVALSHA", script.sha1(),
                                      std::to_string(keys.size())};
  command.insert(command.end(), std::make_move_iterator(keys.begin()),
                 std::make_move_iterator(keys.end()));
  command.insert(command.end(), std::make_move_iterator(args.begin()),
                 std::make_move_iterator(args.end()));
  std::vector<std::string> eval = command;
  eval[0] = "EVAL";
  eval[1] = script.body();
  Command(std::move(command),
          [this, eval = std::move(eval),
           done = std::move(done)](absl::StatusOr<RedisReply> reply) mutable {
            // The server lost its scripts (restart, SCRIPT FLUSH): EVAL
            // runs the body and caches it again.
            if (!reply.ok() &&
                absl::StrContains(reply.status().message(), "NOSCRIPT")) {
              return Command(std::move(eval), std::move(done));
            }
            done(std::move(reply));
          });
}

void RedisClient::OnWake() {
  uint64_t count;
  (void)!read(wake_fd_, &count, sizeof count);
  std::deque<std::unique_ptr<Pending>> batch;
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(submitted_);
    stopping = stopping_;
  }
  if (stopping) return Stop();
  for (auto& pending : batch) {
    Connection* c = PickReady();
    if (c == nullptr) {
      Finish(*pending, absl::UnavailableError("redis unavailable"),
             "unavailable");
      continue;
    }
    Send(*c, std::move(pending));
  }
}

RedisClient::Connection* RedisClient::PickReady() {
  for (size_t i = 0; i < connections_.size(); ++i) {
    Connection& c = *connections_[next_connection_++ % connections_.size()];
    if (c.state == Connection::State::kReady) return &c;
  }
  return nullptr;
}

void RedisClient::Send(Connection& c, std::unique_ptr<Pending> pending) {
  if (c.in_flight.size() >= options_.max_pending_per_connection) {
    return Finish(*pending,
                  absl::UnavailableError("redis: too many commands waiting"),
                  "unavailable");
  }
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string& arg : pending->args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  if (redisAsyncCommandArgv(c.ac, &RedisClient::OnReply, pending.get(),
                            static_cast<int>(argv.size()), argv.data(),
                            lengths.data()) != REDIS_OK) {
    return Finish(*pending, absl::UnavailableError("redis: connection lost"),
                  "connection");
  }
  pending->args.clear();  // sent: hiredis keeps its own copy
  c.in_flight.push_back(pending.release());
}

void RedisClient::Finish(Pending& pending, absl::StatusOr<RedisReply> result,
                         absl::string_view error_kind) {
  if (pending.finished) return;
  pending.finished = true;
  if (options_.on_command) {
    options_.on_command(absl::Now() - pending.submitted, error_kind);
  }
  if (!pending.done) return;
  pending.done(std::move(result));
  unfinished_.fetch_sub(1);  // after: `done` may queue another command
}

bool RedisClient::WaitIdle(absl::Duration max) {
  const absl::Time until = absl::Now() + max;
  while (unfinished_.load() > 0) {
    if (absl::Now() >= until) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

void RedisClient::OnReply(redisAsyncContext* ac, void* reply, void* privdata) {
  auto* c = static_cast<Connection*>(ac->data);
  std::unique_ptr<Pending> pending(static_cast<Pending*>(privdata));
  if (!c->in_flight.empty() && c->in_flight.front() == pending.get()) {
    c->in_flight.pop_front();
  }
  RedisClient& client = *c->client;
  if (reply == nullptr) {  // the connection went, with this command
    return client.Finish(*pending,
                         absl::UnavailableError("redis: connection lost"),
                         "connection");
  }
  absl::StatusOr<RedisReply> result = Convert(*static_cast<redisReply*>(reply));
  if (!pending->done) {  // AUTH or SELECT
    if (!result.ok()) {
      return client.ConnectionDown(*c, result.status().message());
    }
    if (--c->setup_left == 0) client.ConnectionReady(*c);
    return;
  }
  const absl::string_view error = result.ok() ? "" : result.status().message();
  // A NOSCRIPT is no failure: Eval runs the script's body instead.
  const absl::string_view kind = result.ok() ? ""
                                 : absl::StrContains(error, "NOSCRIPT")
                                     ? "noscript"
                                     : "reply";
  // A server that is no primary any more (a failover demoted it) or is
  // still loading its data refuses every write: the connection is dropped,
  // and the reconnection reaches whatever the address names now.
  std::string wrong_server;
  if (absl::StrContains(error, "READONLY") ||
      absl::StrContains(error, "LOADING") ||
      absl::StrContains(error, "MASTERDOWN")) {
    wrong_server = std::string(error);
  }
  client.Finish(*pending, std::move(result), kind);
  if (!wrong_server.empty() && c->ac == ac) {
    client.ConnectionDown(*c, wrong_server);
  }
}

void RedisClient::Connect(Connection& c) {
  redisAsyncContext* ac =
      redisAsyncConnect(options_.host.c_str(), options_.port);
  if (ac == nullptr || ac->err) {
    const std::string cause = ac == nullptr ? "out of memory" : ac->errstr;
    if (ac != nullptr) redisAsyncFree(ac);
    return ConnectionDown(c, cause);
  }
  ac->data = &c;
  redisLibeventAttach(ac, base_);
  redisAsyncSetConnectCallback(ac, &RedisClient::OnConnect);
  redisAsyncSetDisconnectCallback(ac, &RedisClient::OnDisconnect);
  c.ac = ac;
  c.state = Connection::State::kConnecting;
  c.connect_deadline = absl::Now() + options_.connect_timeout;
}

void RedisClient::OnConnect(const redisAsyncContext* ac, int status) {
  auto* c = static_cast<Connection*>(ac->data);
  RedisClient& client = *c->client;
  if (status != REDIS_OK) {
    c->ac = nullptr;  // hiredis frees it after this callback
    return client.ConnectionDown(*c, ac->errstr);
  }
  c->state = Connection::State::kSettingUp;
  std::vector<std::vector<std::string>> setup;
  if (!client.options_.password.empty()) {
    setup.push_back({"AUTH", client.options_.password});
  }
  if (client.options_.database != 0) {
    setup.push_back({"SELECT", std::to_string(client.options_.database)});
  }
  if (setup.empty()) return client.ConnectionReady(*c);
  c->setup_left = static_cast<int>(setup.size());
  for (auto& args : setup) {
    auto pending = std::make_unique<Pending>();
    pending->args = std::move(args);
    pending->deadline = c->connect_deadline;
    client.Send(*c, std::move(pending));
  }
}

void RedisClient::OnDisconnect(const redisAsyncContext* ac, int status) {
  auto* c = static_cast<Connection*>(ac->data);
  if (c->state == Connection::State::kDown) return;  // we closed it
  c->ac = nullptr;  // hiredis frees it after this callback
  c->client->ConnectionDown(*c, status == REDIS_OK ? "closed" : ac->errstr);
}

void RedisClient::ConnectionReady(Connection& c) {
  c.state = Connection::State::kReady;
  c.backoff = options_.min_backoff;
  ready_connections_.fetch_add(1);
  ReportAvailability("");
}

void RedisClient::ReportAvailability(absl::string_view cause) {
  const int available = ready_connections_.load() > 0 ? 1 : 0;
  if (available == reported_) return;
  reported_ = available;
  if (options_.on_availability) options_.on_availability(available, cause);
}

void RedisClient::ConnectionDown(Connection& c, absl::string_view cause) {
  const bool was_ready = c.state == Connection::State::kReady;
  c.state = Connection::State::kDown;
  if (c.ac != nullptr) {
    // Fails what is in flight on it (OnReply with no reply); deferred by
    // hiredis until its callback returns when called from one.
    redisAsyncContext* ac = std::exchange(c.ac, nullptr);
    redisAsyncFree(ac);
  }
  c.retry_at = absl::Now() + c.backoff;
  c.backoff = std::min(c.backoff * 2, options_.max_backoff);
  if (was_ready) ready_connections_.fetch_sub(1);
  ReportAvailability(cause);
}

void RedisClient::OnTick() {
  const absl::Time now = absl::Now();
  for (auto& owned : connections_) {
    Connection& c = *owned;
    switch (c.state) {
      case Connection::State::kDown:
        if (now >= c.retry_at) Connect(c);
        break;
      case Connection::State::kConnecting:
      case Connection::State::kSettingUp:
        if (now > c.connect_deadline) ConnectionDown(c, "connect timeout");
        break;
      case Connection::State::kReady:
        // Replies come in order: the oldest command is the one overdue.
        if (!c.in_flight.empty() && c.in_flight.front()->deadline < now) {
          Finish(*c.in_flight.front(),
                 absl::UnavailableError(absl::StrCat(
                     "redis: no answer within ",
                     absl::FormatDuration(options_.command_timeout))),
                 "timeout");
          // A connection that stopped answering is not trusted again: its
          // other commands fail now rather than at their own deadlines.
          ConnectionDown(c, "command timeout");
        }
        break;
    }
  }
}

void RedisClient::After(absl::Duration delay, std::function<void()> fn) {
  timers_.emplace(absl::Now() + delay, std::move(fn));
  ArmTimer();
}

void RedisClient::ArmTimer() {
  if (timers_.empty()) return;
  const timeval tv = absl::ToTimeval(
      std::max(absl::ZeroDuration(), timers_.begin()->first - absl::Now()));
  event_add(timer_event_, &tv);  // re-arming replaces the earlier time
}

void RedisClient::OnTimer() {
  const absl::Time now = absl::Now();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    std::function<void()> fn = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    fn();  // may add timers
  }
  ArmTimer();
}

void RedisClient::Stop() {
  for (auto& c : connections_) {
    c->state = Connection::State::kDown;
    if (c->ac != nullptr) redisAsyncFree(std::exchange(c->ac, nullptr));
  }
  std::deque<std::unique_ptr<Pending>> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(submitted_);
  }
  for (auto& pending : left) {
    Finish(*pending, absl::UnavailableError("redis client stopped"),
           "unavailable");
  }
  // What waits on a timer runs now; its commands fail at once.
  while (!timers_.empty()) {
    std::function<void()> fn = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    fn();
  }
  ready_connections_ = 0;
  event_base_loopbreak(base_);
}

}  // namespace idgate
