// Every refusal reaches the caller with its gRPC code and stable reason, and
// no provider is called for any of them (a provider call costs money and
// discloses data).
#include <functional>

#include "gmock/gmock.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace idgate::testing {
namespace {

namespace v1 = ::idgate::v1;

struct Refusal {
  std::string name;
  std::function<v1::VerifyRequest()> request;
  std::string caller;
  grpc::StatusCode code;
  std::string reason;  // ErrorReason, or the first BadRequest field path
};

std::string Face() {
  return ReadTestFile("config/testdata/faces/adult-match.jpg");
}

std::vector<Refusal> AllRefusals() {
  auto carrier = [](std::function<void(v1::VerifyRequest&)> edit) {
    return [edit] {
      auto r = CarrierRequest(AdultMatch(), NextRequestId());
      edit(r);
      return r;
    };
  };
  return {
      {"bad_check_digit", carrier([](auto& r) {
         r.mutable_carrier_three_factor()->set_id_number("110101199003070135");
       }),
       "esign-platform", grpc::StatusCode::INVALID_ARGUMENT,
       "carrier_three_factor.id_number"},
      {"bad_mobile", carrier([](auto& r) {
         r.mutable_carrier_three_factor()->set_mobile("12800000001");
       }),
       "esign-platform", grpc::StatusCode::INVALID_ARGUMENT,
       "carrier_three_factor.mobile"},
      {"bad_request_id",
       carrier([](auto& r) { r.set_request_id("has space"); }),
       "esign-platform", grpc::StatusCode::INVALID_ARGUMENT, "request_id"},
      {"consent_in_future", carrier([](auto& r) {
         r.mutable_consent()->mutable_granted_at()->set_seconds(4102444800);
       }),
       "esign-platform", grpc::StatusCode::INVALID_ARGUMENT,
       "consent.granted_at"},
      {"no_check", carrier([](auto& r) { r.clear_check(); }), "esign-platform",
       grpc::StatusCode::INVALID_ARGUMENT, "check"},
      {"bad_card",
       [] {
         auto r = BankRequest(AdultMatch(), NextRequestId());
         r.mutable_bank_four_factor()->set_bank_card_number(
             "6222020000000000019");
         return r;
       },
       "esign-platform", grpc::StatusCode::INVALID_ARGUMENT,
       "bank_four_factor.bank_card_number"},
      {"empty_face",
       [] { return FaceRequest(AdultMatch(), "", NextRequestId()); },
       "esign-platform", grpc::StatusCode::INVALID_ARGUMENT,
       "face_verification.face_image"},
      {"underage", [] { return CarrierRequest(Minor(), NextRequestId()); },
       "esign-platform", grpc::StatusCode::FAILED_PRECONDITION,
       "SUBJECT_UNDERAGE"},
      {"no_biometric_consent",
       [] {
         auto r = FaceRequest(AdultMatch(), Face(), NextRequestId());
         r.mutable_consent()->clear_scopes();
         r.mutable_consent()->add_scopes(v1::CONSENT_SCOPE_IDENTITY);
         return r;
       },
       "esign-platform", grpc::StatusCode::FAILED_PRECONDITION,
       "CONSENT_SCOPE_MISSING"},
      {"no_financial_consent",
       [] {
         auto r = BankRequest(AdultMatch(), NextRequestId());
         r.mutable_consent()->clear_scopes();
         r.mutable_consent()->add_scopes(v1::CONSENT_SCOPE_IDENTITY);
         return r;
       },
       "esign-platform", grpc::StatusCode::FAILED_PRECONDITION,
       "CONSENT_SCOPE_MISSING"},
      {"recipient_not_routed", carrier([](auto& r) {
         r.mutable_consent()->add_recipients("bank_mock");
       }),
       "esign-platform", grpc::StatusCode::FAILED_PRECONDITION,
       "NO_ELIGIBLE_PROVIDER"},
      {"check_not_granted",
       [] { return BankRequest(AdultMatch(), NextRequestId()); }, "app-backend",
       grpc::StatusCode::PERMISSION_DENIED, ""},
      {"purpose_not_granted",
       carrier([](auto& r) { r.set_purpose("ca.certificate_registration"); }),
       "esign-platform", grpc::StatusCode::PERMISSION_DENIED, ""},
      {"unknown_caller", carrier([](auto&) {}), "intruder",
       grpc::StatusCode::UNAUTHENTICATED, ""},
  };
}

class Refusals : public ::testing::TestWithParam<Refusal> {};

TEST_P(Refusals, RightCodeAndReasonAndNoProviderCall) {
  GatewayHarness gw;
  ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();
  v1::VerifyResponse response;
  auto st = gw.Verify(GetParam().request(), &response, GetParam().caller);
  EXPECT_EQ(st.error_code(), GetParam().code) << st.error_message();
  if (!GetParam().reason.empty()) {
    google::rpc::Status details;
    ASSERT_TRUE(details.ParseFromString(st.error_details()));
    ASSERT_GT(details.details_size(), 0);
    v1::BadRequest bad;
    v1::ErrorReason reason;
    if (details.details(0).UnpackTo(&bad)) {
      ASSERT_GT(bad.field_violations_size(), 0);
      EXPECT_EQ(bad.field_violations(0).field(), GetParam().reason);
    } else {
      ASSERT_TRUE(details.details(0).UnpackTo(&reason));
      EXPECT_EQ(reason.reason(), GetParam().reason);
    }
  }
  gw.Stop();
  for (const char* provider :
       {"carrier_mock", "bank_mock", "alipay_mock", "cfca_mock"}) {
    EXPECT_EQ(gw.app().mock(provider)->stats().requests, 0u) << provider;
  }
  EXPECT_TRUE(ReadLedger(gw.state_dir() + "/ledger").empty());
}

INSTANTIATE_TEST_SUITE_P(Integration, Refusals,
                         ::testing::ValuesIn(AllRefusals()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace idgate::testing
