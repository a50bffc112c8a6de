// Routing, failover, deadlines, breakers, bulkheads, idempotency, limits and
// mTLS caller authentication, through the real server.
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace idgate::testing {
namespace {

namespace cfg = ::idgate::config::v1;
namespace v1 = ::idgate::v1;
using ::idgate::ledger::v1::RECORD_KIND_INTENT;

cfg::Provider* FindProvider(cfg::GatewayConfig& c, const std::string& id) {
  for (auto& p : *c.mutable_providers()) {
    if (p.id() == id) return &p;
  }
  return nullptr;
}

TEST(Failover, BusyProviderFailsOverWithASecondDisclosureInLedgerAndReceipt) {
  GatewayHarness gw([](cfg::GatewayConfig& c) {
    FindProvider(c, "alipay_mock")->mutable_embedded_mock()->set_busy_rate(1.0);
  });
  ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();
  v1::VerifyResponse r;
  auto st = gw.Verify(
      FaceRequest(AdultMatch(),
                  ReadTestFile("config/testdata/faces/adult-match.jpg"),
                  NextRequestId()),
      &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(r.provider(), "cfca_mock");
  ASSERT_EQ(r.disclosures_size(), 2);
  EXPECT_EQ(r.disclosures(0).provider(), "alipay_mock");
  EXPECT_EQ(r.disclosures(1).provider(), "cfca_mock");
  EXPECT_EQ(gw.app().mock("alipay_mock")->stats().requests, 1u);
  EXPECT_EQ(gw.app().mock("cfca_mock")->stats().requests, 1u);
  gw.Stop();
  std::vector<std::string> intents;
  for (const auto& rec : ReadLedger(gw.state_dir() + "/ledger")) {
    if (rec.kind() == RECORD_KIND_INTENT)
      intents.push_back(rec.disclosure_id());
  }
  EXPECT_EQ(intents,
            (std::vector<std::string>{r.disclosures(0).disclosure_id(),
                                      r.disclosures(1).disclosure_id()}));
}

TEST(Failover, NeverAfterABilledMismatch) {
  GatewayHarness gw;
  ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();
  v1::VerifyResponse r;
  ASSERT_TRUE(
      gw.Verify(FaceRequest(AdultMatch(),
                            ReadTestFile("config/testdata/faces/stranger.jpg"),
                            NextRequestId()),
                &r)
          .ok());
  EXPECT_EQ(r.verdict(), v1::VERDICT_MISMATCH);
  EXPECT_EQ(gw.app().mock("alipay_mock")->stats().requests, 1u);
  EXPECT_EQ(gw.app().mock("cfca_mock")->stats().requests, 0u);
}

TEST(Deadlines, HangingProviderDoesNotHoldTheCallerPastItsDeadline) {
  GatewayHarness gw([](cfg::GatewayConfig& c) {
    FindProvider(c, "carrier_mock")->mutable_embedded_mock()->set_hang(true);
  });
  ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();
  v1::VerifyResponse r;
  const absl::Time start = absl::Now();
  auto st = gw.Verify(CarrierRequest(AdultMatch(), NextRequestId()), &r,
                      "esign-platform", absl::Milliseconds(800));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
  EXPECT_EQ(gw.app().mock("carrier_mock")->stats().requests, 1u);
}

TEST(Deadlines, NoProviderCallStartsAfterTheCallersDeadline) {
  GatewayHarness gw;
  ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();
  v1::VerifyResponse r;
  auto st = gw.Verify(CarrierRequest(AdultMatch(), NextRequestId()), &r,
                      "esign-platform", absl::Milliseconds(40));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(gw.app().mock("carrier_mock")->stats().requests, 0u);
}

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresAndStopsCallingTheProvider) {
  GatewayHarness gw([](cfg::GatewayConfig& c) {
    auto* p = FindProvider(c, "carrier_mock");
    p->mutable_embedded_mock()->set_error_rate(1.0);
    p->mutable_circuit_breaker()->set_consecutive_failures(3);
    p->mutable_circuit_breaker()->mutable_base_ejection_time()->set_seconds(30);
  });
  ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();
  v1::VerifyResponse r;
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(gw.Verify(CarrierRequest(AdultMatch(), NextRequestId()), &r)
                  .error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  EXPECT_EQ(gw.app().mock("carrier_mock")->stats().requests, 3u);
  EXPECT_THAT(gw.app().metrics().Scrape(),
              ::testing::HasSubstr(
                  "idgate_provider_circuit_open{provider=\"carrier_mock\"} 1"));
}

TEST(Bulkhead, CapsInFlightCallsAtTheProvider) {
  GatewayHarness gw([](cfg::GatewayConfig& c) {
    auto* p = FindProvider(c, "carrier_mock");
    p->set_max_in_flight(3);
    p->mutable_embedded_mock()->mutable_latency_mean()->set_nanos(400'000'000);
  });
  ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();
  std::vector<grpc::StatusCode> codes(10);
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&, i] {
      v1::VerifyResponse r;
      codes[i] = gw.Verify(CarrierRequest(AdultMatch(), NextRequestId()), &r)
                     .error_code();
    });
  }
  for (auto& t : threads) t.join();
  int ok = 0, exhausted = 0;
  for (auto c : codes) {
    ok += c == grpc::StatusCode::OK;
    exhausted += c == grpc::StatusCode::RESOURCE_EXHAUSTED;
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(exhausted, 7);
  EXPECT_EQ(gw.app().mock("carrier_mock")->stats().requests, 3u);
}

TEST(Idempotency, FiftyConcurrentRetriesMakeOneProviderCall) {
  GatewayHarness gw([](cfg::GatewayConfig& c) {
    FindProvider(c, "carrier_mock")
        ->mutable_embedded_mock()
        ->mutable_latency_mean()
        ->set_nanos(200'000'000);
  });
  ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();
  const auto request = CarrierRequest(AdultMatch(), "same-id-50");
  std::vector<v1::VerifyResponse> responses(50);
  std::vector<grpc::Status> statuses(50);
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back(
        [&, i] { statuses[i] = gw.Verify(request, &responses[i]); });
  }
  for (auto& t : threads) t.join();
  int replayed = 0;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_EQ(responses[i].verdict(), v1::VERDICT_MATCH);
    replayed += responses[i].replayed();
  }
  EXPECT_EQ(replayed, 49);
  EXPECT_EQ(gw.app().mock("carrier_mock")->stats().requests, 1u);

  auto reused = request;
  reused.mutable_carrier_three_factor()->set_mobile("13900000005");
  v1::VerifyResponse r;
  EXPECT_EQ(gw.Verify(reused, &r).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(gw.app().mock("carrier_mock")->stats().requests, 1u);
}

