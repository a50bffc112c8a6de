// The Verify pipeline against scripted providers and a scripted ledger:
// the invariants of ARCHITECTURE.md (I1-I3, I5, I6, I8), failover, the
// breaker and deadlines.
#include "server/service/verify_flow.h"

#include <atomic>
#include <deque>
#include <thread>

#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "idgate/provider/v1/carrier.pb.h"
#include "server/config/config_loader.h"

namespace idgate {
namespace {

namespace cfg = ::idgate::config::v1;
namespace v1 = ::idgate::v1;
using ::idgate::provider::v1::CheckThreeFactorRequest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A provider whose answers the test scripts; counts what it was sent.
class ScriptedAdapter : public Adapter {
 public:
  struct State {
    absl::Mutex mu;
    std::deque<ProviderOutcome> script;  // empty: MATCH, billed
    std::vector<CheckThreeFactorRequest> received;
    std::vector<absl::Time> deadlines;
    bool hold = false;  // keep the call open until cancelled
    std::vector<OutcomeCallback> held;
    std::atomic<int> cancels{0};
  };

  class Call : public PreparedCall {
   public:
    Call(std::shared_ptr<State> state, CheckThreeFactorRequest request)
        : state_(std::move(state)), request_(std::move(request)) {}
    const google::protobuf::Message& request() const override {
      return request_;
    }
    void Send(absl::Time deadline, OutcomeCallback done) override {
      ProviderOutcome outcome;
      {
        absl::MutexLock lock(&state_->mu);
        state_->received.push_back(request_);
        state_->deadlines.push_back(deadline);
        if (state_->hold) {
          state_->held.push_back(std::move(done));
          return;
        }
        if (state_->script.empty()) {
          outcome.verdict = v1::VERDICT_MATCH;
          outcome.billed = true;
          outcome.provider_code = "0";
        } else {
          outcome = state_->script.front();
          state_->script.pop_front();
        }
      }
      done(outcome);
    }
    void Cancel() override {
      state_->cancels++;
      std::vector<OutcomeCallback> held;
      {
        absl::MutexLock lock(&state_->mu);
        held.swap(state_->held);
      }
      for (auto& done : held) {
        ProviderOutcome cancelled;
        cancelled.status = absl::CancelledError("cancelled");
        done(cancelled);
      }
    }

   private:
    std::shared_ptr<State> state_;
    CheckThreeFactorRequest request_;
  };

  explicit ScriptedAdapter(bool smuggle_hash = false)
      : smuggle_hash_(smuggle_hash) {}

  std::vector<Check> checks() const override {
    return {cfg::CHECK_CARRIER_THREE_FACTOR};
  }
  std::vector<FieldForm> RequiredFields(Check) const override {
    return {{v1::PII_FIELD_NAME, v1::PII_FORM_PLAIN},
            {v1::PII_FIELD_ID_NUMBER, v1::PII_FORM_PLAIN},
            {v1::PII_FIELD_MOBILE, v1::PII_FORM_PLAIN}};
  }
  absl::StatusOr<std::unique_ptr<PreparedCall>> Prepare(
      const MinimizedSubject& subject,
      const CallContext& context) const override {
    CheckThreeFactorRequest r;
    r.set_order_no(context.disclosure_id);
    r.set_name(
        std::string(*subject.Get(v1::PII_FIELD_NAME, v1::PII_FORM_PLAIN)));
    r.set_id_number(
        std::string(*subject.Get(v1::PII_FIELD_ID_NUMBER, v1::PII_FORM_PLAIN)));
    r.set_mobile(
        std::string(*subject.Get(v1::PII_FIELD_MOBILE, v1::PII_FORM_PLAIN)));
    // A misbehaving adapter: adds a form of the mobile the policy never
    // allowed.
    if (smuggle_hash_) r.set_mobile_sha256("00ff");
    return std::unique_ptr<PreparedCall>(new Call(state, r));
  }

  std::shared_ptr<State> state = std::make_shared<State>();

