#include <deque>
#include <map>

#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "server/routing/provider_guard.h"
#include "server/routing/router.h"

namespace idgate {
namespace {

namespace cfg = ::idgate::config::v1;
using Admit = ProviderGuard::Admit;

cfg::CircuitBreaker Breaker(uint32_t failures, int base_ms, int max_ms) {
  cfg::CircuitBreaker b;
  b.set_consecutive_failures(failures);
  b.mutable_base_ejection_time()->set_nanos(base_ms * 1'000'000);
  b.mutable_max_ejection_time()->set_seconds(max_ms / 1000);
  b.mutable_max_ejection_time()->set_nanos((max_ms % 1000) * 1'000'000);
  return b;
}

// Leases taken and ended in order (first in, first out), so that a test
// reads as a sequence of calls: Try() admits or refuses one, End(failure)
// ends the oldest one still in flight.
struct Calls {
  explicit Calls(ProviderGuard& g) : guard(g) {}
  Admit Try() {
    ProviderGuard::Lease lease;
    const Admit admit = guard.TryAcquire(&lease);
    if (lease) leases.push_back(std::move(lease));
    return admit;
  }
  void End(bool provider_failure) {
    ProviderGuard::Lease lease = std::move(leases.front());
    leases.pop_front();
    if (provider_failure) {
      lease.ProviderFailed();
    } else {
      lease.Answered();
    }
  }
  ProviderGuard& guard;
  std::deque<ProviderGuard::Lease> leases;
};

struct FakeClock {
  absl::Time t = absl::FromUnixSeconds(1'800'000'000);
  std::function<absl::Time()> fn() {
    return [this] { return t; };
  }
};

TEST(ProviderGuard, OpensAfterConsecutiveFailuresAndRecoversThroughOneProbe) {
  FakeClock clock;
  ProviderGuard guard(100, Breaker(3, 500, 2000), clock.fn());
  Calls calls(guard);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(calls.Try(), Admit::kAdmitted);
    calls.End(true);
  }
  // A success in between resets the count.
  ASSERT_EQ(calls.Try(), Admit::kAdmitted);
  calls.End(false);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(calls.Try(), Admit::kAdmitted);
    calls.End(true);
  }
  EXPECT_TRUE(guard.circuit_open());
  EXPECT_EQ(calls.Try(), Admit::kCircuitOpen);

