// The Alipay adapter against the Alipay mock over an in-process channel, with
// the identity book and face images of config/testdata/ (tests run from the
// repository root).
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "adapters/alipay/alipay_adapter.h"
#include "adapters/alipay/alipay_mock.h"
#include "adapters/mock_support/identity_book.h"
#include "adapters/provider_call.h"
#include "adapters/signing/signing.h"
#include "adapters/testing/adapter_test.h"
#include "core/pii.h"
#include "core/pii_fields.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "idgate/provider/v1/alipay.grpc.pb.h"

namespace idgate {
namespace alipay {
namespace {

using ::idgate::config::v1::AlipayAdapterConfig;
using ::idgate::config::v1::MockBehaviour;
using ::idgate::provider::v1::AlipayFaceService;
using ::idgate::provider::v1::CertifyFaceRequest;
using ::idgate::provider::v1::CertifyFaceResponse;
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

class AlipayTest : public AdapterTest {
 protected:
  void SetUp() override {
    AdapterTest::SetUp();
    public_key_ = ReadTestFile("config/dev-secrets/alipay-signing.pub.pem");
    ASSERT_FALSE(public_key_.empty());
    StartMock(MockBehaviour(), public_key_);
  }

  void StartMock(const MockBehaviour& behaviour, const std::string& pem,
                 const std::string& biz_code = "") {
    MockEnv env;
    env.behaviour = behaviour;
    env.verify_public_key_pem = pem;
    env.seed = 11;
    AlipayAdapterConfig config;
    config.set_app_id("2021000000000001");
    config.set_biz_code(biz_code);
    config.set_signing_key_file("alipay-signing.key");
    StartProvider(AlipayMockFactory(), env, AlipayAdapterFactory(FixedNow),
                  config);
  }

  // The subject the server would build with a face policy allowing name, ID
  // and image.
  static MinimizedSubject Subject(const std::string& name,
                                  const std::string& id,
                                  const std::string& image) {
    return FaceSubject(name, id, image);
  }

  MinimizedSubject OwnFace(const std::string& label) {
    const auto& person = Person(label);
    return Subject(person.name(), person.id_number(), Face(label + ".jpg"));
  }

  // A raw call that bypasses the adapter.
  CertifyFaceResponse RawCall(const CertifyFaceRequest& request,
                              grpc::Status* status = nullptr) {
    return CallMock(&AlipayFaceService::Stub::CertifyFace, request, status);
  }

  CertifyFaceRequest Prepared(const MinimizedSubject& subject) {
    auto call = adapter_->Prepare(subject, {kFace, NextId()});
    EXPECT_TRUE(call.ok());
    CertifyFaceRequest request;
    if (call.ok()) request.CopyFrom((*call)->request());
    return request;
  }

  // Signs `request` again after a deliberate change.
  static void Resign(CertifyFaceRequest& request) {
    auto signer = signing::RsaSigner::FromFile(
        "config/dev-secrets/alipay-signing.key", "test");
    ASSERT_TRUE(signer.ok());
    auto sign = signing::SignRequest(**signer, request, "sign");
    ASSERT_TRUE(sign.ok());
    request.set_sign(*sign);
  }

