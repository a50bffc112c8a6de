// RedisAdmissionStore against a real redis-server: the claim, replays,
// duplicates in flight, leases, limits, and failing closed.
#include "server/state/redis_admission_store.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "core/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/state/testing/redis_server.h"

namespace idgate {
namespace {

namespace cfg = ::idgate::config::v1;
using ::idgate::testing::RedisServer;
using ::testing::HasSubstr;
using Kind = AdmissionGrant::Kind;

::idgate::v1::VerifyResponse Answer(const std::string& provider) {
  ::idgate::v1::VerifyResponse r;
  r.set_provider(provider);
  r.set_verdict(::idgate::v1::VERDICT_MATCH);
  auto* receipt = r.add_disclosures();
  receipt->set_disclosure_id("d-1");
  receipt->add_fields(::idgate::v1::PII_FIELD_NAME);
  return r;
}

class RedisAdmissionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    Open();
  }

  void Open(RedisAdmissionStore::Options o = {}) {
    store_.reset();
    client_.reset();
    RedisClient::Options c;
    c.host = "127.0.0.1";
    c.port = redis_.port();
    c.command_timeout = absl::Milliseconds(300);
    c.min_backoff = absl::Milliseconds(10);
    c.max_backoff = absl::Milliseconds(50);
    client_ = std::move(*RedisClient::Start(c));
    const absl::Time until = absl::Now() + absl::Seconds(10);
    while (!client_->available() && absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    o.on_fallback = [this] { ++fallbacks_; };
    store_ = std::make_unique<RedisAdmissionStore>(*client_, o);
  }

  AdmissionAsk Ask(const std::string& request_id,
                   const std::string& fingerprint = "fp",
                   const std::string& subject = "s1",
                   const std::string& contact = "m1") {
    AdmissionAsk ask;
    ask.caller = "esign";
    ask.request_id = request_id;
    ask.fingerprint = fingerprint;
    ask.use = {subject, cfg::CHECK_CARRIER_THREE_FACTOR, contact};
    ask.deadline = absl::Now() + absl::Seconds(5);
    return ask;
  }

  // An Admit whose answer may come later (a duplicate waiting).
  struct PendingAdmit {
    AdmissionGrant grant;
    absl::Notification done;
  };
  std::unique_ptr<PendingAdmit> AdmitLater(const AdmissionAsk& ask) {
    auto pending = std::make_unique<PendingAdmit>();
    store_->Admit(ask, [p = pending.get()](AdmissionGrant g) {
      p->grant = std::move(g);
      p->done.Notify();
    });
    return pending;
  }

  // Admit, waiting (bounded) for the grant.
  AdmissionGrant Admit(const AdmissionAsk& ask) {
    std::unique_ptr<PendingAdmit> pending = AdmitLater(ask);
    EXPECT_TRUE(
        pending->done.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return std::move(pending->grant);
  }

  // Complete, then a round trip, so that it has been applied.
  void Complete(const std::string& request_id, const VerifyResult& result,
                bool remember) {
    store_->Complete("esign", request_id, result, remember);
    absl::Notification done;
    client_->Command({"PING"},
                     [&](absl::StatusOr<RedisReply>) { done.Notify(); });
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  }

  RedisServer redis_;
  std::unique_ptr<RedisClient> client_;
  std::unique_ptr<RedisAdmissionStore> store_;
  std::atomic<int> fallbacks_{0};
};

TEST_F(RedisAdmissionStoreTest, ClaimThenReplayThenConflict) {
  EXPECT_EQ(Admit(Ask("r1")).kind, Kind::kAdmitted);
  Complete("r1", Answer("carrier_mock"), /*remember=*/true);
  auto replay = Admit(Ask("r1"));
  ASSERT_EQ(replay.kind, Kind::kAnswered);
  ASSERT_TRUE(replay.answer.ok()) << replay.answer.status();
  EXPECT_EQ(replay.answer->SerializeAsString(),
            Answer("carrier_mock").SerializeAsString());
  auto conflict = Admit(Ask("r1", "another-fp"));
  EXPECT_EQ(conflict.kind, Kind::kAnswered);
  EXPECT_EQ(conflict.answer.status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(RedisAdmissionStoreTest, AStoredErrorReplaysWithItsPayloads) {
  ASSERT_EQ(Admit(Ask("r1")).kind, Kind::kAdmitted);
  absl::Status sent_then_timed_out =
      absl::DeadlineExceededError("provider did not answer in time");
  sent_then_timed_out.SetPayload("type.example/x", absl::Cord("payload"));
  Complete("r1", sent_then_timed_out, true);
  auto replay = Admit(Ask("r1"));
  EXPECT_EQ(replay.answer.status(), sent_then_timed_out);
}

TEST_F(RedisAdmissionStoreTest, ADuplicateInFlightWaitsForTheFirstAnswer) {
  ASSERT_EQ(Admit(Ask("r1")).kind, Kind::kAdmitted);
  std::unique_ptr<PendingAdmit> waiting = AdmitLater(Ask("r1"));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(waiting->done.HasBeenNotified());  // still waiting
  Complete("r1", Answer("bank_mock"), true);
  ASSERT_TRUE(waiting->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_EQ(waiting->grant.kind, Kind::kAnswered);
  EXPECT_EQ(waiting->grant.answer->provider(), "bank_mock");
}

TEST_F(RedisAdmissionStoreTest, AFreedClaimLetsTheWaitingDuplicateRun) {
  ASSERT_EQ(Admit(Ask("r1")).kind, Kind::kAdmitted);
  std::unique_ptr<PendingAdmit> waiting = AdmitLater(Ask("r1"));
  absl::SleepFor(absl::Milliseconds(50));
  // The first disclosed nothing (the ledger failed, say): its claim goes.
  Complete("r1", absl::UnavailableError("ledger"), /*remember=*/false);
  ASSERT_TRUE(waiting->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(waiting->grant.kind, Kind::kAdmitted);
}

TEST_F(RedisAdmissionStoreTest, AWaitEndsAtTheCallersDeadline) {
  ASSERT_EQ(Admit(Ask("r1")).kind, Kind::kAdmitted);
  AdmissionAsk impatient = Ask("r1");
  impatient.deadline = absl::Now() + absl::Milliseconds(200);
  auto grant = Admit(impatient);
  EXPECT_EQ(grant.kind, Kind::kAnswered);
  EXPECT_EQ(grant.answer.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(RedisAdmissionStoreTest, AClaimWhoseReplicaDiedIsNeverSentAgain) {
  RedisAdmissionStore::Options o;
  o.lease_margin = absl::Milliseconds(100);
  Open(o);
  AdmissionAsk first = Ask("r1");
  first.deadline = absl::Now() + absl::Milliseconds(100);
  ASSERT_EQ(Admit(first).kind, Kind::kAdmitted);
  // Its replica dies: no Complete. After the lease, retries learn it.
  absl::SleepFor(absl::Milliseconds(300));
  auto retry = Admit(Ask("r1"));
  ASSERT_EQ(retry.kind, Kind::kAnswered);
  EXPECT_EQ(retry.answer.status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(retry.answer.status()), "REQUEST_ID_INTERRUPTED");
  EXPECT_EQ(Admit(Ask("r1")).answer.status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(RedisAdmissionStoreTest, CallerTokenBucketWithRetryDelay) {
  RedisAdmissionStore::Options o;
  auto* caller = o.callers.add_callers();
  caller->set_id("esign");
  caller->set_rate_per_second(2);
  caller->set_burst(3);
  Open(o);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Admit(Ask("r" + std::to_string(i))).kind, Kind::kAdmitted);
  }
  auto limited = Admit(Ask("r9"));
  ASSERT_EQ(limited.kind, Kind::kRefused);
  EXPECT_EQ(limited.refusal, "rate_limit");
  EXPECT_EQ(limited.answer.status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_GT(RetryDelay(limited.answer.status()), absl::ZeroDuration());
  EXPECT_LE(RetryDelay(limited.answer.status()), absl::Milliseconds(500));
  absl::SleepFor(absl::Milliseconds(600));  // a token back at 2/s
  EXPECT_EQ(Admit(Ask("r10")).kind, Kind::kAdmitted);
}

TEST_F(RedisAdmissionStoreTest, SubjectLimitsCountCallsAndDistinctContacts) {
  RedisAdmissionStore::Options o;
  o.subject_limits.set_max_calls_per_check_per_day(3);
  o.subject_limits.set_max_distinct_contacts_per_day(2);
  Open(o);
  EXPECT_EQ(Admit(Ask("a", "fp", "s1", "m1")).kind, Kind::kAdmitted);
  EXPECT_EQ(Admit(Ask("b", "fp", "s1", "m2")).kind, Kind::kAdmitted);
  auto third_contact = Admit(Ask("c", "fp", "s1", "m3"));
  ASSERT_EQ(third_contact.kind, Kind::kRefused);
  EXPECT_EQ(third_contact.refusal, "subject_limit");
  EXPECT_EQ(ReasonOf(third_contact.answer.status()), "SUBJECT_LIMIT");
  EXPECT_THAT(third_contact.answer.status().message(),
              HasSubstr("different contacts"));
  // A refused request claims nothing: the key is free for a corrected retry.
  EXPECT_EQ(Admit(Ask("c", "fp", "s1", "m1")).kind, Kind::kAdmitted);
  auto fourth_call = Admit(Ask("d", "fp", "s1", "m1"));
  EXPECT_EQ(fourth_call.refusal, "subject_limit");
  EXPECT_THAT(fourth_call.answer.status().message(),
              HasSubstr("daily verification limit"));
  // Another subject is unaffected; the day's keys expire after the day.
  EXPECT_EQ(Admit(Ask("e", "fp", "s2", "m3")).kind, Kind::kAdmitted);
  const std::string keys = redis_.Cli("--scan --pattern 'idgate:subject:*'");
  ASSERT_THAT(keys, HasSubstr(":calls:s1"));
  const std::string calls_key = keys.substr(0, keys.find('\n'));
  const int64_t ttl = std::stoll(redis_.Cli("ttl " + calls_key));
  EXPECT_GT(ttl, 3600);
  EXPECT_LE(ttl, 25 * 3600);
}

TEST_F(RedisAdmissionStoreTest,
       UnreachableRedisFailsClosedWithALocalCallerLimit) {
  RedisAdmissionStore::Options o;
  auto* caller = o.callers.add_callers();
  caller->set_id("esign");
  caller->set_rate_per_second(0.001);
  caller->set_burst(2);
  o.expected_replicas = 2;
  Open(o);
  redis_.Kill();
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (client_->available() && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  // Fails closed: UNAVAILABLE, nothing admitted.
  auto down = Admit(Ask("r1"));
  ASSERT_EQ(down.kind, Kind::kAnswered);
  EXPECT_EQ(down.answer.status().code(), absl::StatusCode::kUnavailable);
  // The fallback bucket (burst 2, this replica's share of the rate) still
  // refuses a caller over its limit.
  Admit(Ask("r2"));
  auto limited = Admit(Ask("r3"));
  EXPECT_EQ(limited.kind, Kind::kRefused);
  EXPECT_EQ(limited.refusal, "rate_limit");
  EXPECT_EQ(fallbacks_.load(), 3);
  ASSERT_TRUE(redis_.Start().ok());
  const absl::Time back = absl::Now() + absl::Seconds(10);
  while (!client_->available() && absl::Now() < back) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(Admit(Ask("r4")).kind, Kind::kAdmitted);
}

TEST_F(RedisAdmissionStoreTest, RememberedRequestsReplayOnThisReplica) {
  const absl::Status sent_before = absl::FailedPreconditionError("before");
  store_->Remember("esign", "old", sent_before, absl::Now());
  auto grant = Admit(Ask("old", "any-fp"));
  EXPECT_EQ(grant.kind, Kind::kAnswered);
  EXPECT_EQ(grant.answer.status(), sent_before);
  EXPECT_EQ(redis_.Cli("dbsize"), "0\n");  // decided here, not in Redis
}

TEST_F(RedisAdmissionStoreTest, WhatRedisHoldsWinsOverTheRememberedAnswer) {
  // Answered before this replica restarted; Redis still has the answer:
  // the retry gets it here too, as on every other replica.
  ASSERT_EQ(Admit(Ask("r1")).kind, Kind::kAdmitted);
  Complete("r1", Answer("carrier_mock"), /*remember=*/true);
  const absl::Status sent_before = absl::FailedPreconditionError("before");
  store_->Remember("esign", "r1", sent_before, absl::Now());
  store_->Remember("esign", "r2", sent_before, absl::Now());
  auto replay = Admit(Ask("r1"));
  ASSERT_EQ(replay.kind, Kind::kAnswered);
  ASSERT_TRUE(replay.answer.ok()) << replay.answer.status();
  EXPECT_EQ(replay.answer->provider(), "carrier_mock");
  // Redis unreachable: the ledger's rule still answers, nothing is claimed.
  redis_.Kill();
  auto down = Admit(Ask("r2"));
  EXPECT_EQ(down.kind, Kind::kAnswered);
  EXPECT_EQ(down.answer.status(), sent_before);
  EXPECT_EQ(fallbacks_.load(), 0);
}

TEST_F(RedisAdmissionStoreTest, AnswersRoundTripThroughTheirEncoding) {
  absl::Status limited =
      RateLimited("caller rate limit exceeded", absl::Milliseconds(1500));
  EXPECT_EQ(DecodeAnswer(EncodeAnswer(limited)).status(), limited);
  EXPECT_EQ(DecodeAnswer(EncodeAnswer(Answer("x")))->SerializeAsString(),
            Answer("x").SerializeAsString());
  EXPECT_EQ(DecodeAnswer("\xff\xff").status().code(),
            absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace idgate
