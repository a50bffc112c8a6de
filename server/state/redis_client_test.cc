// RedisClient against a real redis-server on a free loopback port.
#include "server/state/redis_client.h"

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/state/testing/redis_server.h"

namespace idgate {
namespace {

using ::idgate::testing::RedisServer;
using ::testing::HasSubstr;

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(redis_.Start().ok()); }

  std::unique_ptr<RedisClient> Client(RedisClient::Options o = {}) {
    o.host = "127.0.0.1";
    o.port = redis_.port();
    o.on_command = [this](absl::Duration, absl::string_view kind) {
      if (!kind.empty()) {
        std::lock_guard<std::mutex> lock(mu_);
        errors_.push_back(std::string(kind));
      }
    };
    o.on_availability = [this](bool available, absl::string_view) {
      std::lock_guard<std::mutex> lock(mu_);
      availability_.push_back(available);
    };
    auto client = RedisClient::Start(std::move(o));
    EXPECT_TRUE(client.ok());
    return std::move(*client);
  }

  // Runs one command and waits for its answer (bounded).
  static absl::StatusOr<RedisReply> Run(RedisClient& client,
                                        std::vector<std::string> args) {
    absl::StatusOr<RedisReply> result = absl::UnknownError("no answer");
    absl::Notification done;
    client.Command(std::move(args), [&](absl::StatusOr<RedisReply> r) {
      result = std::move(r);
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
    return result;
  }

  static bool WaitAvailable(RedisClient& client, bool available) {
    const absl::Time until = absl::Now() + absl::Seconds(10);
    while (client.available() != available && absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    return client.available() == available;
  }

  std::vector<std::string> Errors() {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_;
  }
  std::vector<bool> Availability() {
    std::lock_guard<std::mutex> lock(mu_);
    return availability_;
  }

  RedisServer redis_;
  std::mutex mu_;
  std::vector<std::string> errors_;
  std::vector<bool> availability_;
};

TEST_F(RedisClientTest, CommandsAndRepliesOfEveryType) {
  auto client = Client();
  ASSERT_TRUE(WaitAvailable(*client, true));
  auto set = Run(*client, {"SET", "k", std::string("a\0b", 3)});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->type, RedisReply::Type::kStatus);
  EXPECT_EQ(set->str, "OK");
  auto get = Run(*client, {"GET", "k"});
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->str, std::string("a\0b", 3));  // binary-safe
  EXPECT_EQ(Run(*client, {"GET", "absent"})->type, RedisReply::Type::kNil);
  EXPECT_EQ(Run(*client, {"INCRBY", "n", "41"})->integer, 41);
  auto list = Run(*client, {"MGET", "n", "absent"});
  ASSERT_EQ(list->elements.size(), 2u);
  EXPECT_EQ(list->elements[0].str, "41");
  auto error = Run(*client, {"INCR", "k"});
  EXPECT_EQ(error.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(error.status().message(), HasSubstr("not an integer"));
  EXPECT_EQ(Errors(), std::vector<std::string>{"reply"});
}

TEST_F(RedisClientTest, ManyThreadsPipelineOverFewConnections) {
  RedisClient::Options o;
  o.connections = 2;
  auto client = Client(o);
  ASSERT_TRUE(WaitAvailable(*client, true));
  constexpr int kThreads = 4, kEach = 2500;
  std::atomic<int> ok{0};
  absl::Notification all_done;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        client->Command({"INCR", "counter"}, [&](absl::StatusOr<RedisReply> r) {
          if (r.ok()) ++ok;
          if (ok.load() == kThreads * kEach) all_done.Notify();
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(Run(*client, {"GET", "counter"})->str,
            std::to_string(kThreads * kEach));
}

TEST_F(RedisClientTest, PasswordAndDatabase) {
  ASSERT_TRUE(redis_.Start("--requirepass s3cret").ok());
  RedisClient::Options o;
  o.password = "s3cret";
  o.database = 3;
  auto client = Client(o);
  ASSERT_TRUE(WaitAvailable(*client, true));
  ASSERT_TRUE(Run(*client, {"SET", "in3", "x"}).ok());
  EXPECT_THAT(redis_.Cli("-a s3cret --no-auth-warning -n 3 get in3"),
              HasSubstr("x"));

  RedisClient::Options wrong;
  wrong.password = "nope";
  auto refused = Client(wrong);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_FALSE(refused->available());
  EXPECT_EQ(Run(*refused, {"PING"}).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(RedisClientTest, DownAtStartThenUpThenDownAgain) {
  redis_.Kill();
  RedisClient::Options o;
  o.min_backoff = absl::Milliseconds(10);
  o.max_backoff = absl::Milliseconds(50);
  auto client = Client(o);
  // Fails fast while nothing is up: no connection to wait on.
  const absl::Time start = absl::Now();
  EXPECT_EQ(Run(*client, {"PING"}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  ASSERT_TRUE(redis_.Start().ok());
  ASSERT_TRUE(WaitAvailable(*client, true));
  EXPECT_TRUE(Run(*client, {"PING"}).ok());
  redis_.Kill();
  ASSERT_TRUE(WaitAvailable(*client, false));
  EXPECT_EQ(Run(*client, {"PING"}).status().code(),
            absl::StatusCode::kUnavailable);
  ASSERT_TRUE(redis_.Start().ok());
  ASSERT_TRUE(WaitAvailable(*client, true));
  // One event per change, the first failure to connect included.
  EXPECT_EQ(Availability(), (std::vector<bool>{false, true, false, true}));
}

TEST_F(RedisClientTest, ACommandWithoutAnswerTimesOutAndTheClientRecovers) {
  RedisClient::Options o;
  o.command_timeout = absl::Milliseconds(100);
  o.connect_timeout = absl::Milliseconds(200);
  o.min_backoff = absl::Milliseconds(10);
  auto client = Client(o);
  ASSERT_TRUE(WaitAvailable(*client, true));
  redis_.Pause();  // connections stay open; nothing answers
  const absl::Time start = absl::Now();
  auto stalled = Run(*client, {"PING"});
  EXPECT_EQ(stalled.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(stalled.status().message(), HasSubstr("no answer within"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_THAT(Errors(), ::testing::Contains("timeout"));
  redis_.Resume();
  ASSERT_TRUE(WaitAvailable(*client, true));
  EXPECT_TRUE(Run(*client, {"PING"}).ok());
}

TEST_F(RedisClientTest, ScriptsReloadAfterTheServerForgetsThem) {
  auto client = Client();
  ASSERT_TRUE(WaitAvailable(*client, true));
  const RedisScript script("return {KEYS[1], ARGV[1]}");
  auto run = [&] {
    absl::StatusOr<RedisReply> result = absl::UnknownError("none");
    absl::Notification done;
    client->Eval(script, {"key"}, {"arg"}, [&](absl::StatusOr<RedisReply> r) {
      result = std::move(r);
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
    return result;
  };
  auto first = run();  // EVALSHA: NOSCRIPT, then EVAL
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->elements.size(), 2u);
  EXPECT_EQ(first->elements[1].str, "arg");
  EXPECT_THAT(redis_.Cli("script exists " + script.sha1()), HasSubstr("1"));
  ASSERT_TRUE(run().ok());  // EVALSHA alone
  redis_.Cli("script flush");
  EXPECT_TRUE(run().ok());
}

// After a failover the old primary may live on as a replica: its "READONLY"
// answers drop the connection, so that the client reconnects to whatever
// the address names now instead of failing every write on it.
TEST_F(RedisClientTest, AReadOnlyReplicaIsLeftForTheCurrentPrimary) {
  RedisServer replica;
  ASSERT_TRUE(replica.Start("--replicaof 127.0.0.1 1").ok());
  RedisClient::Options o;
  o.host = "127.0.0.1";
  o.port = replica.port();
  o.connections = 1;
  o.min_backoff = absl::Seconds(5);  // stays down long enough to see it
  std::atomic<int> downs{0};
  o.on_availability = [&downs](bool available, absl::string_view cause) {
    if (!available && absl::StrContains(cause, "READONLY")) ++downs;
  };
  auto client = std::move(*RedisClient::Start(std::move(o)));
  ASSERT_TRUE(WaitAvailable(*client, true));
  EXPECT_TRUE(Run(*client, {"GET", "k"}).ok());  // reads are served
  auto write = Run(*client, {"SET", "k", "v"});
  EXPECT_EQ(write.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(write.status().message(), HasSubstr("READONLY"));
  ASSERT_TRUE(WaitAvailable(*client, false));
  EXPECT_EQ(downs.load(), 1);
}

TEST_F(RedisClientTest, StoppingFailsWhatIsPending) {
  RedisClient::Options o;
  o.command_timeout = absl::Seconds(30);
  auto client = Client(o);
  ASSERT_TRUE(WaitAvailable(*client, true));
  redis_.Pause();
  absl::StatusOr<RedisReply> result = absl::UnknownError("none");
  absl::Notification done;
  client->Command({"PING"}, [&](absl::StatusOr<RedisReply> r) {
    result = std::move(r);
    done.Notify();
  });
  absl::SleepFor(absl::Milliseconds(50));
  client.reset();
  ASSERT_TRUE(done.HasBeenNotified());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  redis_.Resume();
}

}  // namespace
}  // namespace idgate