 private:
  bool smuggle_hash_;
};

ProviderOutcome Failure(absl::Status status, bool retryable,
                        bool billed = false) {
  ProviderOutcome o;
  o.status = std::move(status);
  o.retryable = retryable;
  o.billed = billed;
  o.provider_code = "-11";
  return o;
}

ProviderOutcome Verdict(v1::Verdict verdict, bool billed) {
  ProviderOutcome o;
  o.verdict = verdict;
  o.billed = billed;
  o.provider_code = verdict == v1::VERDICT_MATCH ? "0" : "-4";
  return o;
}

// A ledger that keeps records in memory; can fail, or hold callbacks.
class ScriptedLedger : public Ledger {
 public:
  void Append(LedgerRecord record,
              std::function<void(absl::Status)> done) override {
    if (failed) {
      if (done) done(absl::UnavailableError("injected fsync failure"));
      return;
    }
    {
      absl::MutexLock lock(&mu);
      records.push_back(record);
      awaited.push_back(static_cast<bool>(done));
    }
    if (done && before_durable) before_durable();
    if (done) done(absl::OkStatus());
  }
  bool healthy() const override { return !failed; }

  std::vector<LedgerRecord> Records() {
    absl::MutexLock lock(&mu);
    return records;
  }

  std::vector<bool> Awaited() {
    absl::MutexLock lock(&mu);
    return awaited;
  }

