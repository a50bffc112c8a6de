// The CFCA adapter against the CFCA mock over an in-process channel, with the
// identity book and face images of config/testdata/ (tests run from the
// repository root).
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "adapters/cfca/cfca_adapter.h"
#include "adapters/cfca/cfca_mock.h"
#include "adapters/mock_support/identity_book.h"
#include "adapters/provider_call.h"
#include "adapters/signing/signing.h"
#include "adapters/testing/adapter_test.h"
#include "core/pii.h"
#include "core/pii_fields.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "idgate/provider/v1/cfca.grpc.pb.h"

namespace idgate {
namespace cfca {
namespace {

using ::idgate::config::v1::CfcaAdapterConfig;
using ::idgate::config::v1::MockBehaviour;
using ::idgate::provider::v1::CfcaFaceService;
using ::idgate::provider::v1::CompareFaceRequest;
using ::idgate::provider::v1::CompareFaceResponse;
using ::idgate::v1::PII_FIELD_FACE_IMAGE;
using ::idgate::v1::PII_FIELD_ID_NUMBER;
using ::idgate::v1::PII_FIELD_LIVENESS_VIDEO;
using ::idgate::v1::PII_FIELD_NAME;
using ::idgate::v1::PII_FORM_PLAIN;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr Check kFace = ::idgate::config::v1::CHECK_FACE_VERIFICATION;
const FieldForm kName{PII_FIELD_NAME, PII_FORM_PLAIN};
const FieldForm kId{PII_FIELD_ID_NUMBER, PII_FORM_PLAIN};
const FieldForm kImage{PII_FIELD_FACE_IMAGE, PII_FORM_PLAIN};
const FieldForm kVideo{PII_FIELD_LIVENESS_VIDEO, PII_FORM_PLAIN};

// 2024-03-01 12:00:00 Beijing.
absl::Time FixedNow() { return absl::FromUnixSeconds(1709265600); }

class CfcaTest : public AdapterTest {
 protected:
  void SetUp() override {
    AdapterTest::SetUp();
    public_key_ = ReadTestFile("config/dev-secrets/cfca-signing.pub.pem");
    ASSERT_FALSE(public_key_.empty());
    StartMock(MockBehaviour(), public_key_);
  }

  void StartMock(const MockBehaviour& behaviour, const std::string& pem) {
    MockEnv env;
    env.behaviour = behaviour;
    env.verify_public_key_pem = pem;
    env.seed = 7;
    CfcaAdapterConfig config;
    config.set_institution_id("INST0001");
    config.set_tx_code("2301");
    config.set_signing_key_file("cfca-signing.key");
    StartProvider(CfcaMockFactory(), env, CfcaAdapterFactory(FixedNow), config);
  }

  static MinimizedSubject Subject(const std::string& name,
                                  const std::string& id,
                                  const std::string& image,
                                  const std::string& video = "") {
    return FaceSubject(name, id, image, video);
  }

  // A raw call that bypasses the adapter.
  CompareFaceResponse RawCall(const CompareFaceRequest& request,
                              grpc::Status* status = nullptr) {
    return CallMock(&CfcaFaceService::Stub::CompareFace, request, status);
  }

  // A correctly signed request for `label`'s own face, built by the adapter.
  CompareFaceRequest SignedRequest(const std::string& label) {
    const auto& person = Person(label);
    auto call = adapter_->Prepare(
        Subject(person.name(), person.id_number(), Face(label + ".jpg")),
        {kFace, NextId()});
    EXPECT_TRUE(call.ok());
    CompareFaceRequest request;
    request.CopyFrom((*call)->request());
    return request;
  }