  std::string public_key_;
};

TEST_F(AlipayTest, FactoriesShareTheConfigType) {
  EXPECT_EQ(AlipayAdapterFactory().config_type(),
            "idgate.config.v1.AlipayAdapterConfig");
  EXPECT_EQ(AlipayMockFactory().config_type(),
            AlipayAdapterFactory().config_type());
}

TEST_F(AlipayTest, RequiredFields) {
  EXPECT_EQ(adapter_->checks(), std::vector<Check>{kFace});
  EXPECT_EQ(adapter_->RequiredFields(kFace),
            (std::vector<FieldForm>{kName, kId, kImage}));
  EXPECT_TRUE(
      adapter_->RequiredFields(::idgate::config::v1::CHECK_BANK_FOUR_FACTOR)
          .empty());
}

TEST_F(AlipayTest, EveryTextFieldIsClassified) {
  EXPECT_THAT(UnclassifiedFields(CertifyFaceRequest::descriptor()),
              ::testing::IsEmpty());
  EXPECT_THAT(UnclassifiedFields(CertifyFaceResponse::descriptor()),
              ::testing::IsEmpty());
}

TEST_F(AlipayTest, PreparedRequestIsSignedAndCarriesOnlyTheSubjectFields) {
  const auto& person = Person("adult-match");
  auto call = adapter_->Prepare(OwnFace("adult-match"), {kFace, "disc-42"});
  ASSERT_TRUE(call.ok()) << call.status();
  const auto& request =
      static_cast<const CertifyFaceRequest&>((*call)->request());
  EXPECT_EQ(request.app_id(), "2021000000000001");
  EXPECT_EQ(request.method(), "alipay.user.certify.open.certify");
  EXPECT_EQ(request.charset(), "utf-8");
  EXPECT_EQ(request.sign_type(), "RSA2");
  EXPECT_EQ(request.timestamp(), "2024-03-01 12:00:00");
  EXPECT_EQ(request.version(), "1.0");
  EXPECT_EQ(request.biz_content().outer_order_no(), "disc-42");
  EXPECT_EQ(request.biz_content().biz_code(), "FACE_CERTIFY");
  EXPECT_EQ(request.biz_content().identity_param().identity_type(),
            "CERT_INFO");
  EXPECT_EQ(request.biz_content().identity_param().cert_type(),
            "IDENTITY_CARD");
  EXPECT_EQ(request.biz_content().identity_param().cert_name(), person.name());
  EXPECT_EQ(request.biz_content().identity_param().cert_no(),
            person.id_number());
  auto verifier = signing::RsaVerifier::FromPem(public_key_);
  ASSERT_TRUE(verifier.ok());
  EXPECT_TRUE(
      signing::VerifyRequest(**verifier, request, "sign", request.sign()));
  const PiiFieldsFound egress = CollectPiiFields(request);
  EXPECT_EQ(egress.pairs, (std::set<FieldForm>{kName, kId, kImage}));
  EXPECT_TRUE(egress.unclassified.empty());
}

TEST_F(AlipayTest, ConfiguredBizCodeIsUsed) {
  StartMock(MockBehaviour(), public_key_, "SMART_FACE");
  EXPECT_EQ(Prepared(OwnFace("adult-match")).biz_content().biz_code(),
            "SMART_FACE");
  EXPECT_EQ(Call(OwnFace("adult-match")).verdict, ::idgate::v1::VERDICT_MATCH);
}

TEST_F(AlipayTest, VideoIsNeverSent) {
  const auto& person = Person("adult-match");
  PersonalValues values = {
      {PII_FIELD_NAME, person.name()},
      {PII_FIELD_ID_NUMBER, person.id_number()},
      {PII_FIELD_FACE_IMAGE, Face("adult-match.jpg")},
      {PII_FIELD_LIVENESS_VIDEO, Face("liveness-video-ok.mp4")}};
  auto call = adapter_->Prepare(
      MinimizedSubject::Minimize(values, {kName, kId, kImage, kVideo}),
      {kFace, "d"});
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(CollectPiiFields((*call)->request()).pairs,
            (std::set<FieldForm>{kName, kId, kImage}));
}

TEST_F(AlipayTest, MissingRequiredFieldFailsWithoutValues) {
  const auto& person = Person("adult-match");
  PersonalValues values = {{PII_FIELD_NAME, person.name()},
                           {PII_FIELD_FACE_IMAGE, Face("adult-match.jpg")}};
  auto call = adapter_->Prepare(
      MinimizedSubject::Minimize(values, {kName, kId, kImage}), {kFace, "d"});
  ASSERT_FALSE(call.ok());
  EXPECT_EQ(call.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(call.status().message()),
              Not(HasSubstr(person.name())));
}

TEST_F(AlipayTest, Match) {
  const ProviderOutcome outcome = Call(OwnFace("adult-match"));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_MATCH);
  EXPECT_TRUE(outcome.billed);
  EXPECT_EQ(outcome.provider_code, "10000");
  EXPECT_GE(outcome.face_similarity, 92);
  EXPECT_LT(outcome.face_similarity, 99);
  EXPECT_TRUE(outcome.liveness_passed);
}

TEST_F(AlipayTest, MatchForMinorityAndLatinNames) {
  const auto& minority = Person("minority-name");
  EXPECT_EQ(Call(Subject(minority.name(), minority.id_number(),
                         Face("minority-name.png")))
                .verdict,
            ::idgate::v1::VERDICT_MATCH);
  EXPECT_EQ(Call(OwnFace("id-check-x")).verdict, ::idgate::v1::VERDICT_MATCH);
}

TEST_F(AlipayTest, NameIdMismatch) {
  const auto& person = Person("adult-match");
  const ProviderOutcome outcome =
      Call(Subject(Person("carrier-mismatch").name(), person.id_number(),
                   Face("adult-match.jpg")));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_MISMATCH);
  EXPECT_TRUE(outcome.billed);
  EXPECT_EQ(outcome.provider_code, "10000/NAME_ID_MISMATCH");
}

TEST_F(AlipayTest, FaceMismatch) {
  const auto& person = Person("adult-match");
  const ProviderOutcome outcome =
      Call(Subject(person.name(), person.id_number(), Face("stranger.jpg")));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_MISMATCH);
  EXPECT_TRUE(outcome.billed);
  EXPECT_EQ(outcome.provider_code, "10000/FACE_MISMATCH");
  EXPECT_GT(outcome.face_similarity, 0);
  EXPECT_LT(outcome.face_similarity, 40);
  EXPECT_TRUE(outcome.liveness_passed);
}

