#include <cmath>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tools/idgate-load/call_template.h"
#include "tools/idgate-load/histogram.h"
#include "tools/idgate-load/load_config.h"
#include "tools/idgate-load/report.h"
#include "tools/idgate-load/request_factory.h"

namespace idgate::load {
namespace {

using ::testing::HasSubstr;

CallVars Vars(int64_t n) {
  return CallVars{n, "w3", absl::FromUnixSeconds(1700000000), ""};
}

TEST(CallTemplateTest, RendersGhzVariables) {
  auto t = CallTemplate::Parse(
      "id-{{.RequestNumber}}-{{ .WorkerID }}-{{.TimestampUnix}}");
  ASSERT_TRUE(t.ok()) << t.status();
  CallVars v = Vars(42);
  EXPECT_EQ(t->Render(v, MethodVars{}), "id-42-w3-1700000000");
  EXPECT_FALSE(t->constant());
  EXPECT_TRUE(CallTemplate::Parse("plain")->constant());
}

TEST(CallTemplateTest, UuidIsStableWithinACallAndNewUuidIsNot) {
  auto t = CallTemplate::Parse("{{.UUID}} {{.UUID}} {{newUUID}}");
  ASSERT_TRUE(t.ok());
  CallVars v = Vars(0);
  const std::string s = t->Render(v, MethodVars{});
  ASSERT_EQ(s.size(), 36u * 3 + 2);
  EXPECT_EQ(s.substr(0, 36), s.substr(37, 36));
  EXPECT_NE(s.substr(0, 36), s.substr(74, 36));
  EXPECT_EQ(s[14], '4');  // version 4
}

TEST(CallTemplateTest, RandomFunctions) {
  auto t = CallTemplate::Parse("{{randomString 8}}|{{randomInt 5 6}}");
  ASSERT_TRUE(t.ok());
  CallVars v = Vars(0);
  const std::string s = t->Render(v, MethodVars{});
  EXPECT_EQ(s.size(), 10u);
  EXPECT_EQ(s.substr(8), "|5");
}

TEST(CallTemplateTest, RefusesWhatItCannotExpand) {
  for (const char* text : {"{{.Nope}}", "{{.RequestNumber", "{{randomInt 5 5}}",
                           "{{printf \"%d\" 1}}"}) {
    auto t = CallTemplate::Parse(text);
    EXPECT_FALSE(t.ok()) << text;
  }
}

TEST(LoadConfigTest, ReadsGhzKeysWithGhzDefaults) {
  auto c = ParseLoadConfig(R"({
    "call": "idgate.v1.VerificationService.Verify", "host": "127.0.0.1:1",
    "insecure": true, "metadata": {"x-idgate-caller": "esign-platform"},
    "data": {"request_id": "r{{.RequestNumber}}"}, "max-duration": "1m30s", "rps": 100})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->total, 200u);
  EXPECT_EQ(c->concurrency, 50u);
  EXPECT_EQ(c->connections, 1u);
  EXPECT_EQ(c->timeout, absl::Seconds(20));
  EXPECT_EQ(c->max_duration, absl::Seconds(90));
  EXPECT_EQ(c->rps, 100);
  EXPECT_EQ(c->duration_stop, "close");
  ASSERT_EQ(c->metadata.size(), 1u);
  EXPECT_TRUE(ValidateLoadConfig(*c).ok());
}

TEST(LoadConfigTest, RefusesUnsupportedAndUnknownKeys) {
  for (const char* key : {"qps", "skipTLS", "binary-file", "load-schedule",
                          "cpus", "frobnicate"}) {
    auto c = ParseLoadConfig(absl::StrCat("{\"", key, "\": 1}"));
    ASSERT_FALSE(c.ok()) << key;
    EXPECT_THAT(std::string(c.status().message()), HasSubstr(key));
  }
}

TEST(LoadConfigTest, ValidatesTheCombination) {
  auto c = ParseLoadConfig(
      R"({"call": "other.Service.Method", "host": "h:1", "data": {}})");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(ValidateLoadConfig(*c).ok());
  c = ParseLoadConfig(
      R"({"call": "idgate.v1.VerificationService/Verify", "host": "h:1",
                          "data": {}, "concurrency": 2, "connections": 3})");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(ValidateLoadConfig(*c).ok());
  EXPECT_FALSE(ParseLoadConfig(R"({"timeout": "soon"})").ok());
  EXPECT_FALSE(ParseLoadConfig(R"({"data": "@"})").ok());
}

google::protobuf::Value Json(const std::string& text) {
  google::protobuf::Value v;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &v).ok())
      << text;
  return v;
}

TEST(RequestFactoryTest, FastPathSetsTemplatedStringFields) {
  auto f = RequestFactory::Create(Json(R"({
    "request_id": "lt-{{.RequestNumber}}", "purpose": "esign.signer_identity",
    "consent": {"consentId": "c-{{.WorkerID}}", "granted_at": "2025-01-01T00:00:00Z",
                "scopes": ["CONSENT_SCOPE_IDENTITY"]},
    "carrier_three_factor": {"name": "测试甲", "id_number": "110101199003070134", "mobile": "13800000001"}})"));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE((*f)->fast());
  ::idgate::v1::VerifyRequest r;
  CallVars v = Vars(7);
  ASSERT_TRUE((*f)->Build(v, &r).ok());
  EXPECT_EQ(r.request_id(), "lt-7");
  EXPECT_EQ(r.consent().consent_id(), "c-w3");
  EXPECT_EQ(r.consent().granted_at().seconds(), 1735689600);
  EXPECT_EQ(r.carrier_three_factor().name(), "测试甲");
}