  std::string public_key_;
};

TEST_F(CfcaTest, FactoriesShareTheConfigType) {
  EXPECT_EQ(CfcaAdapterFactory().config_type(),
            "idgate.config.v1.CfcaAdapterConfig");
  EXPECT_EQ(CfcaMockFactory().config_type(),
            CfcaAdapterFactory().config_type());
}

TEST_F(CfcaTest, RequiredAndOptionalFields) {
  EXPECT_EQ(adapter_->checks(), std::vector<Check>{kFace});
  EXPECT_EQ(adapter_->RequiredFields(kFace),
            (std::vector<FieldForm>{kName, kId, kImage}));
  EXPECT_EQ(OptionalFields(kFace), std::vector<FieldForm>{kVideo});
  EXPECT_TRUE(
      adapter_->RequiredFields(::idgate::config::v1::CHECK_CARRIER_THREE_FACTOR)
          .empty());
}

TEST_F(CfcaTest, EveryTextFieldIsClassified) {
  EXPECT_THAT(UnclassifiedFields(CompareFaceRequest::descriptor()),
              ::testing::IsEmpty());
  EXPECT_THAT(UnclassifiedFields(CompareFaceResponse::descriptor()),
              ::testing::IsEmpty());
}

TEST_F(CfcaTest, PreparedRequestIsSignedAndCarriesOnlyTheSubjectFields) {
  const auto& person = Person("adult-match");
  auto call = adapter_->Prepare(
      Subject(person.name(), person.id_number(), Face("adult-match.jpg")),
      {kFace, "disc-42"});
  ASSERT_TRUE(call.ok()) << call.status();
  const auto& request =
      static_cast<const CompareFaceRequest&>((*call)->request());
  EXPECT_EQ(request.institution_id(), "INST0001");
  EXPECT_EQ(request.tx_code(), "2301");
  EXPECT_EQ(request.tx_sn(), "disc-42");
  EXPECT_EQ(request.timestamp(), "20240301120000");
  EXPECT_EQ(request.sign_alg(), "SHA256withRSA");
  EXPECT_TRUE(request.liveness_video().empty());
  auto verifier = signing::RsaVerifier::FromPem(public_key_);
  ASSERT_TRUE(verifier.ok());
  EXPECT_TRUE(signing::VerifyRequest(**verifier, request, "signature",
                                     request.signature()));
  // What the egress guard will see and the ledger will record.
  const PiiFieldsFound egress = CollectPiiFields(request);
  EXPECT_EQ(egress.pairs, (std::set<FieldForm>{kName, kId, kImage}));
  EXPECT_TRUE(egress.unclassified.empty());
}

TEST_F(CfcaTest, VideoIsSentOnlyWhenTheSubjectHasIt) {
  const auto& person = Person("adult-match");
  PersonalValues values = {
      {PII_FIELD_NAME, person.name()},
      {PII_FIELD_ID_NUMBER, person.id_number()},
      {PII_FIELD_FACE_IMAGE, Face("adult-match.jpg")},
      {PII_FIELD_LIVENESS_VIDEO, Face("liveness-video-ok.mp4")}};
  // Policy without the video: not sent even though the caller gave one.
  auto call = adapter_->Prepare(
      MinimizedSubject::Minimize(values, {kName, kId, kImage}), {kFace, "d"});
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(CollectPiiFields((*call)->request()).pairs,
            (std::set<FieldForm>{kName, kId, kImage}));
  call = adapter_->Prepare(
      MinimizedSubject::Minimize(values, {kName, kId, kImage, kVideo}),
      {kFace, "d"});
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(CollectPiiFields((*call)->request()).pairs,
            (std::set<FieldForm>{kName, kId, kImage, kVideo}));
}

TEST_F(CfcaTest, MissingRequiredFieldFailsWithoutValues) {
  const auto& person = Person("adult-match");
  PersonalValues values = {{PII_FIELD_NAME, person.name()},
                           {PII_FIELD_ID_NUMBER, person.id_number()}};
  auto call = adapter_->Prepare(
      MinimizedSubject::Minimize(values, {kName, kId, kImage}), {kFace, "d"});
  ASSERT_FALSE(call.ok());
  EXPECT_EQ(call.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(call.status().message()),
              Not(HasSubstr(person.id_number())));
}

TEST_F(CfcaTest, Match) {
  const auto& person = Person("adult-match");
  const ProviderOutcome outcome =
      Call(Subject(person.name(), person.id_number(), Face("adult-match.jpg")));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_MATCH);
  EXPECT_TRUE(outcome.billed);
  EXPECT_EQ(outcome.provider_code, "2000");
  EXPECT_GE(outcome.face_similarity, 92);
  EXPECT_LT(outcome.face_similarity, 99);
  EXPECT_TRUE(outcome.liveness_passed);
}

TEST_F(CfcaTest, MatchWithLiveVideo) {
  const auto& person = Person("adult-match");
  const ProviderOutcome outcome =
      Call(Subject(person.name(), person.id_number(), Face("adult-match.jpg"),
                   Face("liveness-video-ok.mp4")));
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_MATCH);
  const MockStats stats = Stats();
  EXPECT_EQ(stats.fields_received.at(kVideo), 1u);
}

TEST_F(CfcaTest, NameIdMismatch) {
  const auto& person = Person("adult-match");
  const ProviderOutcome outcome =
      Call(Subject(Person("carrier-mismatch").name(), person.id_number(),
                   Face("adult-match.jpg")));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_MISMATCH);
  EXPECT_TRUE(outcome.billed);
  EXPECT_EQ(outcome.provider_code, "2001");
}

