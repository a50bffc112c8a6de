#include "adapters/carrier/carrier_adapter.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "adapters/carrier/carrier_codes.h"
#include "adapters/carrier/carrier_mock.h"
#include "adapters/mock_support/identity_book.h"
#include "adapters/mock_support/mock_host.h"
#include "adapters/provider_call.h"
#include "adapters/testing/adapter_test.h"
#include "core/digest.h"
#include "core/pii_fields.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "idgate/provider/v1/carrier.grpc.pb.h"

namespace idgate {
namespace {

using ::idgate::config::v1::CarrierAdapterConfig;
using ::idgate::provider::v1::CarrierMismatch;
using ::idgate::provider::v1::CheckThreeFactorRequest;
using ::idgate::provider::v1::CheckThreeFactorResponse;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr PiiForm kPlain = ::idgate::v1::PII_FORM_PLAIN;
constexpr PiiForm kSha256 = ::idgate::v1::PII_FORM_SHA256;
constexpr PiiForm kSm3 = ::idgate::v1::PII_FORM_SM3;
constexpr auto kName = ::idgate::v1::PII_FIELD_NAME;
constexpr auto kId = ::idgate::v1::PII_FIELD_ID_NUMBER;
constexpr auto kMobile = ::idgate::v1::PII_FIELD_MOBILE;

// ---- The mapping table, driven directly. ----

const DocumentedCode kCodeTable[] = {
    {"0", absl::StatusCode::kOk, ::idgate::v1::VERDICT_MATCH, true, false},
    {"-4", absl::StatusCode::kOk, ::idgate::v1::VERDICT_MISMATCH, true, false},
    {"-9", absl::StatusCode::kOk, ::idgate::v1::VERDICT_NO_RECORD, false,
     false},
    {"-1", absl::StatusCode::kInternal, ::idgate::v1::VERDICT_UNSPECIFIED,
     false, false},
    {"-6", absl::StatusCode::kFailedPrecondition,
     ::idgate::v1::VERDICT_UNSPECIFIED, false, false},
    {"-7", absl::StatusCode::kFailedPrecondition,
     ::idgate::v1::VERDICT_UNSPECIFIED, false, false},
    {"-8", absl::StatusCode::kFailedPrecondition,
     ::idgate::v1::VERDICT_UNSPECIFIED, false, false},
    {"-10", absl::StatusCode::kFailedPrecondition,
     ::idgate::v1::VERDICT_UNSPECIFIED, false, true},
    {"-11", absl::StatusCode::kUnavailable, ::idgate::v1::VERDICT_UNSPECIFIED,
     false, true},
    {"-12", absl::StatusCode::kResourceExhausted,
     ::idgate::v1::VERDICT_UNSPECIFIED, false, false},
    // Unknown codes: never a match, never billed, never retried.
    {"1", absl::StatusCode::kInternal, ::idgate::v1::VERDICT_UNSPECIFIED, false,
     false},
    {"-5", absl::StatusCode::kInternal, ::idgate::v1::VERDICT_UNSPECIFIED,
     false, false},
    {"", absl::StatusCode::kInternal, ::idgate::v1::VERDICT_UNSPECIFIED, false,
     false},
    {"00", absl::StatusCode::kInternal, ::idgate::v1::VERDICT_UNSPECIFIED,
     false, false},
};

TEST(CarrierMappingTest, EveryCodeMapsPerTheTable) {
  for (const DocumentedCode& row : kCodeTable) {
    SCOPED_TRACE("code '" + row.code + "'");
    CheckThreeFactorResponse response;
    response.set_code(row.code);
    response.set_message("13800000001 测试甲");  // must never be echoed
    const ProviderOutcome outcome =
        MapCarrierResult(grpc::Status::OK, response);
    ExpectMapped(outcome, row);
    EXPECT_EQ(outcome.billed, carrier::IsBilled(row.code));
    EXPECT_THAT(std::string(outcome.status.message()),
                Not(HasSubstr("13800000001")));
    if (!outcome.status.ok() && !row.code.empty()) {
      EXPECT_THAT(std::string(outcome.status.message()), HasSubstr(row.code));
    }
  }
}

TEST(CarrierMappingTest, UnexpectedCodeContentIsNotRepeated) {
  CheckThreeFactorResponse response;
  response.set_code("110101199003070134");
  ProviderOutcome outcome = MapCarrierResult(grpc::Status::OK, response);
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_UNSPECIFIED);
  EXPECT_EQ(outcome.provider_code, "");
  EXPECT_THAT(std::string(outcome.status.message()), Not(HasSubstr("110101")));
}

TEST(CarrierMappingTest, TransportFailures) {
  // A body that arrived with an error status is ignored.
  ExpectTransportFailures(
      [](const grpc::Status& status) {
        CheckThreeFactorResponse response;
        response.set_code("0");
        return MapCarrierResult(status, response);
      },
      "13800000001");
}

// ---- Adapter against the mock over an in-process channel. ----

class CarrierTest : public AdapterTest {
 protected:
  // Starts a mock with `behaviour` and a `mode` adapter in front of it.
  void Start(::idgate::config::v1::MockBehaviour behaviour = {},
             ::idgate::config::v1::CarrierMode mode =
                 ::idgate::config::v1::CARRIER_MODE_PLAIN) {
    MockEnv env;
    env.behaviour = behaviour;
    StartProvider(CarrierMockFactory(), env, CarrierAdapterFactory(),
                  Config(mode));
    form_ = mode == ::idgate::config::v1::CARRIER_MODE_SHA256 ? kSha256
            : mode == ::idgate::config::v1::CARRIER_MODE_SM3  ? kSm3
                                                              : kPlain;
  }

