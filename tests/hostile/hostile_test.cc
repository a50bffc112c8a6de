// Hostile callers (issue 10, item 5): unknown protobuf fields carrying
// canary values, messages above the maximum receive size, zero, negative,
// malformed and huge deadlines, thousands of concurrent streams on one
// connection, canary metadata. The gateway stays up (health SERVING, a
// normal Verify still works) and no canary appears in its logs, metrics,
// ledger or error messages (I4).
//
// The gateway runs in-process (tests/integration/harness); well-formed
// abuse goes through the gRPC C++ client, malformed abuse through RawH2, a
// minimal HTTP/2 client that writes what gRPC clients never would.
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/faults/fault_testing.h"
#include "tests/hostile/raw_h2.h"
#include "tests/integration/harness.h"

namespace idgate::testing {
namespace {

namespace v1 = ::idgate::v1;
using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::HasSubstr;

// Values nobody legitimately sends, in the shapes leak detectors look for.
const std::string kToken = "CANARY-7f3a9c51";
const std::string kIdNumber =
    "440301197703021235";  // valid check digit, not in the book
const std::string kName = "卡纳利乙";
const std::string kMobile = "13911112222";
std::vector<std::string> Canaries() {
  return {kToken, kIdNumber, kName, kMobile};
}

const char kVerifyPath[] = "/idgate.v1.VerificationService/Verify";

int64_t ResidentKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "VmRSS:")) {
      int64_t kb = 0;
      absl::SimpleAtoi(
          absl::StripAsciiWhitespace(absl::StripSuffix(line.substr(6), "kB")),
          &kb);
      return kb;
    }
  }
  return -1;
}

// The gateway with limits that would otherwise stop a flood first.
std::unique_ptr<GatewayHarness> Gateway(
    std::function<void(cfg::GatewayConfig&)> more = nullptr) {
  return std::make_unique<GatewayHarness>([more](cfg::GatewayConfig& c) {
    c.mutable_subject_limits()->set_max_calls_per_check_per_day(0);
    c.mutable_subject_limits()->set_max_distinct_contacts_per_day(0);
    if (more) more(c);
  });
}

// Health SERVING, a normal check still answers, and no canary anywhere.
void ExpectUpAndClean(GatewayHarness& gw, const std::string& errors,
                      const std::vector<std::string>& canaries = Canaries()) {
  ExpectServingAndMatching(gw.channel(),
                           CarrierRequest(AdultMatch(), NextRequestId()));
  const std::string scrape = gw.app().metrics().Scrape();
  gw.Stop(absl::Seconds(2));
  EXPECT_EQ(FindLeak(gw.logs(), canaries), "") << "in the logs";
  EXPECT_EQ(FindLeak(scrape, canaries), "") << "in the metrics";
  EXPECT_EQ(FindLeak(ReadAllFiles(gw.state_dir()), canaries), "")
      << "in the ledger";
  EXPECT_EQ(FindLeak(errors, canaries), "") << "in the errors";
  auto report = AuditLedger(gw.state_dir() + "/ledger");
  EXPECT_TRUE(report.ok) << report.error;
}

std::string ErrorText(const grpc::Status& st) {
  return st.error_message() + st.error_details();
}

// The grpc_code the access log recorded for `request_id` ("" if none).
std::string LoggedCode(const std::string& logs, const std::string& request_id) {
  for (absl::string_view line : absl::StrSplit(logs, '\n')) {
    if (!absl::StrContains(line,
                           absl::StrCat("\"request_id\":\"", request_id, "\"")))
      continue;
    const size_t at = line.find("\"grpc_code\":\"");
    if (at == absl::string_view::npos) continue;
    absl::string_view code = line.substr(at + 13);
    return std::string(code.substr(0, code.find('"')));
  }
  return "";
}

// --- Unknown fields.

google::protobuf::UnknownFieldSet* Unknown(google::protobuf::Message* m) {
  return m->GetReflection()->MutableUnknownFields(m);
}

