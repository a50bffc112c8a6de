// Replicas (issue 23, item 7): three real `idgate` processes, each with its
// own state directory and port and the same config (but for its ledger's
// name, as in the chart's StatefulSet), sharing one real
// redis-server (sharedState.redis) and one set of mock providers (every
// provider of the dev config points at one MockServer, so each kind's
// request count is one number). What README.md ("State shared by replicas")
// promises across replicas, checked from outside:
//  1. 50 concurrent duplicates spread over the three: one provider call, one
//     ledger intent, one answer for all;
//  2. a request id reused with another body on another replica: conflict;
//  3. the daily subject limit and the enumeration guard hold at their
//     configured numbers across replicas and across a restart of all three;
//  4. Redis killed under load: no provider call without a claim, UNAVAILABLE
//     meanwhile, service back within a bounded time once Redis is;
//  5. Redis restarted empty: the restarted replica's ledger rule still holds
//     (and with Redis intact, a restarted replica replays the stored answer);
//  6. a replica killed mid-call: a retry elsewhere waits out the claim's
//     lease, then REQUEST_ID_INTERRUPTED, never a second provider call;
//  7. nothing personal in any key or value in Redis;
//  8. one audit over the three ledgers (idgate-audit, issue 24): the sharing
//     table counts every disclosure made through the three, the subject
//     report holds a person's from all three; `idgate-audit pull` mirrors
//     the three running replicas, and refuses one whose ledger was tampered.
//
// IDGATE_REPLICAS_IN_MEMORY=1 runs the same tests without sharedState (each
// replica in memory): a way to see that they catch the shared state
// breaking. Every test but 5 (each replica's own ledger rule) fails then.
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/digest.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "idgate/ledger/v1/audit.pb.h"
#include "server/state/testing/redis_server.h"
#include "tests/faults/fault_testing.h"
#include "tests/integration/harness.h"

namespace idgate::testing {
namespace {

namespace v1 = ::idgate::v1;

constexpr int kReplicas = 3;
constexpr char kCaller[] = "esign-platform";

bool InMemory() {
  const char* v = std::getenv("IDGATE_REPLICAS_IN_MEMORY");
  return v != nullptr && std::string(v) == "1";
}

// The idgate.v1.ErrorReason of a refusal, "" when it has none.
std::string ReasonOf(const grpc::Status& status) {
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return "";
  for (const auto& any : details.details()) {
    v1::ErrorReason reason;
    if (any.UnpackTo(&reason)) return reason.reason();
  }
  return "";
}

std::vector<std::string> DisclosureIds(const v1::VerifyResponse& r) {
  std::vector<std::string> ids;
  for (const auto& d : r.disclosures()) ids.push_back(d.disclosure_id());
  return ids;
}

std::string Describe(const grpc::Status& st) {
  return absl::StrCat("code ", st.error_code(), " (", ReasonOf(st), ") ",
                      st.error_message());
}

class Replicas : public ::testing::Test {
 protected:
  // Redis, the mocks (`behaviours` by kind; the other kinds answer at
  // once), the config (`edit`ed) and the three replicas.
  void StartAll(std::map<std::string, cfg::MockBehaviour> behaviours = {},
                const std::function<void(cfg::GatewayConfig&)>& edit = {}) {
    ASSERT_TRUE(redis_.Start().ok());
    mocks_ = MockServer::Start(std::move(behaviours));
    ASSERT_NE(mocks_, nullptr);
    cfg::GatewayConfig c = DevConfigAbsolute();
    for (const char* p :
         {"carrier_mock", "bank_mock", "alipay_mock", "cfca_mock"}) {
      UseAddress(c, p, mocks_->address());
    }
    if (!InMemory()) {
      auto* r = c.mutable_shared_state()->mutable_redis();
      r->set_address(redis_.address());
      r->set_expected_replicas(kReplicas);
      // Above the default 200 ms: a test machine shared with builds must
      // not turn a slow reply into an UNAVAILABLE the test did not cause.
      r->mutable_command_timeout()->set_seconds(1);
    }
    if (edit) edit(c);
    for (int i = 0; i < kReplicas; ++i) {
      c.mutable_ledger()->set_name(LedgerName(i));
      const std::string config = dir_.Join(absl::StrCat("config-", i, ".json"));
      WriteFile(config, ConfigJson(c));
      GatewayProcess::Options o;
      o.config_path = config;
      o.state_dir = StateDir(i);
      o.log_path = dir_.Join(absl::StrCat("idgate-", i, ".log"));
      gateways_.push_back(std::make_unique<GatewayProcess>(o));
    }
    StartReplicas();
  }

