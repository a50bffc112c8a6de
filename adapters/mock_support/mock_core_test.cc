// MockCore's behaviour, exercised through the carrier mock.

#include "adapters/mock_support/mock_core.h"

#include <dirent.h>

#include <atomic>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "adapters/carrier/carrier_mock.h"
#include "adapters/mock_support/mock_host.h"
#include "core/digest.h"
#include "gtest/gtest.h"
#include "idgate/provider/v1/carrier.grpc.pb.h"

namespace idgate {
namespace {

using ::idgate::config::v1::MockBehaviour;
using ::idgate::provider::v1::CarrierService;
using ::idgate::provider::v1::CheckThreeFactorRequest;
using ::idgate::provider::v1::CheckThreeFactorResponse;

// Book people used below, inline so the test does not depend on the file.
constexpr char kBook[] = R"({"people": [
  {"label": "a", "name": "测试甲", "idNumber": "110101199003070134",
   "mobiles": [{"number": "13800000001", "operatorName": "CMCC"}]},
  {"label": "b", "name": "王测试", "idNumber": "310101198506120351",
   "mobiles": [{"number": "13900000002", "operatorName": "CMCC"}]}]})";

google::protobuf::Duration Millis(int64_t ms) {
  google::protobuf::Duration d;
  d.set_seconds(ms / 1000);
  d.set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
  return d;
}

CheckThreeFactorRequest Request(const std::string& name, const std::string& id,
                                const std::string& mobile) {
  CheckThreeFactorRequest request;
  request.set_app_id("app");
  request.set_order_no("order");
  request.set_hash_mode(::idgate::provider::v1::CARRIER_HASH_MODE_PLAIN);
  request.set_name(name);
  request.set_id_number(id);
  request.set_mobile(mobile);
  return request;
}

CheckThreeFactorRequest PersonA() {
  return Request("测试甲", "110101199003070134", "13800000001");
}
CheckThreeFactorRequest PersonB() {
  return Request("王测试", "310101198506120351", "13900000002");
}

int ThreadCount() {
  int count = 0;
  if (DIR* dir = opendir("/proc/self/task")) {
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++count;
    }
    closedir(dir);
  }
  return count;
}

class MockCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto book = IdentityBook::FromJson(kBook);
    ASSERT_TRUE(book.ok()) << book.status();
    book_ = std::move(*book);
  }

  // One carrier mock with `behaviour`, reachable through stub_.
  void Start(const MockBehaviour& behaviour, uint64_t seed = 1) {
    host_.reset();
    MockEnv env;
    env.book = book_.get();
    env.behaviour = behaviour;
    env.seed = seed;
    env.now = [this] {
      absl::MutexLock lock(&clock_mu_);
      return now_;
    };
    std::vector<std::unique_ptr<MockProvider>> mocks;
    mocks.push_back(MakeCarrierMock(env));
    auto host = MockHost::Start(std::move(mocks));
    ASSERT_TRUE(host.ok());
    host_ = std::move(*host);
    stub_ = CarrierService::NewStub(host_->InProcessChannel());
  }

  // Blocking call: the status code, then the result code when OK.
  std::string Ask(const CheckThreeFactorRequest& request,
                  absl::Duration timeout = absl::Seconds(10)) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    CheckThreeFactorResponse response;
    const grpc::Status status =
        stub_->CheckThreeFactor(&context, request, &response);
    if (!status.ok()) return "grpc:" + std::to_string(status.error_code());
    return response.code();
  }

  void SetNow(absl::Time now) {
    absl::MutexLock lock(&clock_mu_);
    now_ = now;
  }

  MockStats Stats() { return host_->mock(0).stats(); }

  std::unique_ptr<IdentityBook> book_;
  std::unique_ptr<MockHost> host_;
  std::unique_ptr<CarrierService::Stub> stub_;
  absl::Mutex clock_mu_;
  absl::Time now_ = absl::FromUnixSeconds(1767225600);  // 2026-01-01 08:00+8
};