  static CarrierAdapterConfig Config(::idgate::config::v1::CarrierMode mode) {
    CarrierAdapterConfig config;
    config.set_mode(mode);
    config.set_app_id("test-app");
    return config;
  }

  MinimizedSubject Subject(absl::string_view name, absl::string_view id,
                           absl::string_view mobile) const {
    return MinimizedSubject::ForTesting(
        {{{kName, form_}, IdentityBook::InForm(name, form_)},
         {{kId, form_}, IdentityBook::InForm(id, form_)},
         {{kMobile, form_}, IdentityBook::InForm(mobile, form_)}});
  }

  ProviderOutcome CallPerson(absl::string_view label) {
    const auto& p = Person(label);
    return Call(Subject(p.name(), p.id_number(), p.mobiles(0).number()));
  }

  PiiForm form_ = kPlain;
};

TEST_F(CarrierTest, EveryBookScenarioThroughTheMock) {
  Start();
  const auto& adult = Person("adult-match");
  const std::string name = adult.name(), id = adult.id_number(),
                    mobile = adult.mobiles(0).number();
  const auto& other = Person("carrier-mismatch");

  ExpectVerdict(Call(Subject(name, id, mobile)), ::idgate::v1::VERDICT_MATCH,
                "0", true);
  ExpectVerdict(CallPerson("minority-name"), ::idgate::v1::VERDICT_MATCH, "0",
                true);
  ExpectVerdict(CallPerson("latin-name"), ::idgate::v1::VERDICT_MATCH, "0",
                true);
  ExpectVerdict(CallPerson("id-check-x"), ::idgate::v1::VERDICT_MATCH, "0",
                true);
  // Someone else's name and ID with adult-match's mobile.
  ExpectVerdict(Call(Subject(other.name(), other.id_number(), mobile)),
                ::idgate::v1::VERDICT_MISMATCH, "-4", true);
  ExpectVerdict(Call(Subject("李错误", id, mobile)),
                ::idgate::v1::VERDICT_MISMATCH, "-4", true);
  ExpectVerdict(Call(Subject(name, other.id_number(), mobile)),
                ::idgate::v1::VERDICT_MISMATCH, "-4", true);
  // no-record: a number the carrier does not know.
  const auto& nobody = Person("no-record");
  ExpectVerdict(Call(Subject(nobody.name(), nobody.id_number(), "13700000009")),
                ::idgate::v1::VERDICT_NO_RECORD, "-9", false);
  ExpectError(Call(Subject(name, id, "12345")),
              absl::StatusCode::kFailedPrecondition, "-6", false);
  ExpectError(Call(Subject(name, "110101199003070135", mobile)),
              absl::StatusCode::kFailedPrecondition, "-7", false);
  ExpectError(Call(Subject("测\x01试", id, mobile)),
              absl::StatusCode::kFailedPrecondition, "-8", false);
  ExpectError(CallPerson("satellite-segment"),
              absl::StatusCode::kFailedPrecondition, "-10", true);
  // Not a registered number, but in an unsupported segment either way.
  ExpectError(Call(Subject(name, id, "13490000001")),
              absl::StatusCode::kFailedPrecondition, "-10", true);

  // The mock bills exactly what the adapter reports billed: 7 answers.
  const MockStats stats = Stats();
  EXPECT_EQ(stats.requests, static_cast<uint64_t>(calls_));
  EXPECT_EQ(stats.billed, 7u);
}

TEST_F(CarrierTest, MockReportsWhichPairMismatched) {
  Start();
  const auto& adult = Person("adult-match");
  const auto& other = Person("carrier-mismatch");
  auto stub = ::idgate::provider::v1::CarrierService::NewStub(
      host_->InProcessChannel());
  auto ask = [&](const std::string& name, const std::string& id) {
    CheckThreeFactorRequest request;
    request.set_app_id("a");
    request.set_order_no("o-1");
    request.set_hash_mode(::idgate::provider::v1::CARRIER_HASH_MODE_PLAIN);
    request.set_name(name);
    request.set_id_number(id);
    request.set_mobile(adult.mobiles(0).number());
    CheckThreeFactorResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(stub->CheckThreeFactor(&context, request, &response).ok());
    EXPECT_EQ(response.order_no(), "o-1");
    return response;
  };
  auto r = ask(adult.name(), adult.id_number());
  EXPECT_EQ(r.code(), "0");
  EXPECT_EQ(r.operator_name(), "CMCC");
  EXPECT_EQ(ask(other.name(), adult.id_number()).mismatch(),
            CarrierMismatch::CARRIER_MISMATCH_NAME);
  EXPECT_EQ(ask(adult.name(), other.id_number()).mismatch(),
            CarrierMismatch::CARRIER_MISMATCH_ID_NUMBER);
  EXPECT_EQ(ask(other.name(), other.id_number()).mismatch(),
            CarrierMismatch::CARRIER_MISMATCH_NAME_AND_ID_NUMBER);
}

TEST_F(CarrierTest, MockRefusesMixedOrModelessRequests) {
  Start();
  auto stub = ::idgate::provider::v1::CarrierService::NewStub(
      host_->InProcessChannel());
  const auto& adult = Person("adult-match");
  CheckThreeFactorRequest request;
  request.set_app_id("a");
  request.set_order_no("o");
  request.set_name(adult.name());
  request.set_id_number(adult.id_number());
  request.set_mobile(adult.mobiles(0).number());
  CheckThreeFactorResponse response;
  {
    grpc::ClientContext context;  // no hash_mode
    ASSERT_TRUE(stub->CheckThreeFactor(&context, request, &response).ok());
    EXPECT_EQ(response.code(), "-1");
  }
  request.set_hash_mode(::idgate::provider::v1::CARRIER_HASH_MODE_PLAIN);
  request.set_mobile_sha256(Sha256Hex(adult.mobiles(0).number()));
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub->CheckThreeFactor(&context, request, &response).ok());
    EXPECT_EQ(response.code(), "-1");
  }
}