  // Starts every replica that is not running. One after the other:
  // Subprocess::Start's dup() of the log pipe is not close-on-exec, so
  // children forked at the same time would hold each other's pipe open and
  // Subprocess::Wait would wait for its EOF forever.
  void StartReplicas() {
    for (int i = 0; i < kReplicas; ++i) {
      if (gateways_[i]->running()) continue;
      const absl::Status st = gateways_[i]->Start(Slack(absl::Seconds(20)));
      ASSERT_TRUE(st.ok()) << "replica " << i << ": " << st;
    }
  }

  // SIGTERM to every replica; each exits cleanly.
  void StopReplicas() {
    for (int i = 0; i < kReplicas; ++i) {
      if (gateways_[i]->running()) {
        EXPECT_EQ(gateways_[i]->Terminate(Slack(absl::Seconds(30))), 0)
            << "replica " << i;
      }
    }
  }

  std::string StateDir(int i) const {
    return dir_.Join(absl::StrCat("state-", i));
  }
  static std::string LedgerName(int i) { return absl::StrCat("replica-", i); }

  // Every INTENT of the three ledgers (read once the replicas stopped).
  std::vector<LedgerRecord> AllIntents() const {
    std::vector<LedgerRecord> all;
    for (int i = 0; i < kReplicas; ++i) {
      for (auto& r : SummarizeLedger(StateDir(i) + "/ledger").intents) {
        all.push_back(std::move(r));
      }
    }
    return all;
  }

  grpc::Status Call(int replica, const v1::VerifyRequest& request,
                    v1::VerifyResponse* response = nullptr,
                    absl::Duration timeout = absl::Seconds(10)) {
    v1::VerifyResponse ignored;
    return VerifyOn(gateways_[replica]->channel(), request,
                    response != nullptr ? response : &ignored, kCaller,
                    timeout);
  }

  // Requests every mock received, all kinds together.
  uint64_t ProviderRequests() const {
    uint64_t n = 0;
    for (const char* kind : {"carrier", "bank", "alipay", "cfca"}) {
      n += mocks_->stats(kind).requests;
    }
    return n;
  }

  // Waits (bounded) until `done` holds.
  static bool WaitFor(const std::function<bool()>& done, absl::Duration max) {
    const absl::Time until = absl::Now() + max;
    while (!done()) {
      if (absl::Now() >= until) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  // Declared first, destroyed last: the replicas go before the mocks and
  // Redis they use, the directory after all of them.
  ScratchDir dir_{"idgate-replicas"};
  RedisServer redis_;
  std::unique_ptr<MockServer> mocks_;
  std::vector<std::unique_ptr<GatewayProcess>> gateways_;  // SIGKILLed
};

// --- 1. Duplicates in flight on every replica.

TEST_F(Replicas,
       FiftyConcurrentDuplicatesOverThreeReplicasMakeOneProviderCall) {
  // Slow enough that the duplicates arrive while the first call runs.
  ASSERT_NO_FATAL_FAILURE(
      StartAll({{"carrier", Latency(absl::Milliseconds(300))}}));
  const v1::VerifyRequest request = CarrierRequest(AdultMatch(), "dup-1");
  constexpr int kCalls = 50;
  std::vector<grpc::Status> statuses(kCalls);
  std::vector<v1::VerifyResponse> responses(kCalls);
  std::mutex mu;
  std::condition_variable go;
  int ready = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      {
        std::unique_lock<std::mutex> lock(mu);
        ++ready;
        go.notify_all();
        go.wait(lock, [&] { return ready < 0; });
      }
      statuses[i] = Call(i % kReplicas, request, &responses[i]);
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    go.wait(lock, [&] { return ready == kCalls; });
    ready = -1;  // all at once
  }
  go.notify_all();
  for (auto& t : threads) t.join();

  int fresh = 0;
  std::set<std::vector<std::string>> answers;  // their disclosure ids
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(statuses[i].ok())
        << "call " << i << " on replica " << i % kReplicas << ": "
        << Describe(statuses[i]);
    EXPECT_EQ(responses[i].verdict(), v1::VERDICT_MATCH) << i;
    answers.insert(DisclosureIds(responses[i]));
    fresh += responses[i].replayed() ? 0 : 1;
  }
  EXPECT_EQ(answers.size(), 1u) << "every caller the same answer";
  EXPECT_EQ(DisclosureIds(responses[0]).size(), 1u);
  EXPECT_EQ(fresh, 1) << "all but one caller get the answer replayed";
  EXPECT_EQ(mocks_->stats("carrier").requests, 1u);
  EXPECT_EQ(ProviderRequests(), 1u);

