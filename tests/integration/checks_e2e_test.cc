// Every check end to end through the real server and the embedded mocks:
// each verdict, and what each mock received equals what the ledger says.
#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace idgate::testing {
namespace {

namespace v1 = ::idgate::v1;
using ::idgate::ledger::v1::RECORD_KIND_INTENT;

class ChecksEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gw_.start_status().ok()) << gw_.start_status();
  }

  v1::VerifyResponse Ok(const v1::VerifyRequest& request) {
    v1::VerifyResponse response;
    auto st = gw_.Verify(request, &response);
    EXPECT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
    return response;
  }

  std::string Face(const std::string& file) {
    return ReadTestFile("config/testdata/faces/" + file);
  }

  GatewayHarness gw_;
};

TEST_F(ChecksEndToEnd, Carrier) {
  EXPECT_EQ(Ok(CarrierRequest(AdultMatch(), NextRequestId())).verdict(),
            v1::VERDICT_MATCH);
  TestPerson wrong_name = AdultMatch();
  wrong_name.name = "李错误";
  EXPECT_EQ(Ok(CarrierRequest(wrong_name, NextRequestId())).verdict(),
            v1::VERDICT_MISMATCH);
  TestPerson nobody{"赵测试", "440305199208150261", "13700000009", ""};
  EXPECT_EQ(Ok(CarrierRequest(nobody, NextRequestId())).verdict(),
            v1::VERDICT_NO_RECORD);
}

TEST_F(ChecksEndToEnd, Bank) {
  auto match = Ok(BankRequest(AdultMatch(), NextRequestId()));
  EXPECT_EQ(match.verdict(), v1::VERDICT_MATCH);
  EXPECT_EQ(match.provider(), "bank_mock");
  TestPerson wrong_mobile{"欧阳测试", "330106198802280486", "18600000044",
                          "6228480000000000042"};
  auto mismatch = Ok(BankRequest(wrong_mobile, NextRequestId()));
  EXPECT_EQ(mismatch.verdict(), v1::VERDICT_MISMATCH);
  EXPECT_TRUE(mismatch.billed());
  auto lost = Ok(BankRequest(CardLost(), NextRequestId()));
  EXPECT_EQ(lost.verdict(), v1::VERDICT_CARD_UNUSABLE);
  EXPECT_TRUE(lost.billed());
  TestPerson expired{"孙测试", "420102199501010627", "15300000006",
                     "6216610000000000065"};
  EXPECT_EQ(Ok(BankRequest(expired, NextRequestId())).verdict(),
            v1::VERDICT_CARD_UNUSABLE);
  TestPerson no_card{"赵测试", "440305199208150261", "13700000009",
                     "6217000000009999990"};
  EXPECT_EQ(Ok(BankRequest(no_card, NextRequestId())).verdict(),
            v1::VERDICT_NO_RECORD);
}

TEST_F(ChecksEndToEnd, Face) {
  auto match =
      Ok(FaceRequest(AdultMatch(), Face("adult-match.jpg"), NextRequestId()));
  EXPECT_EQ(match.verdict(), v1::VERDICT_MATCH);
  EXPECT_EQ(match.provider(), "alipay_mock");  // first in the face route
  EXPECT_TRUE(match.liveness_passed());
  EXPECT_GT(match.face_similarity(), 80);
  auto stranger =
      Ok(FaceRequest(AdultMatch(), Face("stranger.jpg"), NextRequestId()));
  EXPECT_EQ(stranger.verdict(), v1::VERDICT_MISMATCH);
  EXPECT_LT(stranger.face_similarity(), 50);
  auto spoof = Ok(FaceRequest(LivenessFail(), Face("liveness-fail-spoof.jpg"),
                              NextRequestId()));
  EXPECT_EQ(spoof.verdict(), v1::VERDICT_LIVENESS_FAILED);
  EXPECT_FALSE(spoof.liveness_passed());
  TestPerson no_photo{"周测试", "210102199704200843", "", ""};
  EXPECT_EQ(Ok(FaceRequest(no_photo, Face("no-id-photo.jpg"), NextRequestId()))
                .verdict(),
            v1::VERDICT_NO_RECORD);
}

TEST_F(ChecksEndToEnd, FaceThroughCfcaWithLivenessVideo) {
  auto request =
      FaceRequest(AdultMatch(), Face("adult-match.jpg"), NextRequestId());
  request.mutable_consent()->add_recipients("cfca_mock");
  request.mutable_face_verification()->set_liveness_video(
      Face("liveness-video-fail.mp4"));
  auto response = Ok(request);
  EXPECT_EQ(response.provider(), "cfca_mock");
  EXPECT_EQ(response.verdict(), v1::VERDICT_LIVENESS_FAILED);
  ASSERT_EQ(response.disclosures_size(), 1);
  EXPECT_THAT(response.disclosures(0).fields(),
              ::testing::Contains(v1::PII_FIELD_LIVENESS_VIDEO));
}

TEST_F(ChecksEndToEnd, WhatEachMockReceivedIsWhatTheLedgerSays) {
  Ok(CarrierRequest(AdultMatch(), NextRequestId()));
  Ok(BankRequest(AdultMatch(), NextRequestId()));
  Ok(FaceRequest(AdultMatch(), Face("adult-match.jpg"), NextRequestId()));
  auto cfca =
      FaceRequest(AdultMatch(), Face("adult-match.jpg"), NextRequestId());
  cfca.mutable_consent()->add_recipients("cfca_mock");
  cfca.mutable_face_verification()->set_liveness_video(
      Face("liveness-video-ok.mp4"));
  Ok(cfca);
  gw_.Stop();

  // Ledger: per provider, how many intents named each (field, form).
  std::map<std::string, std::map<FieldForm, uint64_t>> ledger;
  std::map<std::string, uint64_t> intents;
  for (const auto& r : ReadLedger(gw_.state_dir() + "/ledger")) {
    if (r.kind() != RECORD_KIND_INTENT) continue;
    ++intents[r.provider()];
    for (const auto& f : r.fields())
      ++ledger[r.provider()][{f.field(), f.form()}];
  }
  for (const char* provider :
       {"carrier_mock", "bank_mock", "alipay_mock", "cfca_mock"}) {
    const MockStats stats = gw_.app().mock(provider)->stats();
    EXPECT_EQ(stats.requests, 1u) << provider;
    EXPECT_EQ(intents[provider], stats.requests) << provider;
    EXPECT_EQ(ledger[provider], stats.fields_received) << provider;
    EXPECT_FALSE(stats.fields_received.empty()) << provider;
  }
}

}  // namespace
}  // namespace idgate::testing
