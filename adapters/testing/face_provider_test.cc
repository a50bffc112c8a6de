#include "adapters/testing/face_provider_test.h"

#include <map>
#include <utility>

#include "absl/synchronization/notification.h"
#include "adapters/signing/signing.h"
#include "core/pii_fields.h"
#include "gmock/gmock.h"

namespace idgate {

namespace {

using ::idgate::config::v1::MockBehaviour;
using ::idgate::v1::PII_FIELD_FACE_IMAGE;
using ::idgate::v1::PII_FIELD_ID_NUMBER;
using ::idgate::v1::PII_FIELD_LIVENESS_VIDEO;
using ::idgate::v1::PII_FIELD_NAME;
using ::testing::HasSubstr;
using ::testing::Not;

MockBehaviour Hang() {
  MockBehaviour behaviour;
  behaviour.set_hang(true);
  return behaviour;
}

}  // namespace

absl::Time FixedNow() { return absl::FromUnixSeconds(1709265600); }

void PrintTo(const FaceProvider& provider, std::ostream* os) {
  *os << provider.name;
}

void FaceProviderTest::SetUp() {
  AdapterTest::SetUp();
  public_key_ = ReadTestFile(provider_.public_key_file);
  ASSERT_FALSE(public_key_.empty());
  StartMock(MockBehaviour(), public_key_);
}

void FaceProviderTest::StartMock(const MockBehaviour& behaviour,
                                 const std::string& pem) {
  StartMock(behaviour, pem, *provider_.config);
}

void FaceProviderTest::StartMock(const MockBehaviour& behaviour,
                                 const std::string& pem,
                                 const google::protobuf::Message& config) {
  MockEnv env;
  env.behaviour = behaviour;
  env.verify_public_key_pem = pem;
  env.seed = provider_.seed;
  StartProvider(*provider_.mocks, env, *provider_.adapters, config);
}

MinimizedSubject FaceProviderTest::OwnFace(const std::string& label) {
  const auto& person = Person(label);
  return FaceSubject(person.name(), person.id_number(), Face(label + ".jpg"));
}

void FaceProviderTest::PrepareInto(const MinimizedSubject& subject,
                                   google::protobuf::Message& request) {
  auto call = adapter_->Prepare(subject, {kFaceCheck, NextId()});
  EXPECT_TRUE(call.ok()) << call.status();
  if (call.ok()) request.CopyFrom((*call)->request());
}

std::set<FieldForm> FaceProviderTest::SentFields(
    const std::set<FieldForm>& policy) {
  const auto& person = Person("adult-match");
  const PersonalValues values = {
      {PII_FIELD_NAME, person.name()},
      {PII_FIELD_ID_NUMBER, person.id_number()},
      {PII_FIELD_FACE_IMAGE, Face("adult-match.jpg")},
      {PII_FIELD_LIVENESS_VIDEO, Face("liveness-video-ok.mp4")}};
  auto call = adapter_->Prepare(MinimizedSubject::Minimize(values, policy),
                                {kFaceCheck, "d"});
  EXPECT_TRUE(call.ok()) << call.status();
  if (!call.ok()) return {};
  return CollectPiiFields((*call)->request()).pairs;
}

void FaceProviderTest::ExpectSignedWithOnlyTheSubjectFields(
    const google::protobuf::Message& request, absl::string_view signature) {
  auto verifier = signing::RsaVerifier::FromPem(public_key_);
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  EXPECT_TRUE(signing::VerifyRequest(**verifier, request,
                                     provider_.signature_field, signature));
  const PiiFieldsFound egress = CollectPiiFields(request);
  EXPECT_EQ(egress.pairs,
            (std::set<FieldForm>{kPlainName, kPlainId, kPlainImage}));
  EXPECT_TRUE(egress.unclassified.empty());
}

void FaceProviderTest::Resign(google::protobuf::Message& request) const {
  auto signer =
      signing::RsaSigner::FromFile(provider_.signing_key_file, "test");
  ASSERT_TRUE(signer.ok()) << signer.status();
  const absl::Status signed_again =
      signing::SignInto(**signer, request, provider_.signature_field, "test");
  ASSERT_TRUE(signed_again.ok()) << signed_again;
}

TEST_P(FaceCheckTest, FactoriesShareTheConfigType) {
  EXPECT_EQ(provider_.adapters->config_type(), provider_.config_type);
  EXPECT_EQ(provider_.mocks->config_type(), provider_.adapters->config_type());
}

TEST_P(FaceCheckTest, RequiredFields) {
  EXPECT_EQ(adapter_->checks(), std::vector<Check>{kFaceCheck});
  EXPECT_EQ(adapter_->RequiredFields(kFaceCheck),
            (std::vector<FieldForm>{kPlainName, kPlainId, kPlainImage}));
  EXPECT_TRUE(
      adapter_->RequiredFields(::idgate::config::v1::CHECK_CARRIER_THREE_FACTOR)
          .empty());
  EXPECT_TRUE(
      adapter_->RequiredFields(::idgate::config::v1::CHECK_BANK_FOUR_FACTOR)
          .empty());
}

TEST_P(FaceCheckTest, EveryTextFieldIsClassified) {
  ExpectEveryTextFieldClassified({provider_.request, provider_.response});
}

TEST_P(FaceCheckTest, MissingRequiredFieldFailsWithoutValues) {
  const auto& person = Person("adult-match");
  for (const PiiField missing :
       {PII_FIELD_NAME, PII_FIELD_ID_NUMBER, PII_FIELD_FACE_IMAGE}) {
    SCOPED_TRACE(missing);
    PersonalValues values = {{PII_FIELD_NAME, person.name()},
                             {PII_FIELD_ID_NUMBER, person.id_number()},
                             {PII_FIELD_FACE_IMAGE, Face("adult-match.jpg")}};
    values.erase(missing);
    auto call = adapter_->Prepare(
        MinimizedSubject::Minimize(values, {kPlainName, kPlainId, kPlainImage}),
        {kFaceCheck, "d"});
    ASSERT_FALSE(call.ok());
    EXPECT_EQ(call.status().code(), absl::StatusCode::kInternal);
    EXPECT_THAT(std::string(call.status().message()),
                Not(HasSubstr(person.name())));
    EXPECT_THAT(std::string(call.status().message()),
                Not(HasSubstr(person.id_number())));
  }
}

TEST_P(FaceCheckTest, Match) {
  const ProviderOutcome outcome = Call(OwnFace("adult-match"));
  ExpectVerdict(outcome, ::idgate::v1::VERDICT_MATCH, provider_.codes.match,
                /*billed=*/true);
  EXPECT_GE(outcome.face_similarity, 92);
  EXPECT_LT(outcome.face_similarity, 99);
  EXPECT_TRUE(outcome.liveness_passed);
}

TEST_P(FaceCheckTest, NameIdMismatch) {
  const auto& person = Person("adult-match");
  ExpectVerdict(Call(FaceSubject(Person("carrier-mismatch").name(),
                                 person.id_number(), Face("adult-match.jpg"))),
                ::idgate::v1::VERDICT_MISMATCH,
                provider_.codes.name_id_mismatch,
                /*billed=*/true);
}

TEST_P(FaceCheckTest, FaceMismatch) {
  const auto& person = Person("adult-match");
  const ProviderOutcome outcome = Call(
      FaceSubject(person.name(), person.id_number(), Face("stranger.jpg")));
  ExpectVerdict(outcome, ::idgate::v1::VERDICT_MISMATCH,
                provider_.codes.face_mismatch, /*billed=*/true);
  EXPECT_GT(outcome.face_similarity, 0);
  EXPECT_LT(outcome.face_similarity, 40);
  EXPECT_TRUE(outcome.liveness_passed);
}

TEST_P(FaceCheckTest, NoIdPhotoIsNoRecordAndNotBilled) {
  ExpectVerdict(Call(OwnFace("no-id-photo")), ::idgate::v1::VERDICT_NO_RECORD,
                provider_.codes.no_id_photo, /*billed=*/false);
}

TEST_P(FaceCheckTest, UnknownIdNumberIsNoRecord) {
  // Valid check character, not in the book.
  const ProviderOutcome outcome =
      Call(FaceSubject("测试未知", "11010519491231002X", Face("stranger.jpg")));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_NO_RECORD);
  EXPECT_FALSE(outcome.billed);
}