TEST(RequestFactoryTest, GeneralPathForOtherTemplatedValues) {
  auto f = RequestFactory::Create(Json(R"({
    "request_id": "lt-{{.RequestNumber}}",
    "consent": {"granted_at": "{{.Timestamp}}", "scopes": ["CONSENT_SCOPE_IDENTITY"]}})"));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_FALSE((*f)->fast());
  ::idgate::v1::VerifyRequest r;
  CallVars v = Vars(3);
  ASSERT_TRUE((*f)->Build(v, &r).ok());
  EXPECT_EQ(r.request_id(), "lt-3");
  EXPECT_EQ(r.consent().granted_at().seconds(), 1700000000);
}

TEST(RequestFactoryTest, ArrayIsRoundRobinAndBytesAreBase64) {
  auto f = RequestFactory::Create(Json(R"([
    {"request_id": "a-{{.RequestNumber}}", "face_verification": {"face_image": "/9j/4A=="}},
    {"request_id": "b-{{.RequestNumber}}"}])"));
  ASSERT_TRUE(f.ok()) << f.status();
  ::idgate::v1::VerifyRequest r;
  CallVars v0 = Vars(0), v1 = Vars(1), v2 = Vars(2);
  ASSERT_TRUE((*f)->Build(v0, &r).ok());
  EXPECT_EQ(r.request_id(), "a-0");
  EXPECT_EQ(r.face_verification().face_image(),
            std::string("\xff\xd8\xff\xe0", 4));
  ASSERT_TRUE((*f)->Build(v1, &r).ok());
  EXPECT_EQ(r.request_id(), "b-1");
  EXPECT_FALSE(r.has_face_verification());
  ASSERT_TRUE((*f)->Build(v2, &r).ok());
  EXPECT_EQ(r.request_id(), "a-2");
}

TEST(RequestFactoryTest, RefusesDataThatIsNotAVerifyRequest) {
  EXPECT_FALSE(RequestFactory::Create(Json(R"({"requestid": "x"})")).ok());
  EXPECT_FALSE(
      RequestFactory::Create(Json(R"({"request_id": "{{.Bad}}"})")).ok());
  EXPECT_FALSE(
      RequestFactory::Create(
          Json(R"({"consent": {"granted_at": "x{{.RequestNumber}}"}})"))
          .ok());
}

TEST(LatencyHistogramTest, PercentilesWithinOnePercent) {
  LatencyHistogram h;
  for (int64_t i = 1; i <= 100000; ++i) h.Record(i * 1000);  // 1 us .. 100 ms
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.min(), 1000);
  EXPECT_EQ(h.max(), 100000000);
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9}) {
    const double want = p * 1e6;
    EXPECT_NEAR(static_cast<double>(h.Percentile(p)), want, want * 0.01) << p;
  }
  EXPECT_EQ(h.Percentile(100), 100000000);
  EXPECT_NEAR(h.mean(), 50000500.0, 1.0);
  for (int64_t v : {0L, 1L, 127L, 128L, 129L, 1000000007L, int64_t{1} << 62}) {
    const int b = LatencyHistogram::BucketOf(v);
    EXPECT_LE(LatencyHistogram::BucketLow(b), v);
    EXPECT_GT(LatencyHistogram::BucketLow(b) + LatencyHistogram::BucketWidth(b),
              v);
  }
}

TEST(ReportTest, JsonIsValidAndGhzShaped) {
  LoadConfig c;
  c.call = "idgate.v1.VerificationService.Verify";
  c.host = "h:1";
  LatencyHistogram h;
  h.Record(2'000'000);
  h.Record(4'000'000);
  RunResult r;
  r.total = absl::Seconds(1);
  r.count = 2;
  r.codes[0] = 1;
  r.codes[14] = 1;
  r.verdicts[1] = 1;
  r.errors["Unavailable: \"quoted\""] = 1;
  r.latency = &h;
  for (bool pretty : {false, true}) {
    const std::string json = JsonReport(c, r, pretty);
    google::protobuf::Struct s;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &s).ok())
        << json;
    EXPECT_EQ(s.fields().at("count").number_value(), 2);
    EXPECT_EQ(s.fields().at("rps").number_value(), 2);
    EXPECT_EQ(s.fields().at("failures").number_value(), 1);
    EXPECT_EQ(s.fields()
                  .at("statusCodeDistribution")
                  .struct_value()
                  .fields()
                  .at("Unavailable")
                  .number_value(),
              1);
    EXPECT_EQ(s.fields()
                  .at("verdictDistribution")
                  .struct_value()
                  .fields()
                  .at("VERDICT_MATCH")
                  .number_value(),
              1);
  }
  EXPECT_THAT(SummaryReport(c, r), HasSubstr("[Unavailable]\t1 responses"));
}

}  // namespace
}  // namespace idgate::load