TEST_F(CfcaTest, FaceMismatch) {
  const auto& person = Person("adult-match");
  const ProviderOutcome outcome =
      Call(Subject(person.name(), person.id_number(), Face("stranger.jpg")));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_MISMATCH);
  EXPECT_TRUE(outcome.billed);
  EXPECT_EQ(outcome.provider_code, "2003");
  EXPECT_GT(outcome.face_similarity, 0);
  EXPECT_LT(outcome.face_similarity, 40);
  EXPECT_TRUE(outcome.liveness_passed);
}

TEST_F(CfcaTest, NoIdPhotoIsNoRecordAndNotBilled) {
  const auto& person = Person("no-id-photo");
  const ProviderOutcome outcome =
      Call(Subject(person.name(), person.id_number(), Face("no-id-photo.jpg")));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_NO_RECORD);
  EXPECT_FALSE(outcome.billed);
  EXPECT_EQ(outcome.provider_code, "2002");
}

TEST_F(CfcaTest, UnknownIdNumberIsNoRecord) {
  // Valid check character, not in the book.
  const ProviderOutcome outcome =
      Call(Subject("测试未知", "11010519491231002X", Face("stranger.jpg")));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_NO_RECORD);
  EXPECT_FALSE(outcome.billed);
}

TEST_F(CfcaTest, SpoofedImageFailsLiveness) {
  const auto& person = Person("liveness-fail");
  const ProviderOutcome outcome = Call(Subject(
      person.name(), person.id_number(), Face("liveness-fail-spoof.jpg")));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_LIVENESS_FAILED);
  EXPECT_TRUE(outcome.billed);
  EXPECT_EQ(outcome.provider_code, "2004");
  EXPECT_FALSE(outcome.liveness_passed);
}

TEST_F(CfcaTest, FailingVideoFailsLiveness) {
  const auto& person = Person("adult-match");
  const ProviderOutcome outcome =
      Call(Subject(person.name(), person.id_number(), Face("adult-match.jpg"),
                   Face("liveness-video-fail.mp4")));
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_LIVENESS_FAILED);
  EXPECT_FALSE(outcome.liveness_passed);
}

TEST_F(CfcaTest, StatsCountRequestsBillingAndFields) {
  const auto& match = Person("adult-match");
  const auto& no_photo = Person("no-id-photo");
  Call(Subject(match.name(), match.id_number(), Face("adult-match.jpg")));
  Call(Subject(no_photo.name(), no_photo.id_number(), Face("no-id-photo.jpg")));
  const MockStats stats = Stats();
  EXPECT_EQ(stats.requests, 2u);
  EXPECT_EQ(stats.billed, 1u);
  EXPECT_EQ(stats.fields_received,
            (std::map<FieldForm, uint64_t>{{kName, 2}, {kId, 2}, {kImage, 2}}));
}