// 2000 calls pending at once, each delayed 200 ms: on the DelayQueue they
// all finish in about 200 ms on a handful of threads. A functional check with
// generous bounds (the machine is shared), not a benchmark.
TEST_F(MockCoreTest, LatencyIsSimulatedWithoutAThreadPerCall) {
  MockBehaviour behaviour;
  *behaviour.mutable_latency_mean() = Millis(200);
  Start(behaviour);
  constexpr int kCalls = 2000;
  const CheckThreeFactorRequest request = PersonA();
  struct Slot {
    grpc::ClientContext context;
    CheckThreeFactorResponse response;
  };
  std::vector<Slot> slots(kCalls);
  absl::BlockingCounter pending(kCalls);
  std::atomic<int> matched{0};
  const int threads_before = ThreadCount();
  const absl::Time start = absl::Now();
  for (Slot& slot : slots) {
    slot.context.set_deadline(absl::ToChronoTime(start + absl::Seconds(30)));
    stub_->async()->CheckThreeFactor(
        &slot.context, &request, &slot.response,
        [&, response = &slot.response](grpc::Status status) {
          if (status.ok() && response->code() == "0") ++matched;
          pending.DecrementCount();
        });
  }
  absl::SleepFor(absl::Milliseconds(100));
  const int threads_during = ThreadCount();
  pending.Wait();
  const absl::Duration took = absl::Now() - start;

  EXPECT_EQ(matched.load(), kCalls);
  EXPECT_GE(took, absl::Milliseconds(200));
  EXPECT_LT(took, absl::Seconds(5)) << "latency looks serialized";
  EXPECT_LT(threads_during - threads_before, 100)
      << "pending calls seem to hold threads";
  EXPECT_EQ(Stats().requests, static_cast<uint64_t>(kCalls));
  EXPECT_EQ(Stats().billed, static_cast<uint64_t>(kCalls));
}

TEST_F(MockCoreTest, ErrorAndBusyRatesAreRoughlyHonoured) {
  MockBehaviour behaviour;
  behaviour.set_error_rate(0.2);
  behaviour.set_busy_rate(0.3);
  Start(behaviour, 42);
  constexpr int kCalls = 2000;
  int errors = 0, busy = 0, matched = 0;
  for (int i = 0; i < kCalls; ++i) {
    const std::string result = Ask(PersonA());
    if (result == "grpc:14") ++errors;  // UNAVAILABLE
    if (result == "-11") ++busy;
    if (result == "0") ++matched;
  }
  EXPECT_EQ(errors + busy + matched, kCalls);
  EXPECT_NEAR(errors / double{kCalls}, 0.2, 0.04);
  EXPECT_NEAR(busy / double{kCalls}, 0.3, 0.04);
  EXPECT_EQ(Stats().billed, static_cast<uint64_t>(matched));
}

TEST_F(MockCoreTest, OneSeedOneSequence) {
  MockBehaviour behaviour;
  behaviour.set_error_rate(0.3);
  behaviour.set_busy_rate(0.3);
  auto run = [&](uint64_t seed) {
    Start(behaviour, seed);
    std::vector<std::string> results;
    for (int i = 0; i < 100; ++i) results.push_back(Ask(PersonA()));
    return results;
  };
  const auto first = run(7);
  EXPECT_EQ(run(7), first);
  EXPECT_NE(run(8), first);
}

TEST_F(MockCoreTest, TailLatencyIsAdded) {
  MockBehaviour behaviour;
  behaviour.set_tail_probability(1);
  *behaviour.mutable_tail_latency() = Millis(300);
  Start(behaviour);
  const absl::Time start = absl::Now();
  EXPECT_EQ(Ask(PersonA()), "0");
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(290));
}

TEST_F(MockCoreTest, NormalLatencyIsClippedAtZero) {
  MockBehaviour behaviour;
  *behaviour.mutable_latency_mean() = Millis(1);
  *behaviour.mutable_latency_stddev() = Millis(50);  // often negative
  Start(behaviour);
  const absl::Time start = absl::Now();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Ask(PersonA()), "0");
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(MockCoreTest, HangEndsAtTheDeadline) {
  MockBehaviour behaviour;
  behaviour.set_hang(true);
  Start(behaviour);
  const absl::Time start = absl::Now();
  EXPECT_EQ(Ask(PersonA(), absl::Milliseconds(300)), "grpc:4");
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(3));
  EXPECT_EQ(Stats().requests, 1u);
  EXPECT_EQ(Stats().billed, 0u);
}

TEST_F(MockCoreTest, ClientCancellationEndsAHungCallPromptly) {
  MockBehaviour behaviour;
  behaviour.set_hang(true);
  Start(behaviour);
  grpc::ClientContext context;
  const CheckThreeFactorRequest request = PersonA();
  CheckThreeFactorResponse response;
  absl::Notification done;
  grpc::Status result;
  stub_->async()->CheckThreeFactor(&context, &request, &response,
                                   [&](grpc::Status status) {
                                     result = status;
                                     done.Notify();
                                   });
  absl::SleepFor(absl::Milliseconds(50));
  context.TryCancel();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(result.error_code(), grpc::StatusCode::CANCELLED);
}