TEST_F(AlipayTest, NoIdPhotoIsNoRecordAndNotBilled) {
  const ProviderOutcome outcome = Call(OwnFace("no-id-photo"));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_NO_RECORD);
  EXPECT_FALSE(outcome.billed);
  EXPECT_EQ(outcome.provider_code, "10000/NO_RECORD");
}

TEST_F(AlipayTest, UnknownIdNumberIsNoRecord) {
  const ProviderOutcome outcome =
      Call(Subject("测试未知", "11010519491231002X", Face("stranger.jpg")));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_NO_RECORD);
  EXPECT_FALSE(outcome.billed);
}

TEST_F(AlipayTest, SpoofedImageIsALivenessRisk) {
  const auto& person = Person("liveness-fail");
  const ProviderOutcome outcome = Call(Subject(
      person.name(), person.id_number(), Face("liveness-fail-spoof.jpg")));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_LIVENESS_FAILED);
  EXPECT_TRUE(outcome.billed);
  EXPECT_EQ(outcome.provider_code, "10000/LIVENESS_RISK");
  EXPECT_FALSE(outcome.liveness_passed);
  // The same person's genuine image passes.
  EXPECT_EQ(Call(OwnFace("liveness-fail")).verdict,
            ::idgate::v1::VERDICT_MATCH);
}

TEST_F(AlipayTest, StatsCountRequestsBillingAndFields) {
  Call(OwnFace("adult-match"));
  Call(OwnFace("no-id-photo"));
  Call(OwnFace("liveness-fail"));
  const MockStats stats = Stats();
  EXPECT_EQ(stats.requests, 3u);
  EXPECT_EQ(stats.billed, 2u);
  EXPECT_EQ(stats.fields_received,
            (std::map<FieldForm, uint64_t>{{kName, 3}, {kId, 3}, {kImage, 3}}));
}

TEST_F(AlipayTest, MissingSignatureIsRefused) {
  CertifyFaceRequest request = Prepared(OwnFace("adult-match"));
  request.clear_sign();
  const CertifyFaceResponse response = RawCall(request);
  EXPECT_EQ(response.code(), "40001");
  EXPECT_EQ(response.sub_code(), "isv.missing-signature");
  EXPECT_EQ(Stats().billed, 0u);
}

TEST_F(AlipayTest, TamperedFieldsAreRefused) {
  const CertifyFaceRequest original = Prepared(OwnFace("adult-match"));
  EXPECT_EQ(RawCall(original).passed(), "T");
  std::vector<CertifyFaceRequest> tampered(6, original);
  tampered[0].mutable_biz_content()->mutable_identity_param()->set_cert_name(
      Person("carrier-mismatch").name());
  tampered[1].mutable_biz_content()->mutable_identity_param()->set_cert_no(
      Person("carrier-mismatch").id_number());
  tampered[2].mutable_biz_content()->set_face_image(Face("stranger.jpg"));
  tampered[3].mutable_biz_content()->set_outer_order_no("replayed");
  tampered[4].set_app_id("2021000000000999");
  tampered[5].set_sign(original.sign().substr(0, 100) + "A" +
                       original.sign().substr(101));
  for (const CertifyFaceRequest& request : tampered) {
    const CertifyFaceResponse response = RawCall(request);
    EXPECT_EQ(response.code(), "40002");
    EXPECT_EQ(response.sub_code(), "isv.invalid-signature");
  }
}