  std::atomic<bool> failed{false};
  // Runs before an awaited record is reported durable (a slow disk).
  std::function<void()> before_durable;
  absl::Mutex mu;
  std::vector<LedgerRecord> records;
  std::vector<bool> awaited;  // whether each record's Append had a callback
};

class VerifyFlowTest : public ::testing::Test {
 protected:
  // The gateway as the app assembles it, over scripted adapters and ledger.
  // `first_breaker` is the first provider's circuitBreaker (JSON).
  void Build(
      bool smuggle_first = false,
      const std::string& first_breaker = R"({"consecutiveFailures": 100})") {
    // The adapters are scripted; the config only names their type.
    const std::string kCarrier =
        R"({"@type": "type.googleapis.com/idgate.config.v1.CarrierAdapterConfig"})";
    const std::string json = R"({
      "listenAddress": "127.0.0.1:0",
      "purposes": [{"id": "esign.signer_identity"}],
      "ledger": {"subjectKeys": [{"version": 1, "file": "unused"}]},
      "providers": [
        {"id": "first", "recipient": "First Carrier Co.", "timeout": "2s",
         "address": "127.0.0.1:1", "adapter": )" +
                             kCarrier + R"(,
         "maxInFlight": 100, "circuitBreaker": )" +
                             first_breaker + R"(},
        {"id": "second", "recipient": "Second Carrier Co.", "timeout": "2s",
         "address": "127.0.0.1:1", "adapter": )" +
                             kCarrier + R"(,
         "maxInFlight": 100, "circuitBreaker": {"consecutiveFailures": 100}}],
      "routes": [{"check": "CHECK_CARRIER_THREE_FACTOR", "targets": [
        {"provider": "first", "priority": 1}, {"provider": "second", "priority": 2}]}],
      "disclosureRules": [
        {"provider": "first", "purposes": ["esign.signer_identity"], "fields": [
          {"field": "PII_FIELD_NAME", "form": "PII_FORM_PLAIN"},
          {"field": "PII_FIELD_ID_NUMBER", "form": "PII_FORM_PLAIN"},
          {"field": "PII_FIELD_MOBILE", "form": "PII_FORM_PLAIN"}]},
        {"provider": "second", "purposes": ["esign.signer_identity"], "fields": [
          {"field": "PII_FIELD_NAME", "form": "PII_FORM_PLAIN"},
          {"field": "PII_FIELD_ID_NUMBER", "form": "PII_FORM_PLAIN"},
          {"field": "PII_FIELD_MOBILE", "form": "PII_FORM_PLAIN"}]}],
      "callers": {"callers": [{"id": "esign", "checks": ["CHECK_CARRIER_THREE_FACTOR"],
                               "purposes": ["esign.signer_identity"]}]}
    })";
    auto loaded = ParseConfig(json, ".");  // defaults, as the gateway has them
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    config_ = std::move(loaded->config);
    caller_ = config_.callers().callers(0);

    GatewayInputs in;
    first_ = new ScriptedAdapter(smuggle_first);
    second_ = new ScriptedAdapter();
    in.adapters["first"].reset(first_);
    in.adapters["second"].reset(second_);
    in.ledger = &ledger_;
    in.subject_keys = std::make_unique<SubjectKeyring>(
        std::move(*SubjectKeyring::FromKeys({{1, std::string(32, 'k')}})));
    in.now = [this] { return now_; };
    in.uniform = [] { return 0.0; };
    in.new_disclosure_id = [this] { return "d-" + std::to_string(++ids_); };
    auto parts = GatewayParts::Assemble(config_, std::move(in));
    ASSERT_TRUE(parts.ok()) << parts.status();
    parts_ = std::move(*parts);
    gw_ = parts_->gateway();
  }

  ProviderGuard& Guard(const std::string& provider) {
    return *parts_->providers().at(provider)->guard;
  }

  v1::VerifyRequest Request(const std::string& request_id = "r-1") {
    v1::VerifyRequest r;
    r.set_request_id(request_id);
    r.set_purpose("esign.signer_identity");
    r.mutable_consent()->set_consent_id("c-1");
    *r.mutable_consent()->mutable_granted_at() =
        google::protobuf::util::TimeUtil::SecondsToTimestamp(
            absl::ToUnixSeconds(now_) - 60);
    r.mutable_consent()->add_scopes(v1::CONSENT_SCOPE_IDENTITY);
    auto* c = r.mutable_carrier_three_factor();
    c->set_name("测试甲");
    c->set_id_number("110101199003070134");
    c->set_mobile("13800000001");
    return r;
  }

  // Runs one flow to completion (the scripted parts answer inline).
  VerifyResult Run(const v1::VerifyRequest& request,
                   absl::Duration budget = absl::Seconds(5)) {
    VerifyResult result = absl::UnknownError("not finished");
    bool done = false;
    auto flow = std::make_shared<VerifyFlow>(
        gw_, caller_, request, now_ + budget, [&](VerifyResult r) {
          result = std::move(r);
          done = true;
        });
    flow->Start();
    EXPECT_TRUE(done);
    return result;
  }

  size_t Sent(ScriptedAdapter* a) {
    absl::MutexLock lock(&a->state->mu);
    return a->state->received.size();
  }

  absl::Time now_ = absl::FromUnixSeconds(1'795'000'000);  // 2026-11
  cfg::GatewayConfig config_;
  Caller caller_;
  ScriptedAdapter* first_ = nullptr;  // owned by parts_
  ScriptedAdapter* second_ = nullptr;
  ScriptedLedger ledger_;
  std::unique_ptr<GatewayParts> parts_;
  Gateway gw_;  // a copy of parts_'s, which a test may adjust
  int ids_ = 0;
};

TEST_F(VerifyFlowTest, MatchWithDurableIntentBeforeSendAndOutcomeAfter) {
  Build();
  auto result = Run(Request());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->verdict(), v1::VERDICT_MATCH);
  EXPECT_EQ(result->provider(), "first");
  ASSERT_EQ(result->disclosures_size(), 1);
  EXPECT_EQ(result->disclosures(0).recipient(), "First Carrier Co.");
  auto records = ledger_.Records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].kind(), ::idgate::ledger::v1::RECORD_KIND_INTENT);
  EXPECT_EQ(records[1].kind(), ::idgate::ledger::v1::RECORD_KIND_OUTCOME);
  EXPECT_EQ(records[0].disclosure_id(), result->disclosures(0).disclosure_id());
  EXPECT_EQ(records[0].fields_size(), 3);
  EXPECT_EQ(records[0].subject_ref().size(), 64u);
  EXPECT_EQ(records[0].policy_version(), gw_.policy->version());
  EXPECT_TRUE(records[1].outcome().billed());
  // The send waits for the intent; nothing waits for the outcome, so the
  // ledger need not sync it on its own.
  EXPECT_THAT(ledger_.Awaited(), ElementsAre(true, false));
  // I4: the ledger holds no personal value.
  for (const auto& r : records) {
    const std::string bytes = r.SerializeAsString();
    EXPECT_EQ(bytes.find("110101199003070134"), std::string::npos);
    EXPECT_EQ(bytes.find("13800000001"), std::string::npos);
    EXPECT_EQ(bytes.find("测试甲"), std::string::npos);
  }
}