class CarrierHashedTest
    : public CarrierTest,
      public ::testing::WithParamInterface<::idgate::config::v1::CarrierMode> {
};

TEST_P(CarrierHashedTest, SendsOnlyHashesAndStillAnswers) {
  Start({}, GetParam());
  const auto& adult = Person("adult-match");
  CheckThreeFactorRequest sent;
  ExpectVerdict(
      Call(Subject(adult.name(), adult.id_number(), adult.mobiles(0).number()),
           absl::Seconds(5), &sent),
      ::idgate::v1::VERDICT_MATCH, "0", true);
  EXPECT_TRUE(sent.name().empty());
  EXPECT_TRUE(sent.id_number().empty());
  EXPECT_TRUE(sent.mobile().empty());
  const std::string wire = sent.SerializeAsString();
  EXPECT_THAT(wire, Not(HasSubstr(adult.id_number())));
  EXPECT_THAT(wire, Not(HasSubstr(adult.mobiles(0).number())));
  EXPECT_THAT(wire, Not(HasSubstr(adult.name())));

  ExpectVerdict(
      Call(Subject("李错误", adult.id_number(), adult.mobiles(0).number())),
      ::idgate::v1::VERDICT_MISMATCH, "-4", true);
  ExpectVerdict(Call(Subject(adult.name(), adult.id_number(), "13700000009")),
                ::idgate::v1::VERDICT_NO_RECORD, "-9", false);
  // The segment is found through the book in hashed mode.
  ExpectError(CallPerson("satellite-segment"),
              absl::StatusCode::kFailedPrecondition, "-10", true);

  // Checked at the mock: only this form of each field ever arrived.
  const MockStats stats = Stats();
  const std::map<FieldForm, uint64_t> expected = {
      {{kName, form_}, 4}, {{kId, form_}, 4}, {{kMobile, form_}, 4}};
  EXPECT_EQ(stats.fields_received, expected);
}

