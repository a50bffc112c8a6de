// What an SRE sees (metrics, logs, health) and what nobody may see: canary
// personal values planted in every check and every refusal appear in no log
// line, metric, error message or ledger byte, in any common encoding.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace idgate::testing {
namespace {

namespace v1 = ::idgate::v1;
using ::testing::HasSubstr;

// GET http://127.0.0.1:port/metrics, body only.
std::string HttpGetMetrics(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  const std::string request =
      "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
  (void)write(fd, request.data(), request.size());
  std::string response;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    response.append(buf, static_cast<size_t>(n));
  close(fd);
  auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// The value of one sample line, e.g. `name{labels} 3`; -1 when absent.
double Sample(const std::string& scrape, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(scrape, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      return std::stod(std::string(line.substr(series.size() + 1)));
    }
  }
  return -1;
}

// GB 11643 check character for 17 digits.
std::string WithCheck(const std::string& body17) {
  static const int kWeights[17] = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                                   3, 7, 9,  10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (body17[i] - '0') * kWeights[i];
  return body17 + "10X98765432"[sum % 11];
}

// Luhn check digit appended to `body`.
std::string WithLuhn(const std::string& body) {
  int sum = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    int d = body[body.size() - 1 - i] - '0';
    if (i % 2 == 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return body + static_cast<char>('0' + (10 - sum % 10) % 10);
}

TEST(Metrics, ExactCountersAfterAScriptedMix) {
  GatewayHarness gw(nullptr, nullptr, /*serve_metrics=*/true);
  ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();
  v1::VerifyResponse r;
  ASSERT_TRUE(
      gw.Verify(CarrierRequest(AdultMatch(), NextRequestId()), &r).ok());
  ASSERT_TRUE(
      gw.Verify(CarrierRequest(AdultMatch(), NextRequestId()), &r).ok());
  TestPerson wrong = AdultMatch();
  wrong.name = "李错误";
  ASSERT_TRUE(gw.Verify(CarrierRequest(wrong, NextRequestId()), &r).ok());
  ASSERT_TRUE(gw.Verify(BankRequest(CardLost(), NextRequestId()), &r).ok());
  // Replays count as calls but not as provider requests.
  auto replay = CarrierRequest(AdultMatch(), "replay-me");
  ASSERT_TRUE(gw.Verify(replay, &r).ok());
  ASSERT_TRUE(gw.Verify(replay, &r).ok());
  EXPECT_TRUE(r.replayed());
  TestPerson bad_id = AdultMatch();
  bad_id.id_number = "110101199003070135";
  EXPECT_EQ(gw.Verify(CarrierRequest(bad_id, NextRequestId()), &r).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      gw.Verify(CarrierRequest(Minor(), NextRequestId()), &r).error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(
      gw.Verify(BankRequest(AdultMatch(), NextRequestId()), &r, "app-backend")
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);

  ASSERT_GT(gw.app().metrics_port(), 0);
  const std::string scrape = HttpGetMetrics(gw.app().metrics_port());
  ASSERT_THAT(scrape, HasSubstr("idgate_verifications_total"));
  const std::string m =
      "grpc_method=\"Verify\",grpc_service=\"idgate.v1.VerificationService\","
      "grpc_type=\"unary\"";
  EXPECT_EQ(Sample(scrape, "grpc_server_started_total{" + m + "}"), 9);
  EXPECT_EQ(
      Sample(scrape, "grpc_server_handled_total{grpc_code=\"OK\"," + m + "}"),
      6);
  EXPECT_EQ(Sample(scrape,
                   "grpc_server_handled_total{grpc_code=\"INVALID_ARGUMENT\"," +
                       m + "}"),
            1);
  EXPECT_EQ(
      Sample(scrape,
             "grpc_server_handled_total{grpc_code=\"FAILED_PRECONDITION\"," +
                 m + "}"),
      1);
  EXPECT_EQ(
      Sample(scrape,
             "grpc_server_handled_total{grpc_code=\"PERMISSION_DENIED\"," + m +
                 "}"),
      1);
  EXPECT_EQ(Sample(scrape,
                   "idgate_verifications_total{check=\"CHECK_CARRIER_THREE_"
                   "FACTOR\",verdict=\"VERDICT_MATCH\"}"),
            4);
  EXPECT_EQ(Sample(scrape,
                   "idgate_verifications_total{check=\"CHECK_CARRIER_THREE_"
                   "FACTOR\",verdict=\"VERDICT_MISMATCH\"}"),
            1);
  EXPECT_EQ(Sample(scrape,
                   "idgate_verifications_total{check=\"CHECK_BANK_FOUR_"
                   "FACTOR\",verdict=\"VERDICT_CARD_UNUSABLE\"}"),
            1);
  EXPECT_EQ(Sample(scrape,
                   "idgate_provider_requests_total{outcome=\"VERDICT_MATCH\","
                   "provider=\"carrier_mock\"}"),
            3);
  EXPECT_EQ(Sample(scrape,
                   "idgate_provider_requests_total{outcome=\"VERDICT_"
                   "MISMATCH\",provider=\"carrier_mock\"}"),
            1);
  EXPECT_EQ(
      Sample(scrape, "idgate_provider_billed_total{provider=\"carrier_mock\"}"),
      4);
  EXPECT_EQ(
      Sample(scrape, "idgate_provider_billed_total{provider=\"bank_mock\"}"),
      1);
  EXPECT_EQ(Sample(scrape,
                   "idgate_disclosures_total{field=\"PII_FIELD_MOBILE\",form="
                   "\"PII_FORM_PLAIN\",provider=\"carrier_mock\"}"),
            4);
  EXPECT_EQ(Sample(scrape,
                   "idgate_disclosures_total{field=\"PII_FIELD_BANK_CARD_"
                   "NUMBER\",form=\"PII_FORM_PLAIN\",provider=\"bank_mock\"}"),
            1);
  EXPECT_EQ(Sample(scrape, "idgate_refusals_total{reason=\"validation\"}"), 1);
  EXPECT_EQ(Sample(scrape, "idgate_refusals_total{reason=\"underage\"}"), 1);
  EXPECT_EQ(Sample(scrape, "idgate_refusals_total{reason=\"permission\"}"), 1);
  EXPECT_EQ(Sample(scrape, "idgate_ledger_append_seconds_count"), 5);
  EXPECT_EQ(
      Sample(scrape, "idgate_provider_inflight{provider=\"carrier_mock\"}"), 0);
  EXPECT_EQ(
      Sample(scrape, "idgate_provider_circuit_open{provider=\"carrier_mock\"}"),
      0);
  EXPECT_EQ(Sample(scrape, "idgate_ledger_healthy"), 1);
  EXPECT_GT(Sample(scrape, "process_resident_memory_bytes"), 1e6);
  EXPECT_GT(Sample(scrape, "process_threads"), 1);
  EXPECT_GT(Sample(scrape, "process_open_fds"), 2);
}

// A ledger that works until told to fail, as an fsync error would.
class BreakableLedger : public Ledger {
 public:
  void Append(LedgerRecord, std::function<void(absl::Status)> done) override {
    if (done)
      done(broken ? absl::UnavailableError("injected fsync failure")
                  : absl::OkStatus());
  }
  bool healthy() const override { return !broken; }
  std::atomic<bool> broken{false};
};

TEST(Health, NotServingWhenTheLedgerFailsAndDisclosuresFailClosed) {
  auto ledger = std::make_shared<BreakableLedger>();
  GatewayHarness gw(nullptr, ledger);
  ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();
  auto health = grpc::health::v1::Health::NewStub(gw.channel());
  auto status = [&] {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service("idgate.v1.VerificationService");
    grpc::health::v1::HealthCheckResponse response;
    EXPECT_TRUE(health->Check(&context, request, &response).ok());
    return response.status();
  };
  EXPECT_EQ(status(), grpc::health::v1::HealthCheckResponse::SERVING);
  v1::VerifyResponse r;
  ASSERT_TRUE(
      gw.Verify(CarrierRequest(AdultMatch(), NextRequestId()), &r).ok());

  ledger->broken = true;
  gw.app().RefreshHealth();
  EXPECT_EQ(status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(gw.Verify(CarrierRequest(AdultMatch(), NextRequestId()), &r)
                  .error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  EXPECT_EQ(gw.app().mock("carrier_mock")->stats().requests, 1u);
  EXPECT_THAT(gw.app().metrics().Scrape(),
              HasSubstr("idgate_ledger_healthy 0"));
  EXPECT_THAT(gw.logs(), HasSubstr("\"event\":\"ledger_failed\""));
}

TEST(Canary, NoPersonalValueInLogsMetricsErrorsOrLedger) {
  GatewayHarness gw(nullptr, nullptr, /*serve_metrics=*/true);
  ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();
  // Valid, unique values that reach the providers (nobody in the book)...
  const std::string id = WithCheck("11010119850615987");
  const std::string mobile = "13987654321";
  const std::string card = WithLuhn("622202987654321");
  const std::string name = "卡纳利";
  const std::string face =
      std::string("\xFF\xD8\xFF\xE0", 4) + "CANARYFACE8675309";
  TestPerson canary{name, id, mobile, card};
  std::vector<grpc::Status> statuses;
  v1::VerifyResponse r;
  statuses.push_back(gw.Verify(CarrierRequest(canary, NextRequestId()), &r));
  statuses.push_back(gw.Verify(BankRequest(canary, NextRequestId()), &r));
  statuses.push_back(gw.Verify(FaceRequest(canary, face, NextRequestId()), &r));
  // ...and every refusal, carrying the same values.
  auto no_consent = CarrierRequest(canary, NextRequestId());
  no_consent.mutable_consent()->clear_scopes();
  statuses.push_back(gw.Verify(no_consent, &r));
  statuses.push_back(
      gw.Verify(BankRequest(canary, NextRequestId()), &r, "app-backend"));
  TestPerson invalid = canary;
  invalid.id_number =
      id.substr(0, 17) + (id[17] == '1' ? "2" : "1");  // check digit off
  invalid.mobile = "1" + mobile;                       // 12 digits
  invalid.card = card + "9";                           // fails Luhn
  invalid.name = name + "\xE2\x80\xAE";                // RTL override
  statuses.push_back(gw.Verify(BankRequest(invalid, NextRequestId()), &r));
  TestPerson minor = Minor();
  minor.name = name;
  minor.mobile = mobile;
  statuses.push_back(gw.Verify(CarrierRequest(minor, NextRequestId()), &r));
  auto reused = CarrierRequest(canary, "reused-id");
  statuses.push_back(gw.Verify(reused, &r));
  reused.mutable_carrier_three_factor()->set_mobile("13912340000");
  statuses.push_back(gw.Verify(reused, &r));
  int refusals = 0;
  for (const auto& st : statuses) refusals += !st.ok();
  EXPECT_GE(refusals, 5);

  const std::string scrape = HttpGetMetrics(gw.app().metrics_port());
  gw.Stop();
  std::string errors;
  for (const auto& st : statuses)
    errors += st.error_message() + st.error_details();
  const std::string haystacks[] = {gw.logs(), scrape, errors,
                                   ReadAllFiles(gw.state_dir())};
  const char* where[] = {"logs", "metrics", "error messages", "ledger"};
  for (const std::string& value : {id, invalid.id_number, mobile, card, name,
                                   std::string("CANARYFACE8675309")}) {
    const std::string forms[] = {
        value,
        absl::BytesToHexString(value),
        absl::AsciiStrToUpper(absl::BytesToHexString(value)),
        absl::Base64Escape(value),
        absl::WebSafeBase64Escape(value),
        [&] {
          std::string url;
          for (unsigned char c : value) {
            if (isalnum(c))
              url += static_cast<char>(c);
            else
              url += absl::StrCat(
                  "%", absl::AsciiStrToUpper(
                           absl::BytesToHexString(std::string(1, c))));
          }
          return url;
        }()};
    for (int h = 0; h < 4; ++h) {
      for (const auto& form : forms) {
        EXPECT_EQ(haystacks[h].find(form), std::string::npos)
            << "a canary value appears in the " << where[h];
      }
    }
  }
  // The scrape and logs are not empty: the search looked at something.
  EXPECT_THAT(gw.logs(), HasSubstr("\"event\":\"verify\""));
  EXPECT_THAT(scrape, HasSubstr("idgate_disclosures_total"));
}

}  // namespace
}  // namespace idgate::testing
