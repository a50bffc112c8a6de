#include "adapters/bank/bank_adapter.h"

#include <memory>
#include <string>
#include <vector>

#include "adapters/bank/bank_codes.h"
#include "adapters/bank/bank_mock.h"
#include "adapters/mock_support/identity_book.h"
#include "adapters/mock_support/mock_host.h"
#include "adapters/provider_call.h"
#include "adapters/testing/adapter_test.h"
#include "core/pii_fields.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "idgate/provider/v1/bank.grpc.pb.h"

namespace idgate {
namespace {

using ::idgate::config::v1::BankAdapterConfig;
using ::idgate::provider::v1::BankMismatchField;
using ::idgate::provider::v1::CheckFourFactorRequest;
using ::idgate::provider::v1::CheckFourFactorResponse;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr PiiForm kPlain = ::idgate::v1::PII_FORM_PLAIN;
constexpr auto kName = ::idgate::v1::PII_FIELD_NAME;
constexpr auto kId = ::idgate::v1::PII_FIELD_ID_NUMBER;
constexpr auto kCard = ::idgate::v1::PII_FIELD_BANK_CARD_NUMBER;
constexpr auto kMobile = ::idgate::v1::PII_FIELD_MOBILE;

const DocumentedCode kCodeTable[] = {
    {"0000", absl::StatusCode::kOk, ::idgate::v1::VERDICT_MATCH, true, false},
    {"2001", absl::StatusCode::kOk, ::idgate::v1::VERDICT_MISMATCH, true,
     false},
    {"2002", absl::StatusCode::kOk, ::idgate::v1::VERDICT_CARD_UNUSABLE, true,
     false},
    {"2003", absl::StatusCode::kOk, ::idgate::v1::VERDICT_CARD_UNUSABLE, true,
     false},
    {"2004", absl::StatusCode::kOk, ::idgate::v1::VERDICT_CARD_UNUSABLE, true,
     false},
    {"3001", absl::StatusCode::kOk, ::idgate::v1::VERDICT_NO_RECORD, false,
     false},
    {"1000", absl::StatusCode::kInternal, ::idgate::v1::VERDICT_UNSPECIFIED,
     false, false},
    {"1001", absl::StatusCode::kFailedPrecondition,
     ::idgate::v1::VERDICT_UNSPECIFIED, false, false},
    {"1002", absl::StatusCode::kFailedPrecondition,
     ::idgate::v1::VERDICT_UNSPECIFIED, false, false},
    {"1003", absl::StatusCode::kFailedPrecondition,
     ::idgate::v1::VERDICT_UNSPECIFIED, false, false},
    {"1004", absl::StatusCode::kFailedPrecondition,
     ::idgate::v1::VERDICT_UNSPECIFIED, false, false},
    {"9001", absl::StatusCode::kUnavailable, ::idgate::v1::VERDICT_UNSPECIFIED,
     false, true},
    {"9002", absl::StatusCode::kResourceExhausted,
     ::idgate::v1::VERDICT_UNSPECIFIED, false, false},
    // Unknown codes: never a match, never billed, never retried.
    {"0", absl::StatusCode::kInternal, ::idgate::v1::VERDICT_UNSPECIFIED, false,
     false},
    {"2005", absl::StatusCode::kInternal, ::idgate::v1::VERDICT_UNSPECIFIED,
     false, false},
    {"", absl::StatusCode::kInternal, ::idgate::v1::VERDICT_UNSPECIFIED, false,
     false},
};

TEST(BankMappingTest, EveryCodeMapsPerTheTable) {
  for (const DocumentedCode& row : kCodeTable) {
    SCOPED_TRACE("code '" + row.code + "'");
    CheckFourFactorResponse response;
    response.set_resp_code(row.code);
    response.set_resp_msg("6222020000000000018 测试甲");  // never echoed
    const ProviderOutcome outcome = MapBankResult(grpc::Status::OK, response);
    ExpectMapped(outcome, row);
    EXPECT_EQ(outcome.billed, bank::IsBilled(row.code));
    EXPECT_THAT(std::string(outcome.status.message()),
                Not(HasSubstr("6222020000000000018")));
    if (!outcome.status.ok() && !row.code.empty()) {
      EXPECT_THAT(std::string(outcome.status.message()), HasSubstr(row.code));
    }
  }
}

TEST(BankMappingTest, UnexpectedCodeContentIsNotRepeated) {
  CheckFourFactorResponse response;
  response.set_resp_code("card 6222020000000000018");
  const ProviderOutcome outcome = MapBankResult(grpc::Status::OK, response);
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(outcome.provider_code, "");
  EXPECT_THAT(std::string(outcome.status.message()), Not(HasSubstr("6222")));
}

TEST(BankMappingTest, TransportFailures) {
  ExpectTransportFailures(
      [](const grpc::Status& status) {
        CheckFourFactorResponse response;
        response.set_resp_code("0000");
        return MapBankResult(status, response);
      },
      "6222020000000000018");
}

class BankTest : public AdapterTest {
 protected:
  void Start(::idgate::config::v1::MockBehaviour behaviour = {}) {
    MockEnv env;
    env.behaviour = behaviour;
    BankAdapterConfig config;
    config.set_merchant_id("test-merchant");
    StartProvider(BankMockFactory(), env, BankAdapterFactory(), config);
  }