TEST_P(CarrierHashedTest, MockRejectsMalformedDigests) {
  Start({}, GetParam());
  const auto& adult = Person("adult-match");
  auto subject = [&](std::string name, std::string id, std::string mobile) {
    return MinimizedSubject::ForTesting({{{kName, form_}, name},
                                         {{kId, form_}, id},
                                         {{kMobile, form_}, mobile}});
  };
  const std::string name = IdentityBook::InForm(adult.name(), form_);
  const std::string id = IdentityBook::InForm(adult.id_number(), form_);
  const std::string mobile =
      IdentityBook::InForm(adult.mobiles(0).number(), form_);
  ExpectError(Call(subject(name, id, adult.mobiles(0).number())),
              absl::StatusCode::kFailedPrecondition, "-6", false);
  ExpectError(Call(subject(name, "ABC", mobile)),
              absl::StatusCode::kFailedPrecondition, "-7", false);
  ExpectError(Call(subject(std::string(64, 'G'), id, mobile)),
              absl::StatusCode::kFailedPrecondition, "-8", false);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, CarrierHashedTest,
    ::testing::Values(::idgate::config::v1::CARRIER_MODE_SHA256,
                      ::idgate::config::v1::CARRIER_MODE_SM3));

TEST_F(CarrierTest, BehaviourCodesThroughTheAdapter) {
  ::idgate::config::v1::MockBehaviour busy;
  busy.set_busy_rate(1);
  Start(busy);
  ExpectError(CallPerson("adult-match"), absl::StatusCode::kUnavailable, "-11",
              true);

  ::idgate::config::v1::MockBehaviour limited;
  limited.set_daily_limit_per_subject(1);
  Start(limited);
  ExpectVerdict(CallPerson("adult-match"), ::idgate::v1::VERDICT_MATCH, "0",
                true);
  ExpectError(CallPerson("adult-match"), absl::StatusCode::kResourceExhausted,
              "-12", false);
  ExpectVerdict(CallPerson("card-lost"), ::idgate::v1::VERDICT_MATCH, "0",
                true);
  EXPECT_EQ(Stats().billed, 2u);

  ::idgate::config::v1::MockBehaviour failing;
  failing.set_error_rate(1);
  Start(failing);
  ExpectError(CallPerson("adult-match"), absl::StatusCode::kUnavailable, "",
              true);
  EXPECT_EQ(Stats().billed, 0u);
}