  StopReplicas();
  const auto intents = AllIntents();
  ASSERT_EQ(intents.size(), 1u) << "one intent in the three ledgers together";
  EXPECT_EQ(intents[0].request_id(), "dup-1");
  EXPECT_EQ(intents[0].disclosure_id(), DisclosureIds(responses[0]).at(0));
}

// --- 2. A request id reused for another request, on another replica.

TEST_F(Replicas, SameRequestIdWithAnotherBodyOnAnotherReplicaIsAConflict) {
  // Slow enough for a conflict to arrive while the first call runs.
  ASSERT_NO_FATAL_FAILURE(StartAll({{"carrier", Latency(absl::Seconds(1))}}));
  const v1::VerifyRequest first = CarrierRequest(AdultMatch(), "reused-1");
  TestPerson other_mobile = AdultMatch();
  other_mobile.mobile = "13800000099";
  const v1::VerifyRequest other = CarrierRequest(other_mobile, "reused-1");

  // While the first call runs on replica 0...
  grpc::Status first_status;
  v1::VerifyResponse first_response;
  std::thread in_flight(
      [&] { first_status = Call(0, first, &first_response); });
  const bool arrived =
      WaitFor([&] { return mocks_->stats("carrier").requests >= 1; },
              Slack(absl::Seconds(5)));
  const grpc::Status during = Call(1, other);
  const bool was_in_flight = mocks_->stats("carrier").in_flight == 1;
  in_flight.join();
  ASSERT_TRUE(arrived);
  EXPECT_TRUE(was_in_flight) << "the conflict came after the first answer";
  EXPECT_EQ(during.error_code(), grpc::StatusCode::ALREADY_EXISTS)
      << Describe(during);
  ASSERT_TRUE(first_status.ok()) << Describe(first_status);
  EXPECT_FALSE(first_response.replayed());

  // ... and after it answered.
  const grpc::Status after = Call(2, other);
  EXPECT_EQ(after.error_code(), grpc::StatusCode::ALREADY_EXISTS)
      << Describe(after);
  // The same body on another replica is a retry: the stored answer.
  v1::VerifyResponse retry;
  const grpc::Status retried = Call(1, first, &retry);
  ASSERT_TRUE(retried.ok()) << Describe(retried);
  EXPECT_TRUE(retry.replayed());
  EXPECT_EQ(DisclosureIds(retry), DisclosureIds(first_response));

  EXPECT_EQ(ProviderRequests(), 1u);
  StopReplicas();
  EXPECT_EQ(AllIntents().size(), 1u);
}

// --- 3. Subject limits across replicas and across a restart of all.

TEST_F(Replicas, SubjectLimitsHoldAcrossReplicasAndARestartOfAll) {
  ASSERT_NO_FATAL_FAILURE(StartAll({}, [](cfg::GatewayConfig& c) {
    auto* l = c.mutable_subject_limits();
    l->set_max_calls_per_check_per_day(3);
    l->set_max_distinct_contacts_per_day(2);
  }));
  int next_id = 0;
  auto id = [&next_id] { return absl::StrCat("limit-", next_id++); };
  // Answered (whatever the verdict), and it reached the provider.
  auto allowed = [&](int replica, const v1::VerifyRequest& request) {
    const uint64_t before = ProviderRequests();
    const grpc::Status st = Call(replica, request);
    EXPECT_TRUE(st.ok()) << "replica " << replica << " " << request.request_id()
                         << ": " << Describe(st);
    EXPECT_EQ(ProviderRequests(), before + 1) << request.request_id();
  };
  // RESOURCE_EXHAUSTED SUBJECT_LIMIT by the limit named in `why`, and no
  // provider call.
  constexpr char kCalls[] = "daily verification limit";
  constexpr char kContacts[] = "too many different contacts";
  auto refused = [&](int replica, const v1::VerifyRequest& request,
                     const char* why) {
    const uint64_t before = ProviderRequests();
    const grpc::Status st = Call(replica, request);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << "replica " << replica << " " << request.request_id() << ": "
        << Describe(st);
    EXPECT_EQ(ReasonOf(st), "SUBJECT_LIMIT") << request.request_id();
    EXPECT_TRUE(absl::StrContains(st.error_message(), why))
        << request.request_id() << ": " << st.error_message();
    EXPECT_EQ(ProviderRequests(), before) << request.request_id();
  };

  // The daily limit: 3 carrier checks of one subject, one per replica.
  const TestPerson counted = AdultMatch();
  for (int r = 0; r < kReplicas; ++r) allowed(r, CarrierRequest(counted, id()));
  for (int r = 0; r < kReplicas; ++r) {
    refused(r, CarrierRequest(counted, id()), kCalls);
  }

  // The enumeration guard: 2 distinct contacts, mobiles and cards together.
  const TestPerson guarded = CardLost();
  TestPerson new_mobile = guarded;
  new_mobile.mobile = "13900000050";
  TestPerson new_card = guarded;
  new_card.card = "6228480000000000042";      // another Luhn-valid card
  allowed(0, CarrierRequest(guarded, id()));  // contact 1: a mobile
  allowed(1, BankRequest(guarded, id()));     // contact 2: a card
  refused(2, CarrierRequest(new_mobile, id()), kContacts);
  refused(0, BankRequest(new_card, id()), kContacts);
  allowed(2, CarrierRequest(guarded, id()));  // a known contact: 2nd call

  // Every replica restarted: the counts are Redis's, not a process's.
  StopReplicas();
  ASSERT_NO_FATAL_FAILURE(StartReplicas());
  for (int r = 0; r < kReplicas; ++r) {
    refused(r, CarrierRequest(counted, id()), kCalls);
  }
  refused(1, CarrierRequest(new_mobile, id()), kContacts);
  refused(2, BankRequest(new_card, id()), kContacts);
  // `guarded` made 2 carrier checks before the restart: exactly one more.
  allowed(0, CarrierRequest(guarded, id()));
  refused(1, CarrierRequest(guarded, id()), kCalls);

  EXPECT_EQ(mocks_->stats("carrier").requests, 3u + 3u);
  EXPECT_EQ(mocks_->stats("bank").requests, 1u);
  StopReplicas();
  EXPECT_EQ(AllIntents().size(), 7u);
}

// --- 4. Redis killed under load, then back.

struct Answered {
  std::string request_id;
  int replica = 0;
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;
  absl::Time start, end;
};

TEST_F(Replicas, RedisKilledUnderLoadNeverSendsWithoutAClaimAndServiceReturns) {
  cfg::MockBehaviour quick = Latency(absl::Milliseconds(10));
  ASSERT_NO_FATAL_FAILURE(StartAll(
      {{"carrier", quick}, {"bank", quick}}, [](cfg::GatewayConfig& c) {
        // Many calls for few synthetic people.
        c.mutable_subject_limits()->set_max_calls_per_check_per_day(0);
        c.mutable_subject_limits()->set_max_distinct_contacts_per_day(0);
      }));
  constexpr int kClients = 6;
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<Answered> answers;  // guarded by mu
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      const std::vector<TestPerson> people = {AdultMatch(), CardLost()};
      for (int n = 0; !stop; ++n) {
        Answered a;
        a.request_id = absl::StrCat("load-", t, "-", n);
        a.replica = (t + n) % kReplicas;
        const TestPerson& p = people[n % people.size()];
        const v1::VerifyRequest request = n % 3 == 2
                                              ? BankRequest(p, a.request_id)
                                              : CarrierRequest(p, a.request_id);
        a.start = absl::Now();
        const grpc::Status st =
            Call(a.replica, request, nullptr, absl::Seconds(3));
        a.end = absl::Now();
        a.code = st.error_code();
        a.message = st.error_message();
        if (!st.ok()) absl::SleepFor(absl::Milliseconds(5));
        std::lock_guard<std::mutex> lock(mu);
        answers.push_back(std::move(a));
      }
    });
  }
  auto ok_since = [&](absl::Time t, int replica) {
    std::lock_guard<std::mutex> lock(mu);
    int n = 0;
    for (const auto& a : answers) {
      n += a.code == grpc::StatusCode::OK && a.start >= t &&
           (replica < 0 || a.replica == replica);
    }
    return n;
  };

  const absl::Time begin = absl::Now();
  const bool warmed = WaitFor([&] { return ok_since(begin, -1) >= 100; },
                              Slack(absl::Seconds(10)));
  redis_.Kill();
  const absl::Time killed = absl::Now();
  absl::SleepFor(absl::Milliseconds(800));  // calls keep coming meanwhile
  std::vector<std::string> health;
  for (int r = 0; r < kReplicas; ++r) {
    health.push_back(HealthOf(gateways_[r]->channel()));
  }
  const absl::Time restarting = absl::Now();
  const absl::Status restarted = redis_.Start();
  const absl::Time up = absl::Now();
  // Back on every replica: an OK for a call that started after Redis was.
  std::vector<absl::Duration> back(kReplicas, absl::InfiniteDuration());
  WaitFor(
      [&] {
        bool all = true;
        for (int r = 0; r < kReplicas; ++r) {
          if (back[r] == absl::InfiniteDuration() && ok_since(up, r) > 0) {
            back[r] = absl::Now() - up;
          }
          all &= back[r] != absl::InfiniteDuration();
        }
        return all;
      },
      Slack(absl::Seconds(8)));
  absl::SleepFor(absl::Milliseconds(200));
  stop = true;
  for (auto& t : clients) t.join();
  ASSERT_TRUE(warmed) << "no load before the kill";
  ASSERT_TRUE(restarted.ok()) << restarted;

  std::set<std::string> ok_ids, failed_ids;
  int during = 0, unavailable_during = 0, straddling = 0;
  std::map<int, int> codes;
  for (const auto& a : answers) {
    ++codes[a.code];
    (a.code == grpc::StatusCode::OK ? ok_ids : failed_ids).insert(a.request_id);
    straddling += a.start < killed && a.end > killed;
    if (a.start > killed && a.end < restarting) {
      ++during;
      if (a.code == grpc::StatusCode::UNAVAILABLE &&
          absl::StrContains(a.message, "nothing was sent")) {
        ++unavailable_during;
      }
    }
    // Redis lost fails closed, and only with UNAVAILABLE.
    EXPECT_TRUE(a.code == grpc::StatusCode::OK ||
                a.code == grpc::StatusCode::UNAVAILABLE)
        << a.request_id << ": code " << a.code << " " << a.message;
  }
  std::string summary;
  for (const auto& [code, n] : codes)
    absl::StrAppend(&summary, code, "=", n, " ");
  RecordProperty("answers_by_code", summary);
  std::printf("answers by gRPC code: %s; %d in flight at the kill\n",
              summary.c_str(), straddling);
  EXPECT_GT(during, 0) << "calls made while Redis was down";
  EXPECT_EQ(unavailable_during, during)
      << "every call while Redis was down fails UNAVAILABLE, nothing sent";
  for (int r = 0; r < kReplicas; ++r) {
    // Health stays SERVING: Redis is every replica's, not this one's fault.
    EXPECT_EQ(health[r], "SERVING") << "replica " << r;
    EXPECT_LE(back[r], Slack(absl::Seconds(6)))
        << "replica " << r << " serves again once Redis is back";
    std::printf("replica %d: back %s after Redis\n", r,
                absl::FormatDuration(back[r]).c_str());
    const std::string log = gateways_[r]->logs();
    EXPECT_TRUE(absl::StrContains(log, "\"shared_state_unavailable\""));
    EXPECT_TRUE(absl::StrContains(log, "\"shared_state_available\""));
  }

  // Every provider request is a request whose admission succeeded: as many
  // provider requests as intents, as many intents as OK answers, and the
  // same request ids; none for a request that failed.
  const uint64_t provider_requests = ProviderRequests();
  StopReplicas();
  const auto intents = AllIntents();
  std::multiset<std::string> intent_ids;
  for (const auto& r : intents) intent_ids.insert(r.request_id());
  EXPECT_EQ(provider_requests, intents.size());
  EXPECT_EQ(intents.size(), ok_ids.size());
  EXPECT_EQ(std::set<std::string>(intent_ids.begin(), intent_ids.end()),
            ok_ids);
  EXPECT_EQ(intent_ids.size(),
            std::set<std::string>(intent_ids.begin(), intent_ids.end()).size())
      << "a request id with two intents";
  for (const auto& id : failed_ids) {
    EXPECT_EQ(intent_ids.count(id), 0u) << id << " failed yet has an intent";
  }
  RecordProperty("provider_requests", static_cast<int>(provider_requests));
  RecordProperty("failed_calls", static_cast<int>(failed_ids.size()));
}

