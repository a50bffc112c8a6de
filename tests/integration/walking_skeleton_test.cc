// Verify through the real server: the carrier check end to end, bad input,
// health, reflection and graceful shutdown.
#include <thread>

#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace idgate::testing {
namespace {

namespace v1 = ::idgate::v1;
using ::testing::HasSubstr;

TEST(WalkingSkeleton, CarrierMatchMismatchNoRecord) {
  GatewayHarness gw;
  ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();

  v1::VerifyResponse match;
  auto st = gw.Verify(CarrierRequest(AdultMatch(), NextRequestId()), &match);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(match.verdict(), v1::VERDICT_MATCH);
  EXPECT_EQ(match.provider(), "carrier_mock");
  EXPECT_TRUE(match.billed());
  EXPECT_FALSE(match.replayed());
  ASSERT_EQ(match.disclosures_size(), 1);
  EXPECT_EQ(match.disclosures(0).recipient(),
            "Mock Carrier Data Services Co., Ltd.");
  EXPECT_THAT(
      match.disclosures(0).fields(),
      ::testing::UnorderedElementsAre(
          v1::PII_FIELD_NAME, v1::PII_FIELD_ID_NUMBER, v1::PII_FIELD_MOBILE));

  // The adult's mobile under someone else's name and ID: a billed mismatch.
  TestPerson impostor = AdultMatch();
  impostor.name = "王测试";
  impostor.id_number = "310101198506120351";
  v1::VerifyResponse mismatch;
  ASSERT_TRUE(
      gw.Verify(CarrierRequest(impostor, NextRequestId()), &mismatch).ok());
  EXPECT_EQ(mismatch.verdict(), v1::VERDICT_MISMATCH);
  EXPECT_TRUE(mismatch.billed());

  // A mobile the carrier has no record of.
  TestPerson unknown = AdultMatch();
  unknown.name = "赵测试";
  unknown.id_number = "440305199208150261";
  unknown.mobile = "13811112222";
  v1::VerifyResponse no_record;
  ASSERT_TRUE(
      gw.Verify(CarrierRequest(unknown, NextRequestId()), &no_record).ok());
  EXPECT_EQ(no_record.verdict(), v1::VERDICT_NO_RECORD);
  EXPECT_FALSE(no_record.billed());

  EXPECT_EQ(gw.app().mock("carrier_mock")->stats().requests, 3u);
}

TEST(WalkingSkeleton, RequestWithoutCheckIsInvalidArgumentAndCallsNoProvider) {
  GatewayHarness gw;
  ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();
  v1::VerifyRequest request = CarrierRequest(AdultMatch(), NextRequestId());
  request.clear_check();
  v1::VerifyResponse response;
  auto st = gw.Verify(request, &response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("check"));
  EXPECT_FALSE(st.error_details().empty());  // BadRequest detail
  EXPECT_EQ(gw.app().mock("carrier_mock")->stats().requests, 0u);
}

TEST(WalkingSkeleton, UnknownCallerIsUnauthenticated) {
  GatewayHarness gw;
  ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();
  v1::VerifyResponse response;
  EXPECT_EQ(gw.Verify(CarrierRequest(AdultMatch(), NextRequestId()), &response,
                      "nobody")
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(
      gw.Verify(CarrierRequest(AdultMatch(), NextRequestId()), &response, "")
          .error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
}

TEST(WalkingSkeleton, HealthAndReflectionAnswer) {
  GatewayHarness gw;
  ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();
  auto health = grpc::health::v1::Health::NewStub(gw.channel());
  for (const char* service : {"", "idgate.v1.VerificationService"}) {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    ASSERT_TRUE(health->Check(&context, request, &response).ok()) << service;
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING)
        << service;
  }

  // Server reflection lists the public service (ghz and grpcurl rely on it).
  grpc::ClientContext context;
  grpc::GenericStub generic(gw.channel());
  // grpc.reflection.v1alpha.ServerReflectionRequest{list_services: "*"}:
  // field 7, a string.
  const std::string request_bytes("\x3a\x01*", 3);
  grpc::ByteBuffer send;
  grpc::Slice slice(request_bytes);
  send = grpc::ByteBuffer(&slice, 1);
  grpc::CompletionQueue cq;
  auto call = generic.PrepareCall(
      &context,
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  call->Write(send, reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::ByteBuffer received;
  call->Read(&received, reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(received.Dump(&slices).ok());
  std::string bytes;
  for (auto& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_THAT(bytes, HasSubstr("idgate.v1.VerificationService"));
  call->WritesDone(reinterpret_cast<void*>(4));
  cq.Next(&tag, &ok);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  while (cq.Next(&tag, &ok) && tag != reinterpret_cast<void*>(5)) {
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

TEST(WalkingSkeleton, GracefulShutdownFinishesInFlightCalls) {
  GatewayHarness gw([](::idgate::config::v1::GatewayConfig& c) {
    c.mutable_providers(0)
        ->mutable_embedded_mock()
        ->mutable_latency_mean()
        ->set_nanos(500'000'000);
  });
  ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();
  grpc::Status status;
  v1::VerifyResponse response;
  std::thread call([&] {
    status =
        gw.Verify(CarrierRequest(AdultMatch(), NextRequestId()), &response);
  });
  // Let the call reach the (slow) provider, then drain.
  absl::SleepFor(absl::Milliseconds(200));
  const absl::Time started = absl::Now();
  gw.Stop(absl::Seconds(5));
  call.join();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.verdict(), v1::VERDICT_MATCH);
  EXPECT_LT(absl::Now() - started,
            absl::Seconds(5));  // did not wait for the drain deadline
  EXPECT_THAT(gw.logs(), HasSubstr("\"event\":\"stopped\""));
}

}  // namespace
}  // namespace idgate::testing