TEST_F(CarrierTest, HangEndsAtTheDeadline) {
  ::idgate::config::v1::MockBehaviour hang;
  hang.set_hang(true);
  Start(hang);
  const absl::Time start = absl::Now();
  const ProviderOutcome outcome =
      Call(Subject(Person("adult-match").name(),
                   Person("adult-match").id_number(), "13800000001"),
           absl::Milliseconds(300));
  const absl::Duration took = absl::Now() - start;
  ExpectError(outcome, absl::StatusCode::kDeadlineExceeded, "", true);
  EXPECT_TRUE(outcome.sent);
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(3));
  EXPECT_EQ(Stats().requests, 1u);
  EXPECT_EQ(Stats().billed, 0u);
}

TEST_F(CarrierTest, CancelEndsAHungCall) {
  ::idgate::config::v1::MockBehaviour hang;
  hang.set_hang(true);
  Start(hang);
  CallContext context{::idgate::config::v1::CHECK_CARRIER_THREE_FACTOR, "d-1"};
  const auto& adult = Person("adult-match");
  auto prepared = adapter_->Prepare(
      Subject(adult.name(), adult.id_number(), adult.mobiles(0).number()),
      context);
  ASSERT_TRUE(prepared.ok());
  ProviderOutcome result;
  absl::Notification done;
  (*prepared)->Send(absl::Now() + absl::Seconds(30),
                    [&](ProviderOutcome outcome) {
                      result = std::move(outcome);
                      done.Notify();
                    });
  absl::SleepFor(absl::Milliseconds(50));
  (*prepared)->Cancel();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  ExpectError(result, absl::StatusCode::kCancelled, "", false);
}

// The gateway destroys its call queue after its adapters: the destructor
// must not return while a call on the queue has yet to end, or the call's
// callback would run against freed state.
TEST_F(CarrierTest, DestroyingTheCallQueueWaitsForItsCalls) {
  ::idgate::config::v1::MockBehaviour hang;
  hang.set_hang(true);
  Start(hang);
  auto queue = std::make_unique<ProviderCallQueue>();
  auto adapter = CreateAdapter(CarrierAdapterFactory(),
                               Config(::idgate::config::v1::CARRIER_MODE_PLAIN),
                               queue.get());
  ASSERT_TRUE(adapter.ok()) << adapter.status();
  const auto& adult = Person("adult-match");
  auto prepared = (*adapter)->Prepare(
      Subject(adult.name(), adult.id_number(), adult.mobiles(0).number()),
      CallContext{::idgate::config::v1::CHECK_CARRIER_THREE_FACTOR, "d-1"});
  ASSERT_TRUE(prepared.ok());
  std::atomic<bool> ended{false};
  absl::StatusCode code = absl::StatusCode::kOk;
  (*prepared)->Send(absl::Now() + absl::Milliseconds(300),
                    [&](ProviderOutcome outcome) {
                      code = outcome.status.code();
                      ended = true;
                    });
  queue.reset();
  EXPECT_TRUE(ended);
  EXPECT_EQ(code, absl::StatusCode::kDeadlineExceeded);
}

TEST_F(CarrierTest, NoTimeLeftMeansNothingSent) {
  Start();
  const auto& adult = Person("adult-match");
  ExpectNothingSent(
      Call(Subject(adult.name(), adult.id_number(), adult.mobiles(0).number()),
           absl::ZeroDuration()));
}

// ---- Adapter contract. ----