  static MinimizedSubject Subject(absl::string_view name, absl::string_view id,
                                  absl::string_view card,
                                  absl::string_view mobile) {
    return MinimizedSubject::ForTesting(
        {{{kName, kPlain}, std::string(name)},
         {{kId, kPlain}, std::string(id)},
         {{kCard, kPlain}, std::string(card)},
         {{kMobile, kPlain}, std::string(mobile)}});
  }

  MinimizedSubject Holder(absl::string_view label, int card = 0) {
    const auto& p = Person(label);
    return Subject(p.name(), p.id_number(), p.cards(card).number(),
                   p.cards(card).reserved_mobile());
  }

  CheckFourFactorResponse Raw(const CheckFourFactorRequest& request) {
    return CallMock(&::idgate::provider::v1::BankService::Stub::CheckFourFactor,
                    request);
  }
};

TEST_F(BankTest, EveryBookScenarioThroughTheMock) {
  Start();
  ExpectVerdict(Call(Holder("adult-match")), ::idgate::v1::VERDICT_MATCH,
                "0000", true);
  ExpectVerdict(Call(Holder("multi-contact", 1)), ::idgate::v1::VERDICT_MATCH,
                "0000", true);
  ExpectVerdict(Call(Holder("card-lost")), ::idgate::v1::VERDICT_CARD_UNUSABLE,
                "2002", true);
  ExpectVerdict(Call(Holder("card-expired")),
                ::idgate::v1::VERDICT_CARD_UNUSABLE, "2003", true);
  ExpectVerdict(Call(Holder("card-restricted")),
                ::idgate::v1::VERDICT_CARD_UNUSABLE, "2004", true);
  // bank-mismatch: the right card with a mobile the bank does not have.
  const auto& ouyang = Person("bank-mismatch");
  ExpectVerdict(Call(Subject(ouyang.name(), ouyang.id_number(),
                             ouyang.cards(0).number(), "18600000044")),
                ::idgate::v1::VERDICT_MISMATCH, "2001", true);
  // A stranger with a lost card learns a mismatch, not the card's state.
  const auto& lost = Person("card-lost");
  ExpectVerdict(
      Call(Subject(ouyang.name(), ouyang.id_number(), lost.cards(0).number(),
                   lost.cards(0).reserved_mobile())),
      ::idgate::v1::VERDICT_MISMATCH, "2001", true);
  // no-record: a valid card number no bank issued.
  const auto& nobody = Person("no-record");
  ExpectVerdict(Call(Subject(nobody.name(), nobody.id_number(),
                             "6217000000009999990", "13700000009")),
                ::idgate::v1::VERDICT_NO_RECORD, "3001", false);
  const auto& adult = Person("adult-match");
  const std::string card = adult.cards(0).number();
  ExpectError(Call(Subject(adult.name(), adult.id_number(),
                           "6222020000000000019", "13800000001")),
              absl::StatusCode::kFailedPrecondition, "1001", false);
  ExpectError(
      Call(Subject(adult.name(), "110101199003070135", card, "13800000001")),
      absl::StatusCode::kFailedPrecondition, "1002", false);
  ExpectError(Call(Subject("\x7f", adult.id_number(), card, "13800000001")),
              absl::StatusCode::kFailedPrecondition, "1003", false);
  ExpectError(Call(Subject(adult.name(), adult.id_number(), card, "1380000")),
              absl::StatusCode::kFailedPrecondition, "1004", false);

  const MockStats stats = Stats();
  EXPECT_EQ(stats.requests, static_cast<uint64_t>(calls_));
  EXPECT_EQ(stats.billed, 7u);
  const std::map<FieldForm, uint64_t> expected = {{{kName, kPlain}, 12},
                                                  {{kId, kPlain}, 12},
                                                  {{kCard, kPlain}, 12},
                                                  {{kMobile, kPlain}, 12}};
  EXPECT_EQ(stats.fields_received, expected);
}

TEST_F(BankTest, MockNamesTheMismatchedFactors) {
  Start();
  const auto& adult = Person("adult-match");
  const auto& other = Person("carrier-mismatch");
  CheckFourFactorRequest request;
  request.set_merchant_id("m");
  request.set_order_no("o-7");
  request.set_cert_type(::idgate::provider::v1::BANK_CERT_TYPE_RESIDENT_ID);
  request.set_name(other.name());
  request.set_id_number(other.id_number());
  request.set_card_number(adult.cards(0).number());
  request.set_mobile(adult.cards(0).reserved_mobile());
  auto response = Raw(request);
  EXPECT_EQ(response.resp_code(), "2001");
  EXPECT_EQ(response.order_no(), "o-7");
  EXPECT_EQ(response.issuer(), "ICBC");
  EXPECT_THAT(response.mismatched_fields(),
              ElementsAre(BankMismatchField::BANK_MISMATCH_FIELD_NAME,
                          BankMismatchField::BANK_MISMATCH_FIELD_ID_NUMBER));
  request.set_name(adult.name());
  request.set_id_number(adult.id_number());
  request.set_mobile("13800000002");
  EXPECT_THAT(Raw(request).mismatched_fields(),
              ElementsAre(BankMismatchField::BANK_MISMATCH_FIELD_MOBILE));
  request.clear_merchant_id();
  EXPECT_EQ(Raw(request).resp_code(), "1000");
}

TEST_F(BankTest, BehaviourCodesThroughTheAdapter) {
  ::idgate::config::v1::MockBehaviour busy;
  busy.set_busy_rate(1);
  Start(busy);
  ExpectError(Call(Holder("adult-match")), absl::StatusCode::kUnavailable,
              "9001", true);

  ::idgate::config::v1::MockBehaviour limited;
  limited.set_daily_limit_per_subject(1);
  Start(limited);
  ExpectVerdict(Call(Holder("multi-contact", 0)), ::idgate::v1::VERDICT_MATCH,
                "0000", true);
  // Another card of the same person: the limit is per person.
  ExpectError(Call(Holder("multi-contact", 1)),
              absl::StatusCode::kResourceExhausted, "9002", false);
  ExpectVerdict(Call(Holder("adult-match")), ::idgate::v1::VERDICT_MATCH,
                "0000", true);

  ::idgate::config::v1::MockBehaviour failing;
  failing.set_error_rate(1);
  Start(failing);
  ExpectError(Call(Holder("adult-match")), absl::StatusCode::kUnavailable, "",
              true);

  ::idgate::config::v1::MockBehaviour hang;
  hang.set_hang(true);
  Start(hang);
  const ProviderOutcome outcome =
      Call(Holder("adult-match"), absl::Milliseconds(200));
  ExpectError(outcome, absl::StatusCode::kDeadlineExceeded, "", true);
  EXPECT_TRUE(outcome.sent);
  EXPECT_EQ(Stats().billed, 0u);
}

TEST_F(BankTest, AdapterContract) {
  Start();
  EXPECT_EQ(adapter_->checks(),
            std::vector<Check>{::idgate::config::v1::CHECK_BANK_FOUR_FACTOR});
  const std::vector<FieldForm> required = {
      {kName, kPlain}, {kId, kPlain}, {kCard, kPlain}, {kMobile, kPlain}};
  EXPECT_EQ(
      adapter_->RequiredFields(::idgate::config::v1::CHECK_BANK_FOUR_FACTOR),
      required);
  CallContext context{::idgate::config::v1::CHECK_BANK_FOUR_FACTOR, "disc-9"};
  auto prepared = adapter_->Prepare(Holder("adult-match"), context);
  ASSERT_TRUE(prepared.ok());
  const PiiFieldsFound found = CollectPiiFields((*prepared)->request());
  EXPECT_TRUE(found.unclassified.empty());
  EXPECT_EQ(found.pairs, std::set<FieldForm>(required.begin(), required.end()));
  const auto& request =
      static_cast<const CheckFourFactorRequest&>((*prepared)->request());
  EXPECT_EQ(request.order_no(), "disc-9");
  EXPECT_EQ(request.merchant_id(), "test-merchant");

  // Without the card (no financial consent), nothing is built.
  const auto& adult = Person("adult-match");
  auto incomplete = adapter_->Prepare(
      MinimizedSubject::ForTesting({{{kName, kPlain}, adult.name()},
                                    {{kId, kPlain}, adult.id_number()},
                                    {{kMobile, kPlain}, "13800000001"}}),
      context);
  EXPECT_EQ(incomplete.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(incomplete.status().message()),
              HasSubstr("PII_FIELD_BANK_CARD_NUMBER"));
  EXPECT_THAT(std::string(incomplete.status().message()),
              Not(HasSubstr(adult.id_number())));
}

TEST_F(BankTest, NoTimeLeftMeansNothingSent) {
  Start();
  ExpectNothingSent(Call(Holder("adult-match"), -absl::Seconds(1)));
}

TEST(BankProtocolTest, EveryTextFieldIsClassified) {
  ExpectEveryTextFieldClassified({CheckFourFactorRequest::descriptor(),
                                  CheckFourFactorResponse::descriptor()});
}

TEST(BankFactoryTest, ValidatesConfig) {
  BankAdapterFactory factory;
  EXPECT_EQ(factory.config_type(), "idgate.config.v1.BankAdapterConfig");
  EXPECT_EQ(BankMockFactory().config_type(), factory.config_type());
  UnconnectedEnv unconnected("bank_a");
  ::idgate::config::v1::Provider& provider = unconnected.provider;
  AdapterEnv& env = unconnected.env;
  EXPECT_FALSE(factory.Create(env).ok());  // no adapter config at all
  BankAdapterConfig config;
  provider.mutable_adapter()->PackFrom(config);
  auto missing = factory.Create(env);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("providers[bank_a].adapter"));
  config.set_merchant_id("m");
  provider.mutable_adapter()->PackFrom(config);
  EXPECT_TRUE(factory.Create(env).ok());
  env.call_queue = nullptr;
  EXPECT_FALSE(factory.Create(env).ok());
}

}  // namespace
}  // namespace idgate