TEST_F(VerifyFlowTest, EgressGuardStopsAMisbehavingAdapterAndNothingIsSent) {
  Build(/*smuggle_first=*/true);
  auto result = Run(Request());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(result.status().message(),
              HasSubstr("PII_FIELD_MOBILE/PII_FORM_SHA256"));
  EXPECT_EQ(Sent(first_), 0u);
  EXPECT_EQ(Sent(second_), 0u);  // an egress refusal is a bug, not a failover
  EXPECT_TRUE(ledger_.Records().empty());
}

TEST_F(VerifyFlowTest, UnwritableLedgerMeansUnavailableAndNoProviderCall) {
  Build();
  ledger_.failed = true;
  for (int i = 0; i < 5; ++i) {
    auto result = Run(Request("r-" + std::to_string(i)));
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(Sent(first_) + Sent(second_), 0u);
}

TEST_F(VerifyFlowTest, FailoverOnBusyWithASecondDisclosure) {
  Build();
  first_->state->script.push_back(
      Failure(absl::UnavailableError("busy"), /*retryable=*/true));
  auto result = Run(Request());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->provider(), "second");
  ASSERT_EQ(result->disclosures_size(), 2);
  EXPECT_EQ(result->disclosures(0).provider(), "first");
  EXPECT_EQ(result->disclosures(1).provider(), "second");
  EXPECT_NE(result->disclosures(0).disclosure_id(),
            result->disclosures(1).disclosure_id());
  EXPECT_EQ(Sent(first_), 1u);
  EXPECT_EQ(Sent(second_), 1u);
  // Each disclosure has its own intent and outcome.
  int intents = 0;
  for (const auto& r : ledger_.Records())
    intents += r.kind() == ::idgate::ledger::v1::RECORD_KIND_INTENT;
  EXPECT_EQ(intents, 2);
}

TEST_F(VerifyFlowTest, NoFailoverAfterABilledMismatch) {
  Build();
  first_->state->script.push_back(
      Verdict(v1::VERDICT_MISMATCH, /*billed=*/true));
  auto result = Run(Request());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->verdict(), v1::VERDICT_MISMATCH);
  EXPECT_EQ(Sent(second_), 0u);
}

TEST_F(VerifyFlowTest, NoFailoverAfterABilledFailure) {
  Build();
  first_->state->script.push_back(Failure(absl::UnavailableError("odd"),
                                          /*retryable=*/true, /*billed=*/true));
  auto result = Run(Request());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Sent(second_), 0u);
}

TEST_F(VerifyFlowTest, NoFailoverAfterATimeoutOnASentRequest) {
  Build();
  first_->state->script.push_back(Failure(
      absl::DeadlineExceededError("no answer in time"), /*retryable=*/true));
  auto result = Run(Request());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(Sent(second_), 0u);
}

TEST_F(VerifyFlowTest, AllProvidersBusyIsUnavailable) {
  Build();
  first_->state->script.push_back(
      Failure(absl::UnavailableError("busy"), true));
  second_->state->script.push_back(
      Failure(absl::UnavailableError("busy"), true));
  auto result = Run(Request());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Sent(first_) + Sent(second_), 2u);
}

TEST_F(VerifyFlowTest,
       ProviderDeadlineIsCallerDeadlineLessMarginOrProviderTimeout) {
  Build();
  gw_.deadline_margin = absl::Milliseconds(50);
  ASSERT_TRUE(Run(Request("r-a"), absl::Seconds(1)).ok());
  ASSERT_TRUE(Run(Request("r-b"), absl::Seconds(30)).ok());
  absl::MutexLock lock(&first_->state->mu);
  EXPECT_EQ(first_->state->deadlines[0],
            now_ + absl::Seconds(1) - absl::Milliseconds(50));
  EXPECT_EQ(first_->state->deadlines[1],
            now_ + absl::Seconds(2));  // provider timeout
}