// --- 5. Redis restarted empty: the ledger's restart rule of each replica.

TEST_F(Replicas, RedisRestartedEmptyLeavesTheRestartedReplicasLedgerRule) {
  ASSERT_NO_FATAL_FAILURE(StartAll());
  v1::VerifyResponse answered;
  const v1::VerifyRequest request = CarrierRequest(AdultMatch(), "empty-1");
  const grpc::Status first = Call(0, request, &answered);
  ASSERT_TRUE(first.ok()) << Describe(first);

  redis_.Kill();
  ASSERT_TRUE(redis_.Start().ok());
  EXPECT_EQ(absl::StripAsciiWhitespace(redis_.Cli("dbsize")), "0");
  EXPECT_EQ(gateways_[0]->Terminate(Slack(absl::Seconds(30))), 0);
  ASSERT_NO_FATAL_FAILURE(StartReplicas());
  // Replica 0 is back on Redis: a new request runs (bounded wait for the
  // reconnect), so the refusal below is not Redis being unreachable.
  const bool serving = WaitFor(
      [&] {
        return Call(0, CarrierRequest(AdultMatch(), NextRequestId())).ok();
      },
      Slack(absl::Seconds(8)));
  ASSERT_TRUE(serving);
  const uint64_t before = ProviderRequests();

  const grpc::Status retry = Call(0, request);
  EXPECT_EQ(retry.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << Describe(retry);
  EXPECT_EQ(ReasonOf(retry), "REQUEST_ID_USED_BEFORE_RESTART");
  EXPECT_EQ(ProviderRequests(), before);
  // (A retry on replica 1 or 2 would reach the provider again: README,
  // "Redis restarted empty". Not asserted: it is the documented limit.)
}

// With Redis intact, a restarted replica answers retries as the others do:
// with the stored answer (its ledger's rule is for Redis lost).
TEST_F(Replicas, ARestartedReplicaReplaysTheStoredAnswerWhileRedisHasIt) {
  ASSERT_NO_FATAL_FAILURE(StartAll());
  v1::VerifyResponse answered;
  const v1::VerifyRequest request = CarrierRequest(AdultMatch(), "kept-1");
  const grpc::Status first = Call(0, request, &answered);
  ASSERT_TRUE(first.ok()) << Describe(first);
  EXPECT_EQ(gateways_[0]->Terminate(Slack(absl::Seconds(30))), 0);
  ASSERT_NO_FATAL_FAILURE(StartReplicas());

  for (int r : {1, 0}) {
    v1::VerifyResponse replay;
    grpc::Status retry;
    // Bounded wait for the restarted replica's connection to Redis.
    WaitFor(
        [&] {
          retry = Call(r, request, &replay);
          return retry.error_code() != grpc::StatusCode::UNAVAILABLE;
        },
        Slack(absl::Seconds(8)));
    ASSERT_TRUE(retry.ok()) << "replica " << r << ": " << Describe(retry);
    EXPECT_TRUE(replay.replayed()) << "replica " << r;
    EXPECT_EQ(DisclosureIds(replay), DisclosureIds(answered))
        << "replica " << r;
  }
  EXPECT_EQ(ProviderRequests(), 1u);
}

// --- 6. A replica killed with its claim in flight.

TEST_F(Replicas, AClaimWhoseReplicaDiedIsInterruptedAfterItsLease) {
  ASSERT_NO_FATAL_FAILURE(StartAll({{"carrier", Hang()}}));
  const v1::VerifyRequest request = CarrierRequest(AdultMatch(), "dies-1");
  constexpr absl::Duration kFirstDeadline = absl::Seconds(1);
  constexpr absl::Duration kLeaseMargin = absl::Seconds(5);  // README

  // Copied here: Kill9 below drops the process's own.
  const std::shared_ptr<grpc::Channel> channel = gateways_[0]->channel();
  const absl::Time t0 = absl::Now();
  grpc::Status first;
  std::thread in_flight([&] {
    v1::VerifyResponse ignored;
    first = VerifyOn(channel, request, &ignored, kCaller, kFirstDeadline);
  });
  // The provider holds the request; replica 0 dies before its deadline.
  const bool arrived =
      WaitFor([&] { return mocks_->stats("carrier").requests >= 1; },
              kFirstDeadline / 2);
  gateways_[0]->Kill9();
  const absl::Time killed = absl::Now();
  in_flight.join();
  ASSERT_TRUE(arrived) << "the first call did not reach the provider";
  ASSERT_LT(killed - t0, kFirstDeadline) << "killed after its deadline";
  EXPECT_NE(first.error_code(), grpc::StatusCode::OK);

  // A retry on replica 1 waits for the claim, then learns that it is lost.
  const grpc::Status retry = Call(1, request, nullptr, absl::Seconds(15));
  const absl::Duration waited = absl::Now() - t0;
  EXPECT_EQ(retry.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << Describe(retry);
  EXPECT_EQ(ReasonOf(retry), "REQUEST_ID_INTERRUPTED");
  EXPECT_GE(waited, kFirstDeadline + kLeaseMargin - absl::Milliseconds(50));
  EXPECT_LE(waited, kFirstDeadline + kLeaseMargin + Slack(absl::Seconds(2)));
  RecordProperty("retry_answered_after_ms",
                 static_cast<int>(absl::ToInt64Milliseconds(waited)));
  // Once is all: later retries anywhere get the same answer at once.
  const grpc::Status again = Call(2, request);
  EXPECT_EQ(ReasonOf(again), "REQUEST_ID_INTERRUPTED") << Describe(again);
  EXPECT_EQ(mocks_->stats("carrier").requests, 1u);
  EXPECT_EQ(ProviderRequests(), 1u);

  StopReplicas();
  const auto intents = AllIntents();
  ASSERT_EQ(intents.size(), 1u);
  EXPECT_EQ(intents[0].request_id(), "dies-1");
}

// --- 7. Nothing personal in Redis.

// Every key of the Redis server with its type, content and ttl, as one text.
// Counts the keys, those without an expiry, and the kinds of keys seen.
std::string DumpRedis(const RedisServer& redis, int* keys, int* forever,
                      std::set<std::string>* kinds) {
  std::string all;
  for (absl::string_view key :
       absl::StrSplit(redis.Cli("--scan"), '\n', absl::SkipEmpty())) {
    ++*keys;
    const std::string quoted = absl::StrCat("'", key, "'");
    const std::string type =
        std::string(absl::StripAsciiWhitespace(redis.Cli("type " + quoted)));
    std::string content;
    if (type == "hash") {
      content = redis.Cli("hgetall " + quoted);
    } else if (type == "set") {
      content = redis.Cli("smembers " + quoted);
    } else if (type == "string") {
      content = redis.Cli("get " + quoted);
    } else {
      ADD_FAILURE() << "a key of type " << type;
    }
    for (const char* kind :
         {":request:", ":calls:", ":contacts:", ":caller:"}) {
      if (absl::StrContains(key, kind)) kinds->insert(kind);
    }
    const std::string ttl = redis.Cli("ttl " + quoted);
    int64_t seconds = -1;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(ttl), &seconds) ||
        seconds <= 0) {
      ++*forever;
    }
    absl::StrAppend(&all, key, "\n", type, "\n", content, "\n", ttl, "\n");
  }
  return all;
}