TEST_P(FaceCheckTest, SpoofedImageFailsLiveness) {
  const auto& person = Person("liveness-fail");
  const ProviderOutcome outcome = Call(FaceSubject(
      person.name(), person.id_number(), Face("liveness-fail-spoof.jpg")));
  ExpectVerdict(outcome, ::idgate::v1::VERDICT_LIVENESS_FAILED,
                provider_.codes.liveness_failed, /*billed=*/true);
  EXPECT_FALSE(outcome.liveness_passed);
  // The same person's genuine image passes.
  EXPECT_EQ(Call(OwnFace("liveness-fail")).verdict,
            ::idgate::v1::VERDICT_MATCH);
}

TEST_P(FaceCheckTest, StatsCountRequestsBillingAndFields) {
  Call(OwnFace("adult-match"));
  Call(OwnFace("no-id-photo"));
  Call(OwnFace("liveness-fail"));
  const MockStats stats = Stats();
  EXPECT_EQ(stats.requests, 3u);
  EXPECT_EQ(stats.billed, 2u);
  EXPECT_EQ(stats.fields_received,
            (std::map<FieldForm, uint64_t>{
                {kPlainName, 3}, {kPlainId, 3}, {kPlainImage, 3}}));
}

TEST_P(FaceCheckTest, SignatureByAnotherKeyIsRefusedThroughTheAdapter) {
  // The mock trusts another provider's key only: every call the adapter
  // signs is refused, as an internal, non-retryable, unbilled error.
  StartMock(MockBehaviour(), ReadTestFile(provider_.other_public_key_file));
  ExpectError(Call(OwnFace("adult-match")), absl::StatusCode::kInternal,
              provider_.codes.signature_refused, /*retryable=*/false);
  EXPECT_EQ(Stats().billed, 0u);
}