TEST_F(VerifyFlowTest, NoProviderCallWhenTooLittleTimeIsLeft) {
  Build();
  auto result =
      Run(Request(), absl::Milliseconds(60));  // 60 - 50 margin < 20 budget
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(Sent(first_) + Sent(second_), 0u);
  EXPECT_TRUE(ledger_.Records().empty());
}

// The breaker hears only what the provider did. A half-open probe that
// never reached the provider leaves the circuit open, ready for the next
// probe; it used to close it.
TEST_F(VerifyFlowTest, AProbeThatNeverReachedTheProviderLeavesTheCircuitOpen) {
  Build(false, R"({"consecutiveFailures": 1, "baseEjectionTime": "10s",
                    "maxEjectionTime": "60s"})");
  first_->state->script.push_back(
      Failure(absl::UnavailableError("down"), true));
  ASSERT_TRUE(Run(Request("r-1")).ok());  // first ejected, second answered
  ASSERT_TRUE(Guard("first").circuit_open());
  now_ += absl::Seconds(10);  // the ejection is over: the next call probes

  // The probe's intent cannot be made durable: nothing is sent.
  ledger_.failed = true;
  EXPECT_EQ(Run(Request("r-2")).status().code(),
            absl::StatusCode::kUnavailable);
  ledger_.failed = false;
  // Too little time left to send the probe.
  EXPECT_EQ(Run(Request("r-3"), absl::Milliseconds(60)).status().code(),
            absl::StatusCode::kDeadlineExceeded);

  EXPECT_EQ(Sent(first_), 1u);
  EXPECT_TRUE(Guard("first").circuit_open());
  EXPECT_EQ(Guard("first").ejections(), 1u);
  // The next call is the probe, and the provider's answer closes it.
  auto result = Run(Request("r-4"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->provider(), "first");
  EXPECT_FALSE(Guard("first").circuit_open());
}

// An intent that became durable too late to send the request: nothing left,
// the outcome record says so, and the provider is not blamed for our clock;
// it used to count as the provider's failure and open its circuit.
TEST_F(VerifyFlowTest, AnUnsentRequestThatRanOutOfTimeIsNoProviderFailure) {
  Build(false, R"({"consecutiveFailures": 1, "baseEjectionTime": "10s",
                    "maxEjectionTime": "60s"})");
  ledger_.before_durable = [this] {
    now_ += absl::Milliseconds(960);  // a slow fdatasync
    ledger_.before_durable = nullptr;
  };
  auto late = Run(Request("r-1"), absl::Seconds(1));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(Sent(first_), 0u);
  auto records = ledger_.Records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_FALSE(records[1].outcome().sent());
  EXPECT_FALSE(Guard("first").circuit_open());

  auto result = Run(Request("r-2"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->provider(), "first");
}

TEST_F(VerifyFlowTest, MinorIsRefusedBeforeAnyProviderCall) {
  Build();
  auto request = Request();
  request.mutable_carrier_three_factor()->set_id_number("370102201205201010");
  auto result = Run(request);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Sent(first_), 0u);
  EXPECT_TRUE(ledger_.Records().empty());
}

TEST_F(VerifyFlowTest, MissingIdentityScopeIsRefused) {
  Build();
  auto request = Request();
  request.mutable_consent()->clear_scopes();
  request.mutable_consent()->add_scopes(v1::CONSENT_SCOPE_BIOMETRIC);
  auto result = Run(request);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(result.status()
                  .GetPayload("type.googleapis.com/idgate.v1.ErrorReason")
                  .has_value());
  EXPECT_EQ(Sent(first_), 0u);
}