TEST_F(Replicas, NoPersonalValueInAnyRedisKeyOrValue) {
  ASSERT_NO_FATAL_FAILURE(StartAll());
  const std::string face =
      ReadTestFile("config/testdata/faces/adult-match.jpg");
  ASSERT_FALSE(face.empty());
  const TestPerson bank_mismatch{"欧阳测试", "330106198802280486",
                                 "18600000004", "6228480000000000042"};
  const std::vector<TestPerson> people = {AdultMatch(), CardLost(),
                                          bank_mismatch};
  std::vector<v1::VerifyRequest> requests;
  for (const auto& p : people) {
    requests.push_back(CarrierRequest(p, NextRequestId()));
    requests.push_back(BankRequest(p, NextRequestId()));
  }
  requests.push_back(FaceRequest(AdultMatch(), face, NextRequestId()));
  std::vector<std::string> disclosure_ids;
  for (size_t i = 0; i < requests.size(); ++i) {
    v1::VerifyResponse r;
    const grpc::Status st = Call(i % kReplicas, requests[i], &r);
    ASSERT_TRUE(st.ok()) << requests[i].request_id() << ": " << Describe(st);
    for (auto& id : DisclosureIds(r)) disclosure_ids.push_back(id);
  }
  // A replay and a conflict on other replicas.
  ASSERT_TRUE(Call(1, requests[0]).ok());
  v1::VerifyRequest conflict = requests[0];
  conflict.mutable_carrier_three_factor()->set_mobile("13800000077");
  EXPECT_EQ(Call(2, conflict).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  StopReplicas();  // the last answers stored

  int keys = 0, forever = 0;
  std::set<std::string> kinds;
  const std::string dump = DumpRedis(redis_, &keys, &forever, &kinds);
  std::printf("redis: %d keys, %zu bytes dumped\n", keys, dump.size());
  RecordProperty("redis_keys", keys);
  if (InMemory()) return;
  // The scan sees what it should: records, subject counts and contacts,
  // and the answers in them (their disclosure ids, which are not personal).
  EXPECT_GE(keys, static_cast<int>(requests.size()));
  EXPECT_EQ(forever, 0) << "every key expires";
  EXPECT_EQ(kinds,
            (std::set<std::string>{":request:", ":calls:", ":contacts:"}));
  for (const auto& id : disclosure_ids) {
    EXPECT_FALSE(FindLeak(dump, {id}).empty()) << "answer " << id << " missing";
  }

  std::vector<std::string> values = {face, "13800000077"};
  for (const auto& p : people) {
    for (const std::string& v : {p.name, p.id_number, p.mobile, p.card}) {
      values.push_back(v);
    }
  }
  std::vector<std::string> secrets;
  for (const auto& v : values) {
    secrets.push_back(v);
    // A plain (unkeyed) hash is as good as the value: none either.
    secrets.push_back(absl::HexStringToBytes(Sha256Hex(v)));
    secrets.push_back(absl::HexStringToBytes(Sm3Hex(v)));
  }
  EXPECT_EQ(FindLeak(dump, secrets), "");
}

// --- 8. One audit over the three ledgers, and a mirror of each.

// Runs idgate-audit with `args`; its exit code, stdout in `out`.
int RunAudit(const std::vector<std::string>& args, const std::string& scratch,
             std::string* out) {
  ProcessOptions p;
  p.argv = {IDGATE_AUDIT_BIN};
  p.argv.insert(p.argv.end(), args.begin(), args.end());
  static int runs = 0;
  p.stdout_path = absl::StrCat(scratch, "/audit-", ++runs, ".out");
  p.stderr_path = absl::StrCat(scratch, "/audit-", runs, ".err");
  auto process = Subprocess::Start(p);
  if (!process.ok() || !(*process)->Wait(Slack(absl::Seconds(60)))) return -1;
  *out = ReadFileOrEmpty(p.stdout_path);
  if ((*process)->exit_code() != 0) {
    *out += ReadFileOrEmpty(p.stderr_path);
  }
  return (*process)->exit_code();
}

TEST_F(Replicas, OneAuditOverTheThreeLedgersAndAVerifiedMirrorOfEach) {
  ASSERT_NO_FATAL_FAILURE(StartAll({}, [](cfg::GatewayConfig& c) {
    auto* auditor = c.mutable_callers()->add_callers();
    auditor->set_id("auditor");
    auditor->set_ledger_reader(true);
    // Records reach a mirror once a signed checkpoint covers them.
    c.mutable_ledger()->set_checkpoint_every_records(2);
  }));
  const TestPerson a = AdultMatch();
  const TestPerson b = CardLost();
  // Person A through every replica, B through one: 4 carrier, 2 bank.
  const std::vector<std::pair<int, v1::VerifyRequest>> calls = {
      {0, CarrierRequest(a, NextRequestId())},
      {0, CarrierRequest(a, NextRequestId())},
      {1, CarrierRequest(a, NextRequestId())},
      {1, BankRequest(b, NextRequestId())},
      {2, CarrierRequest(a, NextRequestId())},
      {2, BankRequest(a, NextRequestId())},
  };
  for (const auto& [replica, request] : calls) {
    const grpc::Status st = Call(replica, request);
    ASSERT_TRUE(st.ok()) << Describe(st);
  }

  const std::string public_key =
      RepoPath("config/dev-secrets/checkpoint-ed25519.pub.pem");
  // The replicas' ports change when they restart.
  auto pull = [&](const std::string& out_dir) {
    std::vector<std::string> args = {"pull",         "--out",    out_dir,
                                     "--public-key", public_key, "--caller",
                                     "auditor"};
    for (int i = 0; i < kReplicas; ++i) {
      args.push_back("--target");
      args.push_back(absl::StrCat("127.0.0.1:", gateways_[i]->port()));
    }
    return args;
  };
  std::string out;
  ASSERT_EQ(RunAudit(pull(dir_.Join("mirrors")), dir_.path(), &out), 0) << out;
  // Stopped, each ledger ends with a checkpoint; the second pull takes the
  // rest into the same mirrors.
  StopReplicas();
  ASSERT_NO_FATAL_FAILURE(StartReplicas());
  ASSERT_EQ(RunAudit(pull(dir_.Join("mirrors")), dir_.path(), &out), 0) << out;
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_TRUE(absl::StrContains(out, LedgerName(i) + ": OK")) << out;
  }

  std::vector<std::string> mirrors;
  for (int i = 0; i < kReplicas; ++i) {
    mirrors.push_back(dir_.Join("mirrors/" + LedgerName(i)));
  }
  std::vector<std::string> verify = {"verify", "--public-key", public_key};
  verify.insert(verify.end(), mirrors.begin(), mirrors.end());
  ASSERT_EQ(RunAudit(verify, dir_.path(), &out), 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "OK: 3 ledgers verified")) << out;

  // One sharing table: every disclosure of the three, counted once.
  std::vector<std::string> table = {"sharing-table", "--format", "json",
                                    "--config", dir_.Join("config-0.json")};
  table.insert(table.end(), mirrors.begin(), mirrors.end());
  ASSERT_EQ(RunAudit(table, dir_.path(), &out), 0) << out;
  ::idgate::ledger::v1::SharingTable sharing;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out, &sharing).ok())
      << out;
  std::map<std::string, uint64_t> disclosures;
  for (const auto& row : sharing.rows()) {
    disclosures[row.provider()] += row.disclosures();
  }
  EXPECT_EQ(disclosures["carrier_mock"], 4u) << out;
  EXPECT_EQ(disclosures["bank_mock"], 2u) << out;

  // One subject report: A's five disclosures, from the three ledgers.
  std::vector<std::string> subject = {
      "subject",
      "--format",
      "json",
      "--id-number",
      a.id_number,
      "--key-file",
      "1:" + RepoPath("config/dev-secrets/subject-hmac-v1.key")};
  subject.insert(subject.end(), mirrors.begin(), mirrors.end());
  ASSERT_EQ(RunAudit(subject, dir_.path(), &out), 0) << out;
  ::idgate::ledger::v1::SubjectReport report;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out, &report).ok())
      << out;
  EXPECT_EQ(report.disclosures_size(), 5) << out;
  std::set<std::string> ledgers;
  for (const auto& d : report.disclosures()) ledgers.insert(d.ledger());
  EXPECT_EQ(ledgers.size(), 3u) << out;

  // A record rewritten on replica 1, under a signed checkpoint: a fresh
  // pull refuses that replica (exit 1) and still mirrors the other two.
  const std::string segment = StateDir(1) + "/ledger/ledger-000001.log";
  std::string bytes = ReadFileOrEmpty(segment);
  ASSERT_GT(bytes.size(), 40u);
  bytes[20] ^= 0x01;
  WriteFile(segment, bytes);
  EXPECT_EQ(RunAudit(pull(dir_.Join("fresh-mirrors")), dir_.path(), &out), 1)
      << out;
  EXPECT_TRUE(absl::StrContains(out, LedgerName(1) + ": REFUSED")) << out;
  EXPECT_TRUE(absl::StrContains(out, LedgerName(0) + ": OK")) << out;
  EXPECT_TRUE(absl::StrContains(out, LedgerName(2) + ": OK")) << out;
}

}  // namespace
}  // namespace idgate::testing