  clock.t += absl::Milliseconds(499);
  EXPECT_EQ(calls.Try(), Admit::kCircuitOpen);
  clock.t += absl::Milliseconds(1);
  ASSERT_EQ(calls.Try(), Admit::kAdmitted);     // the half-open probe
  EXPECT_EQ(calls.Try(), Admit::kCircuitOpen);  // only one at a time
  calls.End(false);
  EXPECT_FALSE(guard.circuit_open());
  EXPECT_EQ(calls.Try(), Admit::kAdmitted);
  calls.End(false);
}

TEST(ProviderGuard, EjectionTimeGrowsWithEachEjectionUpToTheCap) {
  FakeClock clock;
  ProviderGuard guard(100, Breaker(1, 500, 1200), clock.fn());
  Calls calls(guard);
  ASSERT_EQ(calls.Try(), Admit::kAdmitted);
  calls.End(true);  // ejection 1: 500 ms
  clock.t += absl::Milliseconds(500);
  ASSERT_EQ(calls.Try(), Admit::kAdmitted);
  calls.End(true);  // failed probe, ejection 2: 1000 ms
  clock.t += absl::Milliseconds(999);
  EXPECT_EQ(calls.Try(), Admit::kCircuitOpen);
  clock.t += absl::Milliseconds(1);
  ASSERT_EQ(calls.Try(), Admit::kAdmitted);
  calls.End(true);  // ejection 3: 1500 ms capped at 1200 ms
  clock.t += absl::Milliseconds(1199);
  EXPECT_EQ(calls.Try(), Admit::kCircuitOpen);
  clock.t += absl::Milliseconds(1);
  EXPECT_EQ(calls.Try(), Admit::kAdmitted);
  EXPECT_EQ(guard.ejections(), 3u);
}

TEST(ProviderGuard, BulkheadCapsInFlightCalls) {
  FakeClock clock;
  ProviderGuard guard(2, Breaker(5, 1000, 30000), clock.fn());
  Calls calls(guard);
  EXPECT_EQ(calls.Try(), Admit::kAdmitted);
  EXPECT_EQ(calls.Try(), Admit::kAdmitted);
  EXPECT_EQ(calls.Try(), Admit::kBulkheadFull);
  EXPECT_EQ(guard.in_flight(), 2u);
  calls.End(false);
  EXPECT_EQ(calls.Try(), Admit::kAdmitted);
}

TEST(ProviderGuard, AProbeNotAttemptedLeavesTheCircuitAsItWas) {
  FakeClock clock;
  ProviderGuard guard(100, Breaker(1, 500, 2000), clock.fn());
  Calls calls(guard);
  ASSERT_EQ(calls.Try(), Admit::kAdmitted);
  calls.End(true);  // ejected for 500 ms
  clock.t += absl::Milliseconds(500);
  ProviderGuard::Lease probe;
  ASSERT_EQ(guard.TryAcquire(&probe), Admit::kAdmitted);
  probe.NotAttempted();  // e.g. too little time left to send it
  // Still open, not ejected again, and the next call may probe at once.
  EXPECT_TRUE(guard.circuit_open());
  EXPECT_EQ(guard.ejections(), 1u);
  EXPECT_EQ(guard.in_flight(), 0u);
  ProviderGuard::Lease second_probe;
  ASSERT_EQ(guard.TryAcquire(&second_probe), Admit::kAdmitted);
  EXPECT_EQ(calls.Try(), Admit::kCircuitOpen);  // one probe at a time
  second_probe.Answered();
  EXPECT_FALSE(guard.circuit_open());
}

TEST(ProviderGuard, ALeaseNeverEndedEndsAsNotAttempted) {
  FakeClock clock;
  ProviderGuard guard(1, Breaker(1, 500, 2000), clock.fn());
  {
    ProviderGuard::Lease lease;
    ASSERT_EQ(guard.TryAcquire(&lease), Admit::kAdmitted);
    EXPECT_EQ(guard.in_flight(), 1u);
  }
  EXPECT_EQ(guard.in_flight(), 0u);
  EXPECT_FALSE(guard.circuit_open());
  ProviderGuard::Lease lease;
  EXPECT_EQ(guard.TryAcquire(&lease), Admit::kAdmitted);
}

class NoAdapter : public Adapter {
 public:
  std::vector<Check> checks() const override { return {}; }
  std::vector<FieldForm> RequiredFields(Check) const override { return {}; }
  absl::StatusOr<std::unique_ptr<PreparedCall>> Prepare(
      const MinimizedSubject&, const CallContext&) const override {
    return absl::UnimplementedError("unused");
  }
};

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(R"({
      "providers": [{"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "d"}],
      "routes": [{"check": "CHECK_FACE_VERIFICATION", "targets": [
        {"provider": "d", "priority": 9},
        {"provider": "a", "priority": 1, "weight": 3},
        {"provider": "b", "priority": 1, "weight": 1},
        {"provider": "c", "priority": 2}]}],
      "disclosureRules": [
        {"provider": "a", "purposes": ["p"]}, {"provider": "b", "purposes": ["p"]},
        {"provider": "c", "purposes": ["p", "q"]}, {"provider": "d", "purposes": ["p"]}]
    })",
                                                            &config_)
                    .ok());
    auto policy = DisclosurePolicy::Compile(
        config_, [&](const std::string&) { return &adapter_; });
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = std::move(*policy);
    for (const auto& p : config_.providers()) {
      runtimes_[p.id()].config = &p;
      by_id_[p.id()] = &runtimes_[p.id()];
    }
  }
  std::vector<std::string> Ids(const std::vector<ProviderRuntime*>& c) {
    std::vector<std::string> ids;
    for (auto* p : c) ids.push_back(p->config->id());
    return ids;
  }

  cfg::GatewayConfig config_;
  NoAdapter adapter_;
  std::unique_ptr<const DisclosurePolicy> policy_;
  std::map<std::string, ProviderRuntime> runtimes_;
  std::map<std::string, ProviderRuntime*> by_id_;
};

TEST_F(RouterTest, PriorityOrderAndWeightsInsideALevel) {
  double next = 0;
  Router router(config_, *policy_, by_id_, [&] { return next; });
  next = 0.0;  // falls in a's share (3 of 4)
  EXPECT_EQ(Ids(router.Candidates(cfg::CHECK_FACE_VERIFICATION, "p", {})),
            (std::vector<std::string>{"a", "b", "c", "d"}));
  next = 0.8;  // falls in b's share
  EXPECT_EQ(Ids(router.Candidates(cfg::CHECK_FACE_VERIFICATION, "p", {})),
            (std::vector<std::string>{"b", "a", "c", "d"}));
}

TEST_F(RouterTest, WeightsSpreadLoadProportionally) {
  uint64_t state = 42;
  Router router(config_, *policy_, by_id_, [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  });
  int first_a = 0;
  for (int i = 0; i < 4000; ++i) {
    first_a += router.Candidates(cfg::CHECK_FACE_VERIFICATION, "p", {})[0]
                   ->config->id() == "a";
  }
  EXPECT_NEAR(first_a / 4000.0, 0.75, 0.03);
}

TEST_F(RouterTest, FiltersByPolicyPurposeAndConsentRecipients) {
  Router router(config_, *policy_, by_id_, [] { return 0.0; });
  EXPECT_EQ(Ids(router.Candidates(cfg::CHECK_FACE_VERIFICATION, "q", {})),
            (std::vector<std::string>{"c"}));
  EXPECT_EQ(
      Ids(router.Candidates(cfg::CHECK_FACE_VERIFICATION, "p", {"d", "b"})),
      (std::vector<std::string>{"b", "d"}));
  EXPECT_TRUE(
      router.Candidates(cfg::CHECK_FACE_VERIFICATION, "other", {}).empty());
  EXPECT_TRUE(router.Candidates(cfg::CHECK_BANK_FOUR_FACTOR, "p", {}).empty());
}

}  // namespace
}  // namespace idgate