TEST(UnknownFields, CanariesInUnknownFieldsGoNowhere) {
  auto gw = Gateway();
  ASSERT_TRUE(gw->start_status().ok()) << gw->start_status();
  std::string errors;
  std::vector<v1::VerifyRequest> requests = {
      CarrierRequest(AdultMatch(), NextRequestId()),
      BankRequest(AdultMatch(), NextRequestId()),
      FaceRequest(AdultMatch(),
                  ReadTestFile("config/testdata/faces/adult-match.jpg"),
                  NextRequestId())};
  for (auto& request : requests) {
    // At the top, in the consent, in the check, in the timestamp; as
    // bytes, varints, fixed64 and groups; and the known field numbers
    // with the wrong wire type (which parse as unknown).
    auto* top = Unknown(&request);
    top->AddLengthDelimited(999, kIdNumber);
    top->AddVarint(1, 440301197703021235ull);  // request_id is a string
    top->AddFixed32(2, 0x43414e41u);           // so is purpose
    top->AddFixed64(536870911, 0x4341'4E41'5259'0001ull);
    top->AddGroup(777)->AddLengthDelimited(1, kName);
    Unknown(request.mutable_consent())->AddLengthDelimited(50, kMobile);
    Unknown(request.mutable_consent()->mutable_granted_at())
        ->AddLengthDelimited(9, kToken);
    google::protobuf::Message* check =
        request.has_carrier_three_factor()
            ? static_cast<google::protobuf::Message*>(
                  request.mutable_carrier_three_factor())
        : request.has_bank_four_factor()
            ? static_cast<google::protobuf::Message*>(
                  request.mutable_bank_four_factor())
            : static_cast<google::protobuf::Message*>(
                  request.mutable_face_verification());
    Unknown(check)->AddLengthDelimited(4242, kIdNumber + kName);
    v1::VerifyResponse r;
    auto st = gw->Verify(request, &r);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(r.verdict(), v1::VERDICT_MATCH);
    // Nothing of the request comes back but what the API defines.
    errors += ErrorText(st) + r.SerializeAsString();
    EXPECT_TRUE(r.GetReflection()->GetUnknownFields(r).empty());
  }
  ExpectUpAndClean(*gw, errors);
}

// --- Size.

TEST(Size, AboveTheConfiguredMaximumIsRefusedBeforeAnything) {
  auto gw = Gateway([](cfg::GatewayConfig& c) {
    c.mutable_server()->set_max_receive_message_bytes(1 << 20);
  });
  ASSERT_TRUE(gw->start_status().ok()) << gw->start_status();
  // A 2 MiB "face" made of canaries.
  std::string image = ReadTestFile("config/testdata/faces/adult-match.jpg");
  while (image.size() < (2u << 20)) image += kIdNumber + kToken;
  v1::VerifyResponse r;
  auto st = gw->Verify(FaceRequest(AdultMatch(), image, NextRequestId()), &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << st.error_message();
  EXPECT_EQ(gw->app().mock("alipay_mock")->stats().requests, 0u);
  ExpectUpAndClean(*gw, ErrorText(st));
}

TEST(Size, AboveTheDefaultSixteenMebibytes) {
  auto gw = Gateway();
  ASSERT_TRUE(gw->start_status().ok()) << gw->start_status();
  auto request = CarrierRequest(AdultMatch(), NextRequestId());
  Unknown(&request)->AddLengthDelimited(999,
                                        std::string(17u << 20, 'x') + kToken);
  v1::VerifyResponse r;
  auto st = gw->Verify(request, &r, "esign-platform", absl::Seconds(30));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << st.error_message();
  EXPECT_EQ(gw->app().mock("carrier_mock")->stats().requests, 0u);
  ExpectUpAndClean(*gw, ErrorText(st));
}

TEST(Size, LyingLengthPrefixesAndBadFraming) {
  auto gw = Gateway();
  ASSERT_TRUE(gw->start_status().ok()) << gw->start_status();
  const std::string body =
      CarrierRequest(AdultMatch(), NextRequestId()).SerializeAsString();
  const int64_t rss_before = ResidentKb();
  RawH2 h2(gw->app().port());
  ASSERT_TRUE(h2.connected());
  const RawH2::Headers headers =
      RawH2::GrpcHeaders(kVerifyPath, {{"x-idgate-caller", "esign-platform"}});
  const std::vector<std::string> payloads = {
      RawH2::GrpcFrame(body.substr(0, 10), false,
                       0xFFFFFFFFll),  // claims 4 GiB
      RawH2::GrpcFrame(body.substr(0, 10), false,
                       0x7FFFFFFFll),  // claims 2 GiB
      RawH2::GrpcFrame(body.substr(0, 10), false,
                       1 << 20),                    // claims 1 MiB, ends early
      RawH2::GrpcFrame(body, /*compressed=*/true),  // no grpc-encoding
      RawH2::GrpcFrame(kToken + kIdNumber),         // not a VerifyRequest
      std::string("\x00\x00", 2),                   // a torn prefix
      RawH2::GrpcFrame(body) +
          RawH2::GrpcFrame(body),  // two messages on a unary call
  };
  std::vector<uint32_t> ids;
  uint32_t id = 1;
  for (const auto& p : payloads) {
    ASSERT_TRUE(h2.SendHeaders(id, headers, false));
    ASSERT_TRUE(h2.SendData(id, p, true));
    ids.push_back(id);
    id += 2;
  }
  auto ends = h2.Await(ids, absl::Seconds(20));
  for (uint32_t s : ids)
    EXPECT_TRUE(ends[s].ended || h2.closed())
        << "stream " << s << " never ended";
  // Nothing was allocated for the lies.
  EXPECT_LT(ResidentKb() - rss_before, 256 * 1024);
  std::string answers;
  for (auto& [s, e] : ends) answers += e.header_bytes;
  ExpectUpAndClean(*gw, answers);
}

// --- Deadlines.

TEST(Deadlines, ZeroNegativeMalformedAndHugeTimeoutHeaders) {
  auto gw = Gateway();
  ASSERT_TRUE(gw->start_status().ok()) << gw->start_status();
  const std::vector<std::string> timeouts = {
      "0n",        "1n",         "0S", "-1S", "-100m", "99999999H",
      "99999999S", "123456789S", "1x", "",    "H",     kToken};
  RawH2 h2(gw->app().port());
  ASSERT_TRUE(h2.connected());
  std::vector<uint32_t> ids;
  std::vector<std::string> request_ids;
  uint32_t id = 1;
  for (const auto& t : timeouts) {
    const std::string request_id = absl::StrCat("deadline-", id);
    request_ids.push_back(request_id);
    auto headers = RawH2::GrpcHeaders(
        kVerifyPath,
        {{"x-idgate-caller", "esign-platform"}, {"grpc-timeout", t}});
    ASSERT_TRUE(h2.SendHeaders(id, headers, false));
    ASSERT_TRUE(h2.SendData(
        id,
        RawH2::GrpcFrame(
            CarrierRequest(AdultMatch(), request_id).SerializeAsString()),
        true));
    ids.push_back(id);
    id += 2;
  }
  auto ends = h2.Await(ids, absl::Seconds(30));
  for (uint32_t s : ids)
    EXPECT_TRUE(ends[s].ended || h2.closed())
        << "stream " << s << " never ended";
  absl::SleepFor(absl::Milliseconds(200));
  const std::string logs = gw->logs();
  // An expired deadline never reaches the provider; what was answered was
  // answered within its deadline or failed with DEADLINE_EXCEEDED.
  for (size_t i = 0; i < timeouts.size(); ++i) {
    const std::string code = LoggedCode(logs, request_ids[i]);
    // (Unparsable values, negative ones included, are dropped by gRPC: the
    // call then runs under the config's default deadline.)
    if (timeouts[i] == "0n" || timeouts[i] == "1n" || timeouts[i] == "0S") {
      EXPECT_THAT(code, AnyOf(Eq(""), Eq("DEADLINE_EXCEEDED"), Eq("CANCELLED")))
          << timeouts[i];
    }
    RecordProperty(absl::StrCat("timeout_", i),
                   code.empty() ? "not-dispatched" : code);
  }
  // Through the client: a deadline 100 years away falls back to the
  // config's default; one already past never leaves the client.
  v1::VerifyResponse r;
  auto far = gw->Verify(CarrierRequest(AdultMatch(), NextRequestId()), &r,
                        "esign-platform", absl::Hours(24 * 365 * 100));
  EXPECT_TRUE(far.ok()) << far.error_message();
  auto past = gw->Verify(CarrierRequest(AdultMatch(), NextRequestId()), &r,
                         "esign-platform", -absl::Seconds(5));
  EXPECT_EQ(past.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ExpectUpAndClean(*gw, ErrorText(far) + ErrorText(past));
}

// The grpc-timeout header allows up to 99999999 hours (~11,000 years).
// Sends each value on its own stream and returns the code the access log
// recorded for it.
std::vector<std::string> CodesForTimeouts(
    GatewayHarness& gw, const std::vector<std::string>& timeouts) {
  RawH2 h2(gw.app().port());
  std::vector<uint32_t> ids;
  std::vector<std::string> request_ids;
  uint32_t id = 1;
  for (const auto& t : timeouts) {
    const std::string request_id = absl::StrCat("timeout-", t, "-", id);
    request_ids.push_back(request_id);
    h2.SendHeaders(
        id,
        RawH2::GrpcHeaders(kVerifyPath, {{"x-idgate-caller", "esign-platform"},
                                         {"grpc-timeout", t}}),
        false);
    h2.SendData(
        id,
        RawH2::GrpcFrame(
            CarrierRequest(AdultMatch(), request_id).SerializeAsString()),
        true);
    ids.push_back(id);
    id += 2;
  }
  h2.Await(ids, absl::Seconds(30));
  absl::SleepFor(absl::Milliseconds(200));
  std::vector<std::string> codes;
  for (const auto& r : request_ids) codes.push_back(LoggedCode(gw.logs(), r));
  return codes;
}

TEST(Deadlines, HugeTimeoutsFallBackToTheDefaultDeadline) {
  auto gw = Gateway();
  ASSERT_TRUE(gw->start_status().ok()) << gw->start_status();
  // 3 years and 114 years: beyond a year, the config's default applies.
  EXPECT_THAT(CodesForTimeouts(*gw, {"99999999S", "1000000H"}),
              ::testing::ElementsAre("OK", "OK"));
  ExpectUpAndClean(*gw, "");
}

// Regression (finding F9, fixed in 0cf443a): above ~292 years (e.g. the
// largest legal value, 99999999H), grpc::ServerContext::deadline()
// overflows (it converts to int64 nanoseconds since the epoch) and the call
// failed at once with DEADLINE_EXCEEDED instead of running under the
// default deadline.
TEST(Deadlines, LargestLegalTimeoutsFallBackToTheDefaultDeadline) {
  auto gw = Gateway();
  ASSERT_TRUE(gw->start_status().ok()) << gw->start_status();
  EXPECT_THAT(CodesForTimeouts(*gw, {"3000000H", "99999999H"}),
              ::testing::ElementsAre("OK", "OK"));
}

TEST(Deadlines, ExpiredDeadlinesNeverReachTheProvider) {
  auto gw = Gateway();
  ASSERT_TRUE(gw->start_status().ok()) << gw->start_status();
  RawH2 h2(gw->app().port());
  ASSERT_TRUE(h2.connected());
  std::vector<uint32_t> ids;
  for (uint32_t id = 1; id < 200; id += 2) {
    auto headers = RawH2::GrpcHeaders(
        kVerifyPath,
        {{"x-idgate-caller", "esign-platform"}, {"grpc-timeout", "1n"}});
    ASSERT_TRUE(h2.SendHeaders(id, headers, false));
    ASSERT_TRUE(h2.SendData(
        id,
        RawH2::GrpcFrame(
            CarrierRequest(AdultMatch(), absl::StrCat("expired-", id))
                .SerializeAsString()),
        true));
    ids.push_back(id);
  }
  auto ends = h2.Await(ids, absl::Seconds(30));
  int ended = 0;
  for (uint32_t s : ids) ended += ends[s].ended;
  EXPECT_EQ(ended, static_cast<int>(ids.size()));
  EXPECT_EQ(gw->app().mock("carrier_mock")->stats().requests, 0u);
  ExpectUpAndClean(*gw, "");
}

// The gateway runs no deadline timer per call (gateway_app.cc): the flow
// itself ends a call at the caller's deadline, even for a caller that never
// cancels (this raw client does not), here with a provider that never answers.
TEST(Deadlines, ACallerThatNeverCancelsIsAnsweredAtItsDeadline) {
  auto gw = Gateway([](cfg::GatewayConfig& c) {
    FindProvider(c, "carrier_mock")->mutable_embedded_mock()->set_hang(true);
  });
  ASSERT_TRUE(gw->start_status().ok()) << gw->start_status();
  RawH2 h2(gw->app().port());
  ASSERT_TRUE(h2.connected());
  const std::string request_id = "never-cancels-1";
  const absl::Time start = absl::Now();
  ASSERT_TRUE(h2.SendHeaders(
      1,
      RawH2::GrpcHeaders(kVerifyPath, {{"x-idgate-caller", "esign-platform"},
                                       {"grpc-timeout", "800m"}}),
      false));
  ASSERT_TRUE(h2.SendData(
      1,
      RawH2::GrpcFrame(
          CarrierRequest(AdultMatch(), request_id).SerializeAsString()),
      true));
  auto ends = h2.Await({1}, absl::Seconds(20));
  const absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(ends[1].ended);
  EXPECT_FALSE(ends[1].reset) << "answered with trailers, not reset";
  // Ended by the caller's 800 ms, not by the provider's own 2 s timeout.
  EXPECT_LT(took, absl::Milliseconds(1800));
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(LoggedCode(gw->logs(), request_id), "DEADLINE_EXCEEDED");
  EXPECT_EQ(gw->app().mock("carrier_mock")->stats().requests, 1u);
  EXPECT_EQ(HealthOf(gw->channel()), "SERVING");
}

// --- Many streams on one connection.

TEST(Streams, ThreeThousandHalfOpenStreamsOnOneConnection) {
  auto gw = Gateway();
  ASSERT_TRUE(gw->start_status().ok()) << gw->start_status();
  const int64_t rss_before = ResidentKb();
  {
    RawH2 h2(gw->app().port());
    ASSERT_TRUE(h2.connected());
    const auto headers = RawH2::GrpcHeaders(
        kVerifyPath,
        {{"x-idgate-caller", "esign-platform"}, {"x-note", kToken}});
    int sent = 0;
    for (uint32_t id = 1; sent < 3000; id += 2, ++sent) {
      if (!h2.SendHeaders(id, headers, false)) break;
    }
    EXPECT_EQ(sent, 3000);
    // Let the server take them in, then check it still serves others.
    h2.Await({}, absl::Milliseconds(500));
    ExpectServingAndMatching(gw->channel(),
                             CarrierRequest(AdultMatch(), NextRequestId()));
    RecordProperty("rss_growth_kb_half_open",
                   static_cast<int>(ResidentKb() - rss_before));
  }  // the connection closes: the server drops the streams
  absl::SleepFor(absl::Milliseconds(500));
  ExpectUpAndClean(*gw, "");
}

TEST(Streams, ThreeThousandPipelinedCallsOnOneConnection) {
  auto gw = Gateway();
  ASSERT_TRUE(gw->start_status().ok()) << gw->start_status();
  RawH2 h2(gw->app().port());
  ASSERT_TRUE(h2.connected());
  const auto headers =
      RawH2::GrpcHeaders(kVerifyPath, {{"x-idgate-caller", "esign-platform"}});
  std::vector<uint32_t> ids;
  for (uint32_t id = 1; ids.size() < 3000; id += 2) {
    const std::string body =
        CarrierRequest(AdultMatch(), absl::StrCat("pipelined-", id))
            .SerializeAsString();
    if (!h2.SendHeaders(id, headers, false) ||
        !h2.SendData(id, RawH2::GrpcFrame(body), true))
      break;
    ids.push_back(id);
  }
  EXPECT_EQ(ids.size(), 3000u);
  auto ends = h2.Await(ids, absl::Seconds(120));
  int ended = 0, refused = 0;
  for (uint32_t s : ids) {
    ended += ends[s].ended;
    refused += ends[s].reset;
  }
  EXPECT_EQ(ended, 3000);
  RecordProperty("streams_reset_by_server", refused);
  ExpectUpAndClean(*gw, "");
}

TEST(Streams, ThreeThousandConcurrentCallsFromOneChannel) {
  auto gw = Gateway();
  ASSERT_TRUE(gw->start_status().ok()) << gw->start_status();
  auto stub = v1::VerificationService::NewStub(gw->channel());
  constexpr int kCalls = 3000;
  struct Call {
    grpc::ClientContext context;
    v1::VerifyRequest request;
    v1::VerifyResponse response;
    grpc::Status status;
  };
  std::vector<std::unique_ptr<Call>> calls(kCalls);
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  for (int i = 0; i < kCalls; ++i) {
    calls[i] = std::make_unique<Call>();
    Call* c = calls[i].get();
    c->request = CarrierRequest(AdultMatch(), absl::StrCat("flood-", i));
    c->context.AddMetadata("x-idgate-caller", "esign-platform");
    c->context.set_deadline(
        absl::ToChronoTime(absl::Now() + Slack(absl::Seconds(60))));
    stub->async()->Verify(&c->context, &c->request, &c->response,
                          [c, &mu, &cv, &done](grpc::Status st) {
                            std::lock_guard<std::mutex> lock(mu);
                            c->status = std::move(st);
                            ++done;
                            cv.notify_all();
                          });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(cv.wait_for(lock,
                            absl::ToChronoSeconds(Slack(absl::Seconds(90))),
                            [&] { return done == kCalls; }));
  }
  int ok = 0, exhausted = 0, other = 0;
  for (auto& c : calls) {
    if (c->status.ok()) {
      ++ok;
    } else if (c->status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++exhausted;  // the provider bulkhead (max_in_flight)
    } else {
      ++other;
    }
  }
  EXPECT_EQ(other, 0);
  EXPECT_GT(ok, 0);
  EXPECT_EQ(gw->app().mock("carrier_mock")->stats().requests,
            static_cast<uint64_t>(ok));
  RecordProperty("ok", ok);
  RecordProperty("resource_exhausted", exhausted);
  ExpectUpAndClean(*gw, "");
}

// --- Drain.

// Issue 22: an idle connection held the drain although no call was in
// flight: gRPC waited for each client to answer the GOAWAY's PING, which an
// idle gRPC C++ client does within 5 s (its backup poller) and a client that
// reads nothing never does (then the drain lasted its whole timeout).
TEST(Drain, IdleConnectionsDoNotHoldIt) {
  auto gw = Gateway();
  ASSERT_TRUE(gw->start_status().ok()) << gw->start_status();
  // The harness's gRPC channel, idle after one call, and a connection that
  // never reads.
  v1::VerifyResponse r;
  auto st = gw->Verify(CarrierRequest(AdultMatch(), NextRequestId()), &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  RawH2 stalled(gw->app().port());
  ASSERT_TRUE(stalled.connected());
  absl::SleepFor(absl::Milliseconds(100));
  const absl::Time start = absl::Now();
  gw->Stop(absl::Seconds(10));
  EXPECT_LT(absl::Now() - start, Slack(absl::Seconds(1)));
  EXPECT_THAT(gw->logs(), HasSubstr("\"event\":\"stopped\""));
}

// --- Metadata.

TEST(Metadata, CanaryMetadataIsNeitherEchoedNorLogged) {
  auto gw = Gateway();
  ASSERT_TRUE(gw->start_status().ok()) << gw->start_status();
  auto stub = v1::VerificationService::NewStub(gw->channel());
  std::string seen;
  auto call =
      [&](const std::vector<std::pair<std::string, std::string>>& metadata) {
        grpc::ClientContext context;
        context.set_deadline(
            absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
        for (const auto& [k, v] : metadata) context.AddMetadata(k, v);
        v1::VerifyResponse r;
        auto st = stub->Verify(
            &context, CarrierRequest(AdultMatch(), NextRequestId()), &r);
        seen += ErrorText(st);
        for (const auto& [k, v] : context.GetServerTrailingMetadata())
          seen +=
              std::string(k.data(), k.size()) + std::string(v.data(), v.size());
        for (const auto& [k, v] : context.GetServerInitialMetadata())
          seen +=
              std::string(k.data(), k.size()) + std::string(v.data(), v.size());
        return st;
      };
  // An unknown caller id that is a personal value.
  EXPECT_EQ(call({{"x-idgate-caller", kIdNumber}}).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call({{"x-idgate-caller", kMobile + "-" + kToken}}).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // (Non-ASCII text metadata is refused by the C++ client itself: sent raw
  // in MalformedHeadersOnTheWire.)
  // A known caller with canaries in every other header.
  auto st = call({{"x-idgate-caller", "esign-platform"},
                  {"authorization", "Bearer " + kIdNumber},
                  {"x-forwarded-for", kToken},
                  {"x-request-id", kIdNumber},
                  {"cookie", "subject=" + kMobile},
                  {"x-subject-bin", kName + kIdNumber},
                  {"user-agent", kToken}});
  EXPECT_TRUE(st.ok()) << st.error_message();
  // Metadata far above the limits.
  auto big = call({{"x-idgate-caller", "esign-platform"},
                   {"x-huge", std::string(1 << 20, 'a') + kToken}});
  EXPECT_FALSE(big.ok());
  std::vector<std::pair<std::string, std::string>> many = {
      {"x-idgate-caller", "esign-platform"}};
  for (int i = 0; i < 2000; ++i)
    many.push_back({absl::StrCat("x-canary-", i), kToken});
  EXPECT_FALSE(call(many).ok());
  ExpectUpAndClean(*gw, seen);
}

TEST(Metadata, MalformedHeadersOnTheWire) {
  auto gw = Gateway();
  ASSERT_TRUE(gw->start_status().ok()) << gw->start_status();
  const std::string body = RawH2::GrpcFrame(
      CarrierRequest(AdultMatch(), NextRequestId()).SerializeAsString());
  const std::vector<RawH2::Headers> bad = {
      RawH2::GrpcHeaders(kVerifyPath, {{"x-idgate-caller", "esign-platform"},
                                       {"X-Upper-Case", kToken}}),
      RawH2::GrpcHeaders(kVerifyPath, {{"x-idgate-caller", "esign-platform"},
                                       {"x-bad", kToken + "\r\n\x01"}}),
      RawH2::GrpcHeaders(kVerifyPath, {{"x-idgate-caller", kToken + "\x7f"}}),
      RawH2::GrpcHeaders(kVerifyPath, {{"x-idgate-caller", kName}}),
      RawH2::GrpcHeaders(kVerifyPath, {{"x-idgate-caller", "esign-platform"},
                                       {"x-subject", kName + kIdNumber}}),
      RawH2::GrpcHeaders("/idgate.v1.VerificationService/" + kToken,
                         {{"x-idgate-caller", "esign-platform"}}),
      {{":method", "GET"}, {":path", kVerifyPath}, {":scheme", "http"}},
      RawH2::GrpcHeaders(kVerifyPath, {{"x-idgate-caller", "esign-platform"},
                                       {"content-type", "text/" + kToken}}),
  };
  std::string answers;
  uint32_t id = 1;
  for (const auto& headers : bad) {
    // One connection per case: some of these end the connection.
    RawH2 h2(gw->app().port());
    ASSERT_TRUE(h2.connected());
    h2.SendHeaders(id, headers, false);
    h2.SendData(id, body, true);
    auto ends = h2.Await({id}, absl::Seconds(10));
    EXPECT_TRUE(ends[id].ended || h2.closed()) << "case " << (id / 2);
    answers += ends[id].header_bytes;
    id += 2;
  }
  ExpectUpAndClean(*gw, answers);
}

// --- Non-personal request fields carrying canaries.

TEST(RequestFields, InvalidRequestIdIsRefusedWithoutEchoingIt) {
  auto gw = Gateway();
  ASSERT_TRUE(gw->start_status().ok()) << gw->start_status();
  auto request =
      CarrierRequest(AdultMatch(), kName + kIdNumber);  // not [A-Za-z0-9._:-]
  v1::VerifyResponse r;
  auto st = gw->Verify(request, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FindLeak(ErrorText(st), Canaries()), "");
  EXPECT_EQ(gw->app().mock("carrier_mock")->stats().requests, 0u);
}

// Regression (finding F2, fixed in 76ea54f): the access log line
// ("event":"verify") wrote the caller's request_id and purpose as received,
// so a request_id or purpose that fails validation -- here a name and an ID
// number, or 16 MiB of anything -- landed verbatim in the log.
TEST(RequestFields, InvalidRequestIdAndPurposeNeverReachTheLog) {
  auto gw = Gateway();
  ASSERT_TRUE(gw->start_status().ok()) << gw->start_status();
  v1::VerifyResponse r;
  auto bad_id = CarrierRequest(AdultMatch(), kName + kIdNumber);
  auto st1 = gw->Verify(bad_id, &r);
  auto bad_purpose = CarrierRequest(AdultMatch(), NextRequestId());
  bad_purpose.set_purpose(kIdNumber + "." + kMobile);
  auto st2 = gw->Verify(bad_purpose, &r);
  EXPECT_FALSE(st1.ok());
  EXPECT_FALSE(st2.ok());
  gw->Stop(absl::Seconds(2));
  EXPECT_EQ(FindLeak(gw->logs(), Canaries()), "");
}

// Issue 22: a body that does not parse as a VerifyRequest got gRPC's
// UNIMPLEMENTED with an empty message, and no access log line.
TEST(RequestFields, AnUnparsableBodyIsInvalidArgumentAndLogged) {
  auto gw = Gateway();
  ASSERT_TRUE(gw->start_status().ok()) << gw->start_status();
  // 0xFF 0xFF starts a tag of wire type 7, which does not exist.
  const std::string body = "\xFF\xFF" + kIdNumber + kName;
  grpc::GenericStub stub(gw->channel());
  grpc::ClientContext context;
  context.AddMetadata("x-idgate-caller", "esign-platform");
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  grpc::Slice slice(body);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::CompletionQueue cq;
  grpc::Status st;
  auto call = stub.PrepareUnaryCall(&context, kVerifyPath, request, &cq);
  call->StartCall();
  call->Finish(&response, &st, &cq);
  void* tag = nullptr;
  bool ok = false;
  ASSERT_TRUE(cq.Next(&tag, &ok));
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(),
            "the request body is not a valid idgate.v1.VerifyRequest");
  EXPECT_EQ(LoggedCode(gw->logs(), "<invalid>"), "INVALID_ARGUMENT");
  EXPECT_EQ(gw->app().mock("carrier_mock")->stats().requests, 0u);
  ExpectUpAndClean(*gw, ErrorText(st));
}

// --- The real binary's whole stderr (where its JSON log goes).

// Regression (finding F6, fixed in 76ea54f): gRPC core logs malformed
// metadata itself, value included, on the process's stderr -- the same
// stream as the JSON log:
//   E... hpack_parser.cc:1218] Error parsing metadata: error=invalid value
//   key=grpc-timeout value=<whatever the caller sent>
// so any caller could write personal values (or anything) into the log.
TEST(BinaryStderr, GrpcCoreLogsCarryNoCallerValues) {
  ScratchDir dir("idgate-hostile-binary");
  WriteFile(dir.Join("config.json"), ConfigJson(DevConfigAbsolute()));
  GatewayProcess::Options o;
  o.config_path = dir.Join("config.json");
  o.state_dir = dir.Join("state");
  o.log_path = dir.Join("idgate.log");
  GatewayProcess gw(o);
  ASSERT_TRUE(gw.Start().ok()) << gw.logs();
  {
    RawH2 h2(gw.port());
    ASSERT_TRUE(h2.connected());
    const std::string body = RawH2::GrpcFrame(
        CarrierRequest(AdultMatch(), "stderr-1").SerializeAsString());
    ASSERT_TRUE(h2.SendHeaders(
        1,
        RawH2::GrpcHeaders(kVerifyPath, {{"x-idgate-caller", "esign-platform"},
                                         {"grpc-timeout", kToken}}),
        false));
    ASSERT_TRUE(h2.SendData(1, body, true));
    ASSERT_TRUE(h2.SendHeaders(
        3, RawH2::GrpcHeaders(kVerifyPath, {{"x-idgate-caller", kName}}),
        false));
    ASSERT_TRUE(h2.SendData(3, body, true));
    ASSERT_TRUE(h2.SendHeaders(
        5,
        RawH2::GrpcHeaders(kVerifyPath, {{"x-idgate-caller", "esign-platform"},
                                         {"grpc-timeout", kMobile + "-1S"}}),
        false));
    ASSERT_TRUE(h2.SendData(5, body, true));
    auto ends = h2.Await({1, 3, 5}, absl::Seconds(10));
    EXPECT_TRUE(ends[1].ended && ends[3].ended && ends[5].ended);
  }
  EXPECT_EQ(HealthOf(gw.channel()), "SERVING");
  EXPECT_EQ(gw.Terminate(), 0);
  EXPECT_EQ(FindLeak(gw.logs(), Canaries()), "") << gw.logs();
}

}  // namespace
}  // namespace idgate::testing