TEST_F(CarrierTest, RequiredFieldsFollowTheMode) {
  for (auto [mode, form] :
       std::vector<std::pair<::idgate::config::v1::CarrierMode, PiiForm>>{
           {::idgate::config::v1::CARRIER_MODE_PLAIN, kPlain},
           {::idgate::config::v1::CARRIER_MODE_SHA256, kSha256},
           {::idgate::config::v1::CARRIER_MODE_SM3, kSm3}}) {
    Start({}, mode);
    EXPECT_EQ(
        adapter_->RequiredFields(
            ::idgate::config::v1::CHECK_CARRIER_THREE_FACTOR),
        (std::vector<FieldForm>{{kName, form}, {kId, form}, {kMobile, form}}));
    EXPECT_TRUE(
        adapter_->RequiredFields(::idgate::config::v1::CHECK_BANK_FOUR_FACTOR)
            .empty());
    EXPECT_EQ(
        adapter_->checks(),
        std::vector<Check>{::idgate::config::v1::CHECK_CARRIER_THREE_FACTOR});

    // The request carries exactly the required pairs, all classified.
    const auto& adult = Person("adult-match");
    CallContext context{::idgate::config::v1::CHECK_CARRIER_THREE_FACTOR,
                        "disclosure-42"};
    auto prepared = adapter_->Prepare(
        Subject(adult.name(), adult.id_number(), adult.mobiles(0).number()),
        context);
    ASSERT_TRUE(prepared.ok());
    const PiiFieldsFound found = CollectPiiFields((*prepared)->request());
    EXPECT_TRUE(found.unclassified.empty());
    EXPECT_EQ(found.pairs, (std::set<FieldForm>{
                               {kName, form}, {kId, form}, {kMobile, form}}));
    const auto& request =
        static_cast<const CheckThreeFactorRequest&>((*prepared)->request());
    EXPECT_EQ(request.order_no(), "disclosure-42");
    EXPECT_EQ(request.app_id(), "test-app");
  }
}

TEST_F(CarrierTest, PrepareRefusesAnIncompleteSubject) {
  Start({}, ::idgate::config::v1::CARRIER_MODE_SHA256);
  CallContext context{::idgate::config::v1::CHECK_CARRIER_THREE_FACTOR, "d"};
  // Plain values where the mode needs SHA-256: not usable, nothing built.
  auto prepared = adapter_->Prepare(
      MinimizedSubject::ForTesting({{{kName, kPlain}, "测试甲"},
                                    {{kId, kSha256}, Sha256Hex("x")},
                                    {{kMobile, kSha256}, Sha256Hex("y")}}),
      context);
  EXPECT_EQ(prepared.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(prepared.status().message()),
              Not(HasSubstr("测试甲")));
  context.check = ::idgate::config::v1::CHECK_FACE_VERIFICATION;
  EXPECT_FALSE(adapter_->Prepare(MinimizedSubject(), context).ok());
}

TEST(CarrierProtocolTest, EveryTextFieldIsClassified) {
  ExpectEveryTextFieldClassified({CheckThreeFactorRequest::descriptor(),
                                  CheckThreeFactorResponse::descriptor()});
}

TEST(CarrierFactoryTest, ValidatesConfig) {
  CarrierAdapterFactory factory;
  EXPECT_EQ(factory.config_type(), "idgate.config.v1.CarrierAdapterConfig");
  EXPECT_EQ(CarrierMockFactory().config_type(), factory.config_type());
  UnconnectedEnv unconnected("carrier_a");
  ::idgate::config::v1::Provider& provider = unconnected.provider;
  AdapterEnv& env = unconnected.env;

  ::idgate::config::v1::BankAdapterConfig wrong;
  provider.mutable_adapter()->PackFrom(wrong);
  EXPECT_FALSE(factory.Create(env).ok());

  CarrierAdapterConfig config;
  config.set_app_id("a");
  provider.mutable_adapter()->PackFrom(config);
  auto missing_mode = factory.Create(env);
  EXPECT_EQ(missing_mode.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing_mode.status().message()),
              HasSubstr("providers[carrier_a].adapter"));

  config.set_mode(::idgate::config::v1::CARRIER_MODE_SM3);
  config.clear_app_id();
  provider.mutable_adapter()->PackFrom(config);
  EXPECT_FALSE(factory.Create(env).ok());

  config.set_app_id("a");
  provider.mutable_adapter()->PackFrom(config);
  auto adapter = factory.Create(env);
  ASSERT_TRUE(adapter.ok()) << adapter.status();
  EXPECT_EQ((*adapter)->RequiredFields(
                ::idgate::config::v1::CHECK_CARRIER_THREE_FACTOR)[0],
            FieldForm(kName, kSm3));

  env.call_queue = nullptr;
  EXPECT_FALSE(factory.Create(env).ok());
}

}  // namespace
}  // namespace idgate
