// The CFCA adapter against the CFCA mock over an in-process channel, with the
// identity book and face images of config/testdata/ (tests run from the
// repository root). What it does like the other face provider is tested by
// FaceCheckTest (adapters/testing/face_provider_test.h), instantiated here;
// the tests below are CFCA's own: its request fields, the liveness video,
// and raw calls to its mock.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "adapters/cfca/cfca_adapter.h"
#include "adapters/cfca/cfca_mock.h"
#include "adapters/provider_call.h"
#include "adapters/testing/adapter_test.h"
#include "adapters/testing/face_provider_test.h"
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
using ::testing::HasSubstr;
using ::testing::Not;

FaceProvider Cfca() {
  FaceProvider cfca;
  cfca.name = "CFCA";
  cfca.adapters = std::make_shared<CfcaAdapterFactory>(FixedNow);
  cfca.mocks = std::make_shared<CfcaMockFactory>();
  auto config = std::make_shared<CfcaAdapterConfig>();
  config->set_institution_id("INST0001");
  config->set_tx_code("2301");
  config->set_signing_key_file("cfca-signing.key");
  cfca.config = config;
  cfca.config_type = "idgate.config.v1.CfcaAdapterConfig";
  cfca.seed = 7;
  cfca.signing_key_file = "config/dev-secrets/cfca-signing.key";
  cfca.public_key_file = "config/dev-secrets/cfca-signing.pub.pem";
  cfca.other_public_key_file = "config/dev-secrets/alipay-signing.pub.pem";
  cfca.signature_field = "signature";
  cfca.request = CompareFaceRequest::descriptor();
  cfca.response = CompareFaceResponse::descriptor();
  cfca.codes.match = "2000";
  cfca.codes.name_id_mismatch = "2001";
  cfca.codes.face_mismatch = "2003";
  cfca.codes.no_id_photo = "2002";
  cfca.codes.liveness_failed = "2004";
  cfca.codes.signature_refused = "4001";
  cfca.codes.daily_limit = "4003";
  // Overload shows as busy or engine timeout.
  cfca.codes.busy = {"3001", "3002"};
  return cfca;
}

INSTANTIATE_TEST_SUITE_P(Cfca, FaceCheckTest, ::testing::Values(Cfca()));

class CfcaTest : public FaceProviderTest {
 protected:
  CfcaTest() : FaceProviderTest(Cfca()) {}

  // A raw call that bypasses the adapter.
  CompareFaceResponse RawCall(const CompareFaceRequest& request,
                              grpc::Status* status = nullptr) {
    return CallMock(&CfcaFaceService::Stub::CompareFace, request, status);
  }

  // A correctly signed request for `label`'s own face, built by the adapter.
  CompareFaceRequest SignedRequest(const std::string& label) {
    return Prepared<CompareFaceRequest>(OwnFace(label));
  }
};

// The required fields: FaceCheckTest.RequiredFields.
TEST_F(CfcaTest, OptionalFields) {
  EXPECT_EQ(OptionalFields(kFaceCheck), std::vector<FieldForm>{kPlainVideo});
}

TEST_F(CfcaTest, PreparedRequestIsSignedAndCarriesOnlyTheSubjectFields) {
  auto call =
      adapter_->Prepare(OwnFace("adult-match"), {kFaceCheck, "disc-42"});
  ASSERT_TRUE(call.ok()) << call.status();
  const auto& request =
      static_cast<const CompareFaceRequest&>((*call)->request());
  EXPECT_EQ(request.institution_id(), "INST0001");
  EXPECT_EQ(request.tx_code(), "2301");
  EXPECT_EQ(request.tx_sn(), "disc-42");
  EXPECT_EQ(request.timestamp(), "20240301120000");
  EXPECT_EQ(request.sign_alg(), "SHA256withRSA");
  EXPECT_TRUE(request.liveness_video().empty());
  ExpectSignedWithOnlyTheSubjectFields(request, request.signature());
}

TEST_F(CfcaTest, VideoIsSentOnlyWhenTheSubjectHasIt) {
  // Policy without the video: not sent even though the caller gave one.
  EXPECT_EQ(SentFields({kPlainName, kPlainId, kPlainImage}),
            (std::set<FieldForm>{kPlainName, kPlainId, kPlainImage}));
  EXPECT_EQ(
      SentFields({kPlainName, kPlainId, kPlainImage, kPlainVideo}),
      (std::set<FieldForm>{kPlainName, kPlainId, kPlainImage, kPlainVideo}));
}

TEST_F(CfcaTest, MatchWithLiveVideo) {
  const auto& person = Person("adult-match");
  const ProviderOutcome outcome =
      Call(FaceSubject(person.name(), person.id_number(),
                       Face("adult-match.jpg"), Face("liveness-video-ok.mp4")));
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_MATCH);
  const MockStats stats = Stats();
  EXPECT_EQ(stats.fields_received.at(kPlainVideo), 1u);
}

TEST_F(CfcaTest, FailingVideoFailsLiveness) {
  const auto& person = Person("adult-match");
  const ProviderOutcome outcome = Call(
      FaceSubject(person.name(), person.id_number(), Face("adult-match.jpg"),
                  Face("liveness-video-fail.mp4")));
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_LIVENESS_FAILED);
  EXPECT_FALSE(outcome.liveness_passed);
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

TEST_F(CfcaTest, MockWithoutKeyRefusesEverything) {
  StartMock(MockBehaviour(), "");
  EXPECT_EQ(RawCall(SignedRequest("adult-match")).code(), "4001");
  StartMock(MockBehaviour(), "not a pem");
  EXPECT_EQ(RawCall(SignedRequest("adult-match")).code(), "4001");
}

TEST_F(CfcaTest, BadFormatIsRefused) {
  // Correctly signed, but the ID number fails its check character.
  CompareFaceRequest request = SignedRequest("adult-match");
  request.set_id_number("110101199003070135");
  Resign(request);
  EXPECT_EQ(RawCall(request).code(), "4002");
}

TEST_F(CfcaTest, LatencyIsSimulated) {
  MockBehaviour behaviour;
  behaviour.mutable_latency_mean()->set_nanos(150 * 1000 * 1000);
  StartMock(behaviour, public_key_);
  const absl::Time start = absl::Now();
  EXPECT_EQ(Call(OwnFace("adult-match")).verdict, ::idgate::v1::VERDICT_MATCH);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(140));
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
       {FaceSubject(other.name(), match.id_number(), Face("adult-match.jpg")),
        FaceSubject(match.name(), match.id_number(), Face("stranger.jpg")),
        FaceSubject(match.name(), match.id_number(), Face("adult-match.jpg"),
                    Face("liveness-video-fail.mp4"))}) {
    requests.push_back(Prepared<CompareFaceRequest>(subject));
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
  UnconnectedEnv unconnected("cfca_main");
  ::idgate::config::v1::Provider& provider = unconnected.provider;
  AdapterEnv& env = unconnected.env;
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