TEST_F(AlipayTest, SignatureByAnotherKeyIsRefusedThroughTheAdapter) {
  StartMock(MockBehaviour(),
            ReadTestFile("config/dev-secrets/cfca-signing.pub.pem"));
  const ProviderOutcome outcome = Call(OwnFace("adult-match"));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(outcome.provider_code, "40002/isv.invalid-signature");
  EXPECT_FALSE(outcome.retryable);
  EXPECT_FALSE(outcome.billed);
  EXPECT_EQ(Stats().billed, 0u);
}

TEST_F(AlipayTest, MockWithoutKeyRefusesEverything) {
  StartMock(MockBehaviour(), "");
  EXPECT_EQ(RawCall(Prepared(OwnFace("adult-match"))).sub_code(),
            "isv.invalid-signature");
}

TEST_F(AlipayTest, BadParametersAreRefused) {
  CertifyFaceRequest wrong_method = Prepared(OwnFace("adult-match"));
  wrong_method.set_method("alipay.user.certify.open.query");
  Resign(wrong_method);
  CertifyFaceResponse response = RawCall(wrong_method);
  EXPECT_EQ(response.code(), "40002");
  EXPECT_EQ(response.sub_code(), "isv.invalid-parameter");

  CertifyFaceRequest no_image = Prepared(OwnFace("adult-match"));
  no_image.mutable_biz_content()->clear_face_image();
  Resign(no_image);
  response = RawCall(no_image);
  EXPECT_EQ(response.code(), "40001");
  EXPECT_EQ(response.sub_code(), "isv.missing-parameter");
}

TEST_F(AlipayTest, BusyIsRetryableAndNotBilled) {
  MockBehaviour behaviour;
  behaviour.set_busy_rate(1.0);
  StartMock(behaviour, public_key_);
  const ProviderOutcome outcome = Call(OwnFace("adult-match"));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(outcome.provider_code, "20000/isp.unknow-error");
  EXPECT_TRUE(outcome.retryable);
  EXPECT_FALSE(outcome.billed);
}

