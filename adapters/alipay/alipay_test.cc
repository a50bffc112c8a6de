// The Alipay adapter against the Alipay mock over an in-process channel, with
// the identity book and face images of config/testdata/ (tests run from the
// repository root). What it does like the other face provider is tested by
// FaceCheckTest (adapters/testing/face_provider_test.h), instantiated here;
// the tests below are Alipay's own: its request fields, the biz code, and
// raw calls to its mock.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "adapters/alipay/alipay_adapter.h"
#include "adapters/alipay/alipay_mock.h"
#include "adapters/provider_call.h"
#include "adapters/testing/adapter_test.h"
#include "adapters/testing/face_provider_test.h"
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
using ::testing::HasSubstr;
using ::testing::Not;

// The adapter config the tests use, with `biz_code` (empty: the default).
AlipayAdapterConfig Config(const std::string& biz_code = "") {
  AlipayAdapterConfig config;
  config.set_app_id("2021000000000001");
  config.set_biz_code(biz_code);
  config.set_signing_key_file("alipay-signing.key");
  return config;
}

FaceProvider Alipay() {
  FaceProvider alipay;
  alipay.name = "Alipay";
  alipay.adapters = std::make_shared<AlipayAdapterFactory>(FixedNow);
  alipay.mocks = std::make_shared<AlipayMockFactory>();
  alipay.config = std::make_shared<AlipayAdapterConfig>(Config());
  alipay.config_type = "idgate.config.v1.AlipayAdapterConfig";
  alipay.seed = 11;
  alipay.signing_key_file = "config/dev-secrets/alipay-signing.key";
  alipay.public_key_file = "config/dev-secrets/alipay-signing.pub.pem";
  alipay.other_public_key_file = "config/dev-secrets/cfca-signing.pub.pem";
  alipay.signature_field = "sign";
  alipay.request = CertifyFaceRequest::descriptor();
  alipay.response = CertifyFaceResponse::descriptor();
  alipay.codes.match = "10000";
  alipay.codes.name_id_mismatch = "10000/NAME_ID_MISMATCH";
  alipay.codes.face_mismatch = "10000/FACE_MISMATCH";
  alipay.codes.no_id_photo = "10000/NO_RECORD";
  alipay.codes.liveness_failed = "10000/LIVENESS_RISK";
  alipay.codes.signature_refused = "40002/isv.invalid-signature";
  alipay.codes.daily_limit = "40004/TOO_MANY_ATTEMPTS_TODAY";
  alipay.codes.busy = {"20000/isp.unknow-error"};
  return alipay;
}

INSTANTIATE_TEST_SUITE_P(Alipay, FaceCheckTest, ::testing::Values(Alipay()));

class AlipayTest : public FaceProviderTest {
 protected:
  AlipayTest() : FaceProviderTest(Alipay()) {}

  // A raw call that bypasses the adapter.
  CertifyFaceResponse RawCall(const CertifyFaceRequest& request,
                              grpc::Status* status = nullptr) {
    return CallMock(&AlipayFaceService::Stub::CertifyFace, request, status);
  }

  CertifyFaceRequest Prepared(const MinimizedSubject& subject) {
    return FaceProviderTest::Prepared<CertifyFaceRequest>(subject);
  }
};

TEST_F(AlipayTest, PreparedRequestIsSignedAndCarriesOnlyTheSubjectFields) {
  const auto& person = Person("adult-match");
  auto call =
      adapter_->Prepare(OwnFace("adult-match"), {kFaceCheck, "disc-42"});
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
  ExpectSignedWithOnlyTheSubjectFields(request, request.sign());
}

TEST_F(AlipayTest, ConfiguredBizCodeIsUsed) {
  StartMock(MockBehaviour(), public_key_, Config("SMART_FACE"));
  EXPECT_EQ(Prepared(OwnFace("adult-match")).biz_content().biz_code(),
            "SMART_FACE");
  EXPECT_EQ(Call(OwnFace("adult-match")).verdict, ::idgate::v1::VERDICT_MATCH);
}

TEST_F(AlipayTest, VideoIsNeverSent) {
  EXPECT_EQ(SentFields({kPlainName, kPlainId, kPlainImage, kPlainVideo}),
            (std::set<FieldForm>{kPlainName, kPlainId, kPlainImage}));
}

TEST_F(AlipayTest, MatchForMinorityAndLatinNames) {
  const auto& minority = Person("minority-name");
  EXPECT_EQ(Call(FaceSubject(minority.name(), minority.id_number(),
                             Face("minority-name.png")))
                .verdict,
            ::idgate::v1::VERDICT_MATCH);
  EXPECT_EQ(Call(OwnFace("id-check-x")).verdict, ::idgate::v1::VERDICT_MATCH);
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

TEST_F(AlipayTest, CancelBeforeSendEndsAtOnce) {
  auto call =
      adapter_->Prepare(OwnFace("adult-match"), {kFaceCheck, "d-early"});
  ASSERT_TRUE(call.ok());
  (*call)->Cancel();
  const ProviderOutcome outcome = Send(**call, absl::Now() + absl::Seconds(10));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(outcome.billed);
}

TEST_F(AlipayTest, CanaryMockMessagesNeverEchoPersonalValues) {
  const auto& match = Person("adult-match");
  const auto& other = Person("carrier-mismatch");
  std::vector<CertifyFaceRequest> requests = {
      Prepared(OwnFace("adult-match")),
      Prepared(OwnFace("no-id-photo")),
      Prepared(FaceSubject(other.name(), match.id_number(),
                           Face("adult-match.jpg"))),
      Prepared(
          FaceSubject(match.name(), match.id_number(), Face("stranger.jpg"))),
      Prepared(FaceSubject(Person("liveness-fail").name(),
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
  UnconnectedEnv unconnected("alipay_main");
  ::idgate::config::v1::Provider& provider = unconnected.provider;
  AdapterEnv& env = unconnected.env;
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