TEST_P(FaceCheckTest, BusyIsRetryableAndNotBilled) {
  MockBehaviour behaviour;
  behaviour.set_busy_rate(1.0);
  StartMock(behaviour, public_key_);
  std::set<std::string> codes;
  for (int i = 0; i < 8; ++i) {
    const ProviderOutcome outcome = Call(OwnFace("adult-match"));
    EXPECT_EQ(outcome.status.code(), absl::StatusCode::kUnavailable);
    EXPECT_TRUE(outcome.retryable);
    EXPECT_FALSE(outcome.billed);
    codes.insert(outcome.provider_code);
  }
  EXPECT_EQ(codes, provider_.codes.busy);
  EXPECT_EQ(Stats().billed, 0u);
}

TEST_P(FaceCheckTest, DailyLimitPerSubject) {
  MockBehaviour behaviour;
  behaviour.set_daily_limit_per_subject(2);
  StartMock(behaviour, public_key_);
  const MinimizedSubject subject = OwnFace("adult-match");
  EXPECT_EQ(Call(subject).verdict, ::idgate::v1::VERDICT_MATCH);
  EXPECT_EQ(Call(subject).verdict, ::idgate::v1::VERDICT_MATCH);
  ExpectError(Call(subject), absl::StatusCode::kResourceExhausted,
              provider_.codes.daily_limit, /*retryable=*/false);
  EXPECT_EQ(Stats().billed, 2u);
  // The limit is per subject: another person is still answered.
  EXPECT_TRUE(Call(OwnFace("liveness-fail")).status.ok());
}

TEST_P(FaceCheckTest, TransportErrorIsRetryable) {
  MockBehaviour behaviour;
  behaviour.set_error_rate(1.0);
  StartMock(behaviour, public_key_);
  const ProviderOutcome outcome = Call(OwnFace("adult-match"));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(outcome.retryable);
  EXPECT_FALSE(outcome.billed);
  EXPECT_TRUE(outcome.sent);
}

TEST_P(FaceCheckTest, HangEndsAtTheDeadline) {
  StartMock(Hang(), public_key_);
  const ProviderOutcome outcome =
      Call(OwnFace("adult-match"), absl::Milliseconds(200));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(outcome.retryable);
  EXPECT_FALSE(outcome.billed);
  EXPECT_TRUE(outcome.sent);
}

TEST_P(FaceCheckTest, CancelEndsAHungCall) {
  StartMock(Hang(), public_key_);
  auto call =
      adapter_->Prepare(OwnFace("adult-match"), {kFaceCheck, "disc-cancel"});
  ASSERT_TRUE(call.ok());
  absl::Notification done;
  ProviderOutcome result;
  (*call)->Send(absl::Now() + absl::Seconds(30), [&](ProviderOutcome outcome) {
    result = std::move(outcome);
    done.Notify();
  });
  // Wait until the mock holds the call, then cancel.
  while (Stats().requests == 0) absl::SleepFor(absl::Milliseconds(5));
  (*call)->Cancel();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(result.status.code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(result.retryable);
  EXPECT_FALSE(result.billed);
}

TEST_P(FaceCheckTest, PassedDeadlineSendsNothing) {
  auto call =
      adapter_->Prepare(OwnFace("adult-match"), {kFaceCheck, "disc-late"});
  ASSERT_TRUE(call.ok());
  // The adapter's clock is fixed in 2024: any deadline before it has passed.
  ExpectNothingSent(Send(**call, FixedNow() - absl::Seconds(1)));
}

}  // namespace idgate