TEST_F(AlipayTest, TooManyAttemptsToday) {
  MockBehaviour behaviour;
  behaviour.set_daily_limit_per_subject(1);
  StartMock(behaviour, public_key_);
  EXPECT_EQ(Call(OwnFace("adult-match")).verdict, ::idgate::v1::VERDICT_MATCH);
  const ProviderOutcome limited = Call(OwnFace("adult-match"));
  EXPECT_EQ(limited.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(limited.provider_code, "40004/TOO_MANY_ATTEMPTS_TODAY");
  EXPECT_FALSE(limited.retryable);
  EXPECT_FALSE(limited.billed);
  EXPECT_EQ(Stats().billed, 1u);
  // The limit is per subject: another person is still answered.
  EXPECT_TRUE(Call(OwnFace("liveness-fail")).status.ok());
}

TEST_F(AlipayTest, TransportErrorIsRetryable) {
  MockBehaviour behaviour;
  behaviour.set_error_rate(1.0);
  StartMock(behaviour, public_key_);
  const ProviderOutcome outcome = Call(OwnFace("adult-match"));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(outcome.retryable);
  EXPECT_FALSE(outcome.billed);
}

TEST_F(AlipayTest, HangEndsAtTheDeadline) {
  MockBehaviour behaviour;
  behaviour.set_hang(true);
  StartMock(behaviour, public_key_);
  const ProviderOutcome outcome =
      Call(OwnFace("adult-match"), absl::Milliseconds(200));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(outcome.retryable);
  EXPECT_FALSE(outcome.billed);
}

TEST_F(AlipayTest, CancelEndsAHungCall) {
  MockBehaviour behaviour;
  behaviour.set_hang(true);
  StartMock(behaviour, public_key_);
  auto call = adapter_->Prepare(OwnFace("adult-match"), {kFace, "d-cancel"});
  ASSERT_TRUE(call.ok());
  absl::Notification done;
  ProviderOutcome result;
  (*call)->Send(absl::Now() + absl::Seconds(30), [&](ProviderOutcome outcome) {
    result = std::move(outcome);
    done.Notify();
  });
  while (Stats().requests == 0) absl::SleepFor(absl::Milliseconds(5));
  (*call)->Cancel();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(result.status.code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(result.retryable);
}

TEST_F(AlipayTest, CancelBeforeSendEndsAtOnce) {
  auto call = adapter_->Prepare(OwnFace("adult-match"), {kFace, "d-early"});
  ASSERT_TRUE(call.ok());
  (*call)->Cancel();
  const ProviderOutcome outcome = Send(**call, absl::Now() + absl::Seconds(10));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(outcome.billed);
}

TEST_F(AlipayTest, PassedDeadlineSendsNothing) {
  auto call = adapter_->Prepare(OwnFace("adult-match"), {kFace, "d-late"});
  ASSERT_TRUE(call.ok());
  const ProviderOutcome outcome = Send(**call, FixedNow() - absl::Seconds(1));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(outcome.sent);
  EXPECT_EQ(Stats().requests, 0u);
}

TEST_F(AlipayTest, CanaryMockMessagesNeverEchoPersonalValues) {
  const auto& match = Person("adult-match");
  const auto& other = Person("carrier-mismatch");
  std::vector<CertifyFaceRequest> requests = {
      Prepared(OwnFace("adult-match")),
      Prepared(OwnFace("no-id-photo")),
      Prepared(
          Subject(other.name(), match.id_number(), Face("adult-match.jpg"))),
      Prepared(Subject(match.name(), match.id_number(), Face("stranger.jpg"))),
      Prepared(Subject(Person("liveness-fail").name(),
                       Person("liveness-fail").id_number(),
                       Face("liveness-fail-spoof.jpg"))),
  };
  requests.push_back(requests[0]);
  requests.back().clear_sign();
  requests.push_back(requests[0]);
  requests.back()
      .mutable_biz_content()
      ->mutable_identity_param()
      ->set_cert_name(other.name());
  requests.push_back(requests[0]);
  requests.back().mutable_biz_content()->mutable_identity_param()->set_cert_no(
      "110101199003070135");  // bad check character
  Resign(requests.back());
  std::set<std::string> codes;
  for (const CertifyFaceRequest& request : requests) {
    grpc::Status status;
    const CertifyFaceResponse response = RawCall(request, &status);
    codes.insert(response.code() + "/" + response.sub_code());
    const auto& identity = request.biz_content().identity_param();
    for (const std::string& text :
         {response.msg(), response.sub_msg(), response.sub_code(),
          response.certify_id(), status.error_message()}) {
      for (const std::string& value : {identity.cert_name(), identity.cert_no(),
                                       identity.cert_no().substr(6, 8)}) {
        EXPECT_THAT(text, Not(HasSubstr(value))) << response.code();
      }
    }
  }
  EXPECT_EQ(codes,
            (std::set<std::string>{
                "10000/", "10000/NO_RECORD", "10000/NAME_ID_MISMATCH",
                "10000/FACE_MISMATCH", "10000/LIVENESS_RISK",
                "40001/isv.missing-signature", "40002/isv.invalid-signature",
                "40002/isv.invalid-parameter"}));
}

TEST(AlipayFactoryTest, ConfigErrorsNameTheField) {
  ::idgate::config::v1::Provider provider;
  provider.set_id("alipay_main");
  ProviderCallQueue call_queue;
  AdapterEnv env;
  env.provider = &provider;
  env.channel =
      grpc::CreateChannel("localhost:1", grpc::InsecureChannelCredentials());
  env.call_queue = &call_queue;
  AlipayAdapterConfig config;
  config.set_app_id("2021");
  config.set_signing_key_file("/nonexistent/alipay.key");
  provider.mutable_adapter()->PackFrom(config);
  auto adapter = AlipayAdapterFactory().Create(env);
  ASSERT_FALSE(adapter.ok());
  EXPECT_EQ(adapter.status().message(),
            "providers[alipay_main].adapter.signing_key_file: cannot read");

  config.set_signing_key_file("config/dev-secrets/alipay-signing.key");
  config.clear_app_id();
  provider.mutable_adapter()->PackFrom(config);
  adapter = AlipayAdapterFactory().Create(env);
  ASSERT_FALSE(adapter.ok());
  EXPECT_EQ(adapter.status().message(),
            "providers[alipay_main].adapter.app_id: required");

  config.set_app_id("2021");
  provider.mutable_adapter()->PackFrom(config);
  EXPECT_TRUE(AlipayAdapterFactory().Create(env).ok());

  env.channel = nullptr;
  EXPECT_FALSE(AlipayAdapterFactory().Create(env).ok());
  env.channel =
      grpc::CreateChannel("localhost:1", grpc::InsecureChannelCredentials());
  env.call_queue = nullptr;
  EXPECT_FALSE(AlipayAdapterFactory().Create(env).ok());
}

}  // namespace
}  // namespace alipay
}  // namespace idgate