TEST_F(CfcaTest, MissingSignatureIsRefused) {
  CompareFaceRequest request = SignedRequest("adult-match");
  request.clear_signature();
  const CompareFaceResponse response = RawCall(request);
  EXPECT_EQ(response.code(), "4001");
  EXPECT_EQ(Stats().billed, 0u);
}

TEST_F(CfcaTest, TamperedFieldsAreRefused) {
  const CompareFaceRequest original = SignedRequest("adult-match");
  EXPECT_EQ(RawCall(original).code(), "2000");
  std::vector<CompareFaceRequest> tampered(5, original);
  tampered[0].set_name(Person("carrier-mismatch").name());
  tampered[1].set_id_number(Person("carrier-mismatch").id_number());
  tampered[2].set_face_image(Face("stranger.jpg"));
  tampered[3].set_liveness_video(Face("liveness-video-ok.mp4"));
  tampered[4].set_tx_sn("replayed-serial");
  for (const CompareFaceRequest& request : tampered) {
    EXPECT_EQ(RawCall(request).code(), "4001");
  }
}

TEST_F(CfcaTest, SignatureByAnotherKeyIsRefusedThroughTheAdapter) {
  // The mock trusts the Alipay key only: every CFCA-signed call is refused
  // as an internal, non-retryable, unbilled error.
  StartMock(MockBehaviour(),
            ReadTestFile("config/dev-secrets/alipay-signing.pub.pem"));
  const auto& person = Person("adult-match");
  const ProviderOutcome outcome =
      Call(Subject(person.name(), person.id_number(), Face("adult-match.jpg")));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(outcome.provider_code, "4001");
  EXPECT_FALSE(outcome.retryable);
  EXPECT_FALSE(outcome.billed);
}

TEST_F(CfcaTest, MockWithoutKeyRefusesEverything) {
  StartMock(MockBehaviour(), "");
  EXPECT_EQ(RawCall(SignedRequest("adult-match")).code(), "4001");
  StartMock(MockBehaviour(), "not a pem");
  EXPECT_EQ(RawCall(SignedRequest("adult-match")).code(), "4001");
}

TEST_F(CfcaTest, BadFormatIsRefused) {
  // Correctly signed, but the ID number fails its check character.
  auto signer = signing::RsaSigner::FromFile(
      "config/dev-secrets/cfca-signing.key", "test");
  ASSERT_TRUE(signer.ok());
  CompareFaceRequest request = SignedRequest("adult-match");
  request.set_id_number("110101199003070135");
  auto signature = signing::SignRequest(**signer, request, "signature");
  ASSERT_TRUE(signature.ok());
  request.set_signature(*signature);
  EXPECT_EQ(RawCall(request).code(), "4002");
}

TEST_F(CfcaTest, BusyIsRetryableAndNotBilled) {
  MockBehaviour behaviour;
  behaviour.set_busy_rate(1.0);
  StartMock(behaviour, public_key_);
  const auto& person = Person("adult-match");
  std::set<std::string> codes;
  for (int i = 0; i < 8; ++i) {
    const ProviderOutcome outcome = Call(
        Subject(person.name(), person.id_number(), Face("adult-match.jpg")));
    EXPECT_EQ(outcome.status.code(), absl::StatusCode::kUnavailable);
    EXPECT_TRUE(outcome.retryable);
    EXPECT_FALSE(outcome.billed);
    codes.insert(outcome.provider_code);
  }
  // Overload shows as busy or engine timeout.
  EXPECT_EQ(codes, (std::set<std::string>{"3001", "3002"}));
  EXPECT_EQ(Stats().billed, 0u);
}