TEST(Limits, EnumerationGuardStopsTheNextDistinctMobile) {
  GatewayHarness gw([](cfg::GatewayConfig& c) {
    c.mutable_subject_limits()->set_max_distinct_contacts_per_day(2);
  });
  ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();
  TestPerson p = AdultMatch();
  v1::VerifyResponse r;
  for (const char* mobile : {"13800000001", "13811110001", "13800000001"}) {
    p.mobile = mobile;
    EXPECT_TRUE(gw.Verify(CarrierRequest(p, NextRequestId()), &r).ok())
        << mobile;
  }
  p.mobile = "13811110002";  // the third distinct mobile for this ID today
  auto st = gw.Verify(CarrierRequest(p, NextRequestId()), &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(st.error_message().find("13811110002"), std::string::npos);
  EXPECT_EQ(gw.app().mock("carrier_mock")->stats().requests, 3u);
}

TEST(Limits, CallerTokenBucket) {
  GatewayHarness gw([](cfg::GatewayConfig& c) {
    auto* caller = c.mutable_callers()->mutable_callers(0);
    caller->set_rate_per_second(0.001);
    caller->set_burst(2);
  });
  ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();
  v1::VerifyResponse r;
  EXPECT_TRUE(
      gw.Verify(CarrierRequest(AdultMatch(), NextRequestId()), &r).ok());
  EXPECT_TRUE(
      gw.Verify(CarrierRequest(AdultMatch(), NextRequestId()), &r).ok());
  auto st = gw.Verify(CarrierRequest(AdultMatch(), NextRequestId()), &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_FALSE(st.error_details().empty());  // carries the retry delay
}

class MutualTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string((std::filesystem::temp_directory_path() /
                            absl::StrCat("idgate-certs-", getpid()))
                               .string());
    ASSERT_EQ(std::system(absl::StrCat("scripts/dev-certs.sh ", *dir_,
                                       " esign-platform stranger >/dev/null")
                              .c_str()),
              0);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  void SetUp() override {
    gw_ = std::make_unique<GatewayHarness>([](cfg::GatewayConfig& c) {
      c.mutable_callers()->set_development_mode(false);
      c.mutable_tls()->set_cert_file(*dir_ + "/server.pem");
      c.mutable_tls()->set_key_file(*dir_ + "/server.key");
      c.mutable_tls()->set_client_ca_file(*dir_ + "/ca.pem");
    });
    ASSERT_TRUE(gw_->start_status().ok()) << gw_->start_status();
  }

  grpc::Status Call(const std::string& cert, const std::string& key,
                    const std::string& metadata_caller = "") {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadTestFile(*dir_ + "/ca.pem");
    if (!cert.empty()) {
      ssl.pem_cert_chain = ReadTestFile(*dir_ + "/" + cert);
      ssl.pem_private_key = ReadTestFile(*dir_ + "/" + key);
    }
    auto channel =
        grpc::CreateChannel(absl::StrCat("localhost:", gw_->app().port()),
                            grpc::SslCredentials(ssl));
    auto stub = v1::VerificationService::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    if (!metadata_caller.empty())
      context.AddMetadata("x-idgate-caller", metadata_caller);
    v1::VerifyResponse r;
    auto st = stub->Verify(&context,
                           CarrierRequest(AdultMatch(), NextRequestId()), &r);
    if (st.ok()) {
      EXPECT_EQ(r.verdict(), v1::VERDICT_MATCH);
    }
    return st;
  }

  static std::string* dir_;
  std::unique_ptr<GatewayHarness> gw_;
};
std::string* MutualTls::dir_ = nullptr;

TEST_F(MutualTls, GoodCertificateIdentifiesTheCaller) {
  EXPECT_TRUE(
      Call("caller-esign-platform.pem", "caller-esign-platform.key").ok());
}

TEST_F(MutualTls, CertificateOfAnUnknownCallerIsUnauthenticated) {
  // Signed by our CA, but "stranger" is not a configured caller; metadata
  // cannot override a certificate.
  EXPECT_EQ(Call("caller-stranger.pem", "caller-stranger.key", "esign-platform")
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(MutualTls, HandshakeRefusesNoUnknownOrExpiredCertificate) {
  EXPECT_EQ(Call("", "", "esign-platform").error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Call("rogue.pem", "rogue.key").error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Call("expired.pem", "expired.key").error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(gw_->app().mock("carrier_mock")->stats().requests, 0u);
}

}  // namespace
}  // namespace idgate::testing