// Shutdown does not wait for hung or delayed calls beyond its deadline.
TEST_F(MockCoreTest, ShutdownEndsPendingCalls) {
  for (bool hang : {true, false}) {
    MockBehaviour behaviour;
    behaviour.set_hang(hang);
    *behaviour.mutable_latency_mean() = Millis(60000);
    Start(behaviour);
    constexpr int kCalls = 50;
    const CheckThreeFactorRequest request = PersonA();
    std::vector<grpc::ClientContext> contexts(kCalls);
    std::vector<CheckThreeFactorResponse> responses(kCalls);
    absl::BlockingCounter pending(kCalls);
    for (int i = 0; i < kCalls; ++i) {
      stub_->async()->CheckThreeFactor(
          &contexts[i], &request, &responses[i],
          [&](grpc::Status) { pending.DecrementCount(); });
    }
    absl::SleepFor(absl::Milliseconds(100));
    const absl::Time start = absl::Now();
    host_->Shutdown(absl::Now() + absl::Milliseconds(100));
    pending.Wait();
    EXPECT_LT(absl::Now() - start, absl::Seconds(5));
    EXPECT_EQ(Stats().billed, 0u);
  }
}

// A caller that gives up during the latency gets no answer, and the
// provider bills nothing.
TEST_F(MockCoreTest, CancelledDuringLatencyIsNotBilled) {
  MockBehaviour behaviour;
  *behaviour.mutable_latency_mean() = Millis(400);
  Start(behaviour);
  EXPECT_EQ(Ask(PersonA(), absl::Milliseconds(100)), "grpc:4");
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(Stats().requests, 1u);
  EXPECT_EQ(Stats().billed, 0u);
}

TEST_F(MockCoreTest, DailyLimitPerSubjectResetsAtBeijingMidnight) {
  MockBehaviour behaviour;
  behaviour.set_daily_limit_per_subject(2);
  Start(behaviour);
  const absl::TimeZone beijing = absl::FixedTimeZone(8 * 3600);
  SetNow(absl::FromCivil(absl::CivilSecond(2026, 3, 1, 23, 59, 0), beijing));
  EXPECT_EQ(Ask(PersonA()), "0");
  EXPECT_EQ(Ask(PersonA()), "0");
  EXPECT_EQ(Ask(PersonA()), "-12");
  EXPECT_EQ(Ask(PersonB()), "0");  // another subject
  // The same person in hashed form is the same subject.
  CheckThreeFactorRequest hashed;
  hashed.set_app_id("app");
  hashed.set_order_no("order");
  hashed.set_hash_mode(::idgate::provider::v1::CARRIER_HASH_MODE_SHA256);
  hashed.set_name_sha256(Sha256Hex("测试甲"));
  hashed.set_id_number_sha256(Sha256Hex("110101199003070134"));
  hashed.set_mobile_sha256(Sha256Hex("13800000001"));
  EXPECT_EQ(Ask(hashed), "-12");
  // 00:00 in Beijing is 16:00 UTC: a new day.
  SetNow(absl::FromCivil(absl::CivilSecond(2026, 3, 2, 0, 0, 30), beijing));
  EXPECT_EQ(Ask(hashed), "0");
  EXPECT_EQ(Stats().billed, 4u);
}

TEST_F(MockCoreTest, FieldsAreCountedOnArrivalWhateverHappens) {
  MockBehaviour behaviour;
  behaviour.set_error_rate(1);
  Start(behaviour);
  EXPECT_EQ(Ask(PersonA()), "grpc:14");
  EXPECT_EQ(Ask(PersonB()), "grpc:14");
  const MockStats stats = Stats();
  EXPECT_EQ(stats.requests, 2u);
  EXPECT_EQ(stats.billed, 0u);
  const std::map<FieldForm, uint64_t> expected = {
      {{::idgate::v1::PII_FIELD_NAME, ::idgate::v1::PII_FORM_PLAIN}, 2},
      {{::idgate::v1::PII_FIELD_ID_NUMBER, ::idgate::v1::PII_FORM_PLAIN}, 2},
      {{::idgate::v1::PII_FIELD_MOBILE, ::idgate::v1::PII_FORM_PLAIN}, 2}};
  EXPECT_EQ(stats.fields_received, expected);
}

TEST(MockCoreNoBookTest, AnEmptyBookKnowsNobody) {
  MockEnv env;  // no book
  std::vector<std::unique_ptr<MockProvider>> mocks;
  mocks.push_back(MakeCarrierMock(env));
  auto host = MockHost::Start(std::move(mocks));
  ASSERT_TRUE(host.ok());
  auto stub = CarrierService::NewStub((*host)->InProcessChannel());
  grpc::ClientContext context;
  CheckThreeFactorResponse response;
  ASSERT_TRUE(stub->CheckThreeFactor(&context, PersonA(), &response).ok());
  EXPECT_EQ(response.code(), "-9");
}

}  // namespace
}  // namespace idgate