TEST_F(CfcaTest, DailyLimitPerSubject) {
  MockBehaviour behaviour;
  behaviour.set_daily_limit_per_subject(2);
  StartMock(behaviour, public_key_);
  const auto& person = Person("adult-match");
  const MinimizedSubject subject =
      Subject(person.name(), person.id_number(), Face("adult-match.jpg"));
  EXPECT_EQ(Call(subject).verdict, ::idgate::v1::VERDICT_MATCH);
  EXPECT_EQ(Call(subject).verdict, ::idgate::v1::VERDICT_MATCH);
  const ProviderOutcome limited = Call(subject);
  EXPECT_EQ(limited.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(limited.provider_code, "4003");
  EXPECT_FALSE(limited.retryable);
  EXPECT_FALSE(limited.billed);
  // Another person is not limited.
  const auto& other = Person("liveness-fail");
  EXPECT_TRUE(
      Call(Subject(other.name(), other.id_number(), Face("liveness-fail.jpg")))
          .status.ok());
}

TEST_F(CfcaTest, TransportErrorIsRetryable) {
  MockBehaviour behaviour;
  behaviour.set_error_rate(1.0);
  StartMock(behaviour, public_key_);
  const auto& person = Person("adult-match");
  const ProviderOutcome outcome =
      Call(Subject(person.name(), person.id_number(), Face("adult-match.jpg")));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(outcome.retryable);
  EXPECT_FALSE(outcome.billed);
  EXPECT_TRUE(outcome.sent);
}

TEST_F(CfcaTest, HangEndsAtTheDeadline) {
  MockBehaviour behaviour;
  behaviour.set_hang(true);
  StartMock(behaviour, public_key_);
  const auto& person = Person("adult-match");
  const ProviderOutcome outcome =
      Call(Subject(person.name(), person.id_number(), Face("adult-match.jpg")),
           absl::Milliseconds(200));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(outcome.retryable);
  EXPECT_FALSE(outcome.billed);
  EXPECT_TRUE(outcome.sent);
}

TEST_F(CfcaTest, CancelEndsAHungCall) {
  MockBehaviour behaviour;
  behaviour.set_hang(true);
  StartMock(behaviour, public_key_);
  const auto& person = Person("adult-match");
  auto call = adapter_->Prepare(
      Subject(person.name(), person.id_number(), Face("adult-match.jpg")),
      {kFace, "disc-cancel"});
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

TEST_F(CfcaTest, LatencyIsSimulated) {
  MockBehaviour behaviour;
  behaviour.mutable_latency_mean()->set_nanos(150 * 1000 * 1000);
  StartMock(behaviour, public_key_);
  const auto& person = Person("adult-match");
  const absl::Time start = absl::Now();
  EXPECT_EQ(
      Call(Subject(person.name(), person.id_number(), Face("adult-match.jpg")))
          .verdict,
      ::idgate::v1::VERDICT_MATCH);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(140));
}

TEST_F(CfcaTest, PassedDeadlineSendsNothing) {
  const auto& person = Person("adult-match");
  auto call = adapter_->Prepare(
      Subject(person.name(), person.id_number(), Face("adult-match.jpg")),
      {kFace, "disc-late"});
  ASSERT_TRUE(call.ok());
  // The adapter's clock is fixed in 2024: any deadline before it has passed.
  const ProviderOutcome outcome = Send(**call, FixedNow() - absl::Seconds(1));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(outcome.sent);
  EXPECT_TRUE(outcome.retryable);
  EXPECT_EQ(Stats().requests, 0u);
}

TEST_F(CfcaTest, CanaryMockMessagesNeverEchoPersonalValues) {
  const auto& match = Person("adult-match");
  const auto& other = Person("carrier-mismatch");
  std::vector<CompareFaceRequest> requests;
  requests.push_back(SignedRequest("adult-match"));  // 2000
  requests.push_back(SignedRequest("no-id-photo"));  // 2002
  requests.push_back(SignedRequest("adult-match"));
  requests.back().set_name(other.name());  // 4001
  requests.push_back(SignedRequest("adult-match"));
  requests.back().clear_signature();  // 4001
  for (const auto& subject :
       {Subject(other.name(), match.id_number(), Face("adult-match.jpg")),
        Subject(match.name(), match.id_number(), Face("stranger.jpg")),
        Subject(match.name(), match.id_number(), Face("adult-match.jpg"),
                Face("liveness-video-fail.mp4"))}) {
    auto call = adapter_->Prepare(subject, {kFace, NextId()});
    ASSERT_TRUE(call.ok());
    CompareFaceRequest request;
    request.CopyFrom((*call)->request());
    requests.push_back(request);
  }
  std::set<std::string> codes;
  for (const CompareFaceRequest& request : requests) {
    grpc::Status status;
    const CompareFaceResponse response = RawCall(request, &status);
    codes.insert(response.code());
    for (const std::string& text :
         {response.message(), status.error_message(), response.tx_sn()}) {
      for (const std::string& value : {request.name(), request.id_number(),
                                       request.id_number().substr(6, 8)}) {
        EXPECT_THAT(text, Not(HasSubstr(value))) << response.code();
      }
    }
  }
  EXPECT_EQ(codes, (std::set<std::string>{"2000", "2001", "2002", "2003",
                                          "2004", "4001"}));
}

TEST(CfcaFactoryTest, ConfigErrorsNameTheField) {
  ::idgate::config::v1::Provider provider;
  provider.set_id("cfca_main");
  ProviderCallQueue call_queue;
  AdapterEnv env;
  env.provider = &provider;
  env.channel =
      grpc::CreateChannel("localhost:1", grpc::InsecureChannelCredentials());
  env.call_queue = &call_queue;
  CfcaAdapterConfig config;
  config.set_institution_id("INST");
  config.set_tx_code("2301");
  config.set_signing_key_file("/nonexistent/cfca.key");
  provider.mutable_adapter()->PackFrom(config);
  auto adapter = CfcaAdapterFactory().Create(env);
  ASSERT_FALSE(adapter.ok());
  EXPECT_EQ(adapter.status().message(),
            "providers[cfca_main].adapter.signing_key_file: cannot read");

  config.clear_signing_key_file();
  provider.mutable_adapter()->PackFrom(config);
  adapter = CfcaAdapterFactory().Create(env);
  ASSERT_FALSE(adapter.ok());
  EXPECT_EQ(adapter.status().message(),
            "providers[cfca_main].adapter.signing_key_file: required");

  config.set_signing_key_file("config/dev-secrets/cfca-signing.pub.pem");
  provider.mutable_adapter()->PackFrom(config);
  adapter = CfcaAdapterFactory().Create(env);
  ASSERT_FALSE(adapter.ok());
  EXPECT_THAT(std::string(adapter.status().message()),
              HasSubstr("providers[cfca_main].adapter.signing_key_file: "));
  EXPECT_THAT(std::string(adapter.status().message()),
              Not(HasSubstr("MII")));  // no key material

  config.clear_institution_id();
  provider.mutable_adapter()->PackFrom(config);
  adapter = CfcaAdapterFactory().Create(env);
  ASSERT_FALSE(adapter.ok());
  EXPECT_EQ(adapter.status().message(),
            "providers[cfca_main].adapter.institution_id: required");

  provider.mutable_adapter()->PackFrom(
      ::idgate::config::v1::AlipayAdapterConfig());
  adapter = CfcaAdapterFactory().Create(env);
  ASSERT_FALSE(adapter.ok());
  EXPECT_THAT(std::string(adapter.status().message()),
              HasSubstr("providers[cfca_main].adapter"));
  config.set_institution_id("INST");
  provider.mutable_adapter()->PackFrom(config);
  env.call_queue = nullptr;
  adapter = CfcaAdapterFactory().Create(env);
  ASSERT_FALSE(adapter.ok());
  EXPECT_EQ(adapter.status().message(),
            "providers[cfca_main]: no channel or call queue");
}

}  // namespace
}  // namespace cfca
}  // namespace idgate