TEST_F(VerifyFlowTest, ConsentRecipientsRestrictTheProviders) {
  Build();
  auto request = Request();
  request.mutable_consent()->add_recipients("second");
  auto result = Run(request);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->provider(), "second");
  EXPECT_EQ(Sent(first_), 0u);
  request.set_request_id("r-2");
  request.mutable_consent()->clear_recipients();
  request.mutable_consent()->add_recipients("nobody");
  EXPECT_EQ(Run(request).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(VerifyFlowTest, UnauthorizedPurposeIsDeniedBeforeValidation) {
  Build();
  auto request = Request();
  request.set_purpose("ca.certificate_registration");
  request.mutable_carrier_three_factor()->set_id_number("bad");  // not revealed
  auto result = Run(request);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(VerifyFlowTest, RetryReplaysWithoutAProviderCallAndReusedIdConflicts) {
  Build();
  auto first = Run(Request());
  ASSERT_TRUE(first.ok());
  auto again = Run(Request());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed());
  EXPECT_EQ(again->disclosures(0).disclosure_id(),
            first->disclosures(0).disclosure_id());
  EXPECT_EQ(Sent(first_), 1u);

  auto different = Request();
  different.mutable_carrier_three_factor()->set_mobile("13900000005");
  EXPECT_EQ(Run(different).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Sent(first_), 1u);
}

TEST_F(VerifyFlowTest, FiftyConcurrentDuplicatesMakeOneProviderCall) {
  Build();
  first_->state->hold = true;
  std::atomic<int> finished{0};
  std::vector<VerifyResult> results(50, absl::UnknownError(""));
  std::vector<std::shared_ptr<VerifyFlow>> flows;
  auto request = Request();
  for (int i = 0; i < 50; ++i) {
    flows.push_back(std::make_shared<VerifyFlow>(
        gw_, caller_, request, now_ + absl::Seconds(5), [&, i](VerifyResult r) {
          results[i] = std::move(r);
          finished++;
        }));
  }
  std::vector<std::thread> threads;
  for (auto& f : flows) threads.emplace_back([f] { f->Start(); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(finished.load(), 0);
  EXPECT_EQ(Sent(first_), 1u);
  // Answer the one call: everyone gets it.
  std::vector<OutcomeCallback> held;
  {
    absl::MutexLock lock(&first_->state->mu);
    held.swap(first_->state->held);
  }
  ASSERT_EQ(held.size(), 1u);
  held[0](Verdict(v1::VERDICT_MATCH, true));
  EXPECT_EQ(finished.load(), 50);
  int replayed = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    replayed += r->replayed();
  }
  EXPECT_EQ(replayed, 49);
  EXPECT_EQ(Sent(first_) + Sent(second_), 1u);
}

TEST_F(VerifyFlowTest, CancellationCancelsTheProviderCall) {
  Build();
  first_->state->hold = true;
  VerifyResult result = absl::UnknownError("");
  const auto request = Request();  // the flow borrows it, as from gRPC
  auto flow = std::make_shared<VerifyFlow>(
      gw_, caller_, request, now_ + absl::Seconds(5),
      [&](VerifyResult r) { result = std::move(r); });
  flow->Start();
  EXPECT_EQ(Sent(first_), 1u);
  flow->Cancel();
  EXPECT_EQ(first_->state->cancels.load(), 1);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(Sent(second_), 0u);  // a cancelled call does not fail over
}

TEST_F(VerifyFlowTest, OpenCircuitSkipsToTheNextProviderWithoutDisclosure) {
  Build(false, R"({"consecutiveFailures": 1, "baseEjectionTime": "10s",
                    "maxEjectionTime": "60s"})");
  first_->state->script.push_back(
      Failure(absl::UnavailableError("down"), true));
  ASSERT_TRUE(
      Run(Request("r-1")).ok());  // first fails over and opens its circuit
  ASSERT_TRUE(Guard("first").circuit_open());
  auto result = Run(Request("r-2"));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->disclosures_size(),
            1);  // nothing went to the ejected provider
  EXPECT_EQ(Sent(first_), 1u);
  EXPECT_EQ(Sent(second_), 2u);
}

}  // namespace
}  // namespace idgate
