// Bad config files against the real `idgate` binary (issue 10, item 1):
// every kind of bad value stops start-up with exit code 1, one JSON log
// line naming the field path, and no crash, abort or stack trace. Nothing
// listens and no provider is called.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/faults/fault_testing.h"

namespace idgate::testing {
namespace {

using ::testing::HasSubstr;

struct BadConfig {
  std::string name;
  // Edits the parsed config (proto) ...
  std::function<void(cfg::GatewayConfig&)> edit;
  // ... and/or the JSON text (for what a proto cannot hold).
  std::function<std::string(std::string)> text;
  // What the error must name (the field path, or the file).
  std::string names;
  std::vector<std::string> flags = {};
};

std::string Replace(std::string json, const std::string& from,
                    const std::string& to) {
  const std::string out = absl::StrReplaceAll(json, {{from, to}});
  if (out == json) {
    ADD_FAILURE() << "config text has no " << from;
  }
  return out;
}

cfg::Provider& P(cfg::GatewayConfig& c, const std::string& id) {
  return *FindProvider(c, id);
}

void SetDuration(google::protobuf::Duration* d, int64_t seconds,
                 int32_t nanos) {
  d->set_seconds(seconds);
  d->set_nanos(nanos);
}

std::vector<BadConfig> Cases() {
  std::vector<BadConfig> cases = {
      // Syntax and types: protobuf's JSON parser names the field.
      {"UnknownField", nullptr,
       [](std::string j) {
         return Replace(j, "\"listenAddress\"", "\"listenAdress\"");
       },
       "listenAdress"},
      {"WrongType", nullptr,
       [](std::string j) {
         return Replace(j, "\"maxConcurrentCalls\": 20000",
                        "\"maxConcurrentCalls\": \"many\"");
       },
       "server.max_concurrent_calls"},
      {"UnknownEnum", nullptr,
       [](std::string j) {
         return Replace(j, "\"CHECK_BANK_FOUR_FACTOR\"", "\"CHECK_TELEPATHY\"");
       },
       "CHECK_TELEPATHY"},
      {"BadDurationSyntax", nullptr,
       [](std::string j) {
         return Replace(j, "\"defaultDeadline\": \"10s\"",
                        "\"defaultDeadline\": \"10 seconds\"");
       },
       "defaultDeadline"},
      {"TruncatedJson", nullptr,
       [](std::string j) { return j.substr(0, j.size() / 2); }, "config: "},
      {"EmptyFile", nullptr, [](std::string) { return std::string(); },
       "config: "},
      // Aborted protobuf 3.21's JSON parser (CHECK failure) until the loader
      // caught it: found by fuzz_config.
      {"NestedAnyCrashedTheParser", nullptr,
       [](std::string) {
         return ReadFileOrEmpty(
             RepoPath("tests/fuzz/corpus/config/regression_nested_any"));
       },
       "config: not a valid GatewayConfig"},
      {"NotJson", nullptr,
       [](std::string) { return std::string("\x00\xff\xfe garbage", 12); },
       "config: "},
      // Values out of range: the loader names the path.
      {"NegativeProviderTimeout",
       [](cfg::GatewayConfig& c) {
         SetDuration(P(c, "carrier_mock").mutable_timeout(), -1, 0);
       },
       nullptr, "providers[0].timeout"},
      {"ErrorRateAboveOne",
       [](cfg::GatewayConfig& c) {
         P(c, "carrier_mock").mutable_embedded_mock()->set_error_rate(1.5);
       },
       nullptr, "providers[0].embedded_mock.error_rate"},
      {"BusyRateNaN", nullptr,
       [](std::string j) {
         return Replace(j, "\"latencyMean\": \"0.005s\"",
                        "\"latencyMean\": \"0.005s\", \"busyRate\": \"NaN\"");
       },
       "providers[0].embedded_mock.busy_rate"},
      {"NegativeMockLatencyNanos",
       [](cfg::GatewayConfig& c) {
         SetDuration(P(c, "carrier_mock")
                         .mutable_embedded_mock()
                         ->mutable_latency_mean(),
                     0, -5);
       },
       nullptr, "providers[0].embedded_mock.latency_mean"},
      {"CallerRateNaN",
       [](cfg::GatewayConfig& c) {
         c.mutable_callers()->mutable_callers(0)->set_rate_per_second(
             std::numeric_limits<double>::quiet_NaN());
         c.mutable_callers()->mutable_callers(0)->set_burst(1);
       },
       nullptr, "callers.callers[0].rate_per_second"},
      {"CallerRateInfinite",
       [](cfg::GatewayConfig& c) {
         c.mutable_callers()->mutable_callers(0)->set_rate_per_second(
             std::numeric_limits<double>::infinity());
         c.mutable_callers()->mutable_callers(0)->set_burst(1);
       },
       nullptr, "callers.callers[0].rate_per_second"},
      {"CallerRateWithoutBurst",
       [](cfg::GatewayConfig& c) {
         c.mutable_callers()->mutable_callers(0)->set_rate_per_second(5);
       },
       nullptr, "callers.callers[0].burst"},
      {"ReceiveSizeWrapsToUnlimited",
       [](cfg::GatewayConfig& c) {
         c.mutable_server()->set_max_receive_message_bytes(4294967295u);
       },
       nullptr, "server.max_receive_message_bytes"},
      {"NegativeConnectionAgeNanos",
       [](cfg::GatewayConfig& c) {
         SetDuration(c.mutable_server()->mutable_max_connection_age(), 0,
                     -500000000);
       },
       nullptr, "server.max_connection_age"},
      {"ConnectionAgeOverflowsInt",
       [](cfg::GatewayConfig& c) {
         SetDuration(c.mutable_server()->mutable_max_connection_age(), 3000000,
                     0);
       },
       nullptr, "server.max_connection_age"},
      {"NegativeDrainTimeout",
       [](cfg::GatewayConfig& c) {
         SetDuration(c.mutable_server()->mutable_drain_timeout(), -20, 0);
       },
       nullptr, "server.drain_timeout"},
      {"NegativeEjectionTime",
       [](cfg::GatewayConfig& c) {
         SetDuration(P(c, "carrier_mock")
                         .mutable_circuit_breaker()
                         ->mutable_base_ejection_time(),
                     -1, 0);
       },
       nullptr, "providers[0].circuit_breaker.base_ejection_time"},
      {"NegativeIdempotencyTtl",
       [](cfg::GatewayConfig& c) {
         SetDuration(c.mutable_idempotency()->mutable_ttl(), -1, 0);
       },
       nullptr, "idempotency.ttl"},
      {"ListenAddressWithoutPort",
       [](cfg::GatewayConfig& c) { c.set_listen_address("localhost"); },
       nullptr, "listen_address"},
      {"MetricsPortOutOfRange",
       [](cfg::GatewayConfig& c) {
         c.set_metrics_listen_address("127.0.0.1:99999");
       },
       nullptr, "metrics_listen_address"},
      // References.
      {"DuplicateProvider",
       [](cfg::GatewayConfig& c) { *c.add_providers() = P(c, "carrier_mock"); },
       nullptr, "providers[4].id"},
      {"RouteToUnknownProvider",
       [](cfg::GatewayConfig& c) {
         c.mutable_routes(0)->mutable_targets(0)->set_provider("nobody");
       },
       nullptr, "routes[0].targets[0].provider"},
      {"RuleWithUnknownPurpose",
       [](cfg::GatewayConfig& c) {
         c.mutable_disclosure_rules(0)->set_purposes(0, "marketing");
       },
       nullptr, "disclosure_rules[0].purposes[0]"},
      {"CallerWithUnknownPurpose",
       [](cfg::GatewayConfig& c) {
         c.mutable_callers()->mutable_callers(0)->add_purposes("marketing");
       },
       nullptr, "callers.callers[0].purposes[1]"},
      {"NoSubjectKey",
       [](cfg::GatewayConfig& c) { c.mutable_ledger()->clear_subject_keys(); },
       nullptr, "ledger.subject_keys"},
      {"TlsCertWithoutKey",
       [](cfg::GatewayConfig& c) {
         c.mutable_tls()->set_cert_file("/nonexistent/cert.pem");
       },
       nullptr, "tls"},
      // Found when the gateway assembles itself (after parsing).
      {"UnknownAdapterType", nullptr,
       [](std::string j) {
         return Replace(
             j, "type.googleapis.com/idgate.config.v1.CarrierAdapterConfig",
             "type.googleapis.com/idgate.config.v1.NopeAdapterConfig");
       },
       "providers[0].adapter"},
      {"AdapterMissingRequiredField",
       [](cfg::GatewayConfig& c) {
         cfg::CarrierAdapterConfig a;
         a.set_mode(cfg::CARRIER_MODE_PLAIN);
         P(c, "carrier_mock").mutable_adapter()->PackFrom(a);
       },
       nullptr, "app_id"},
      {"PolicyForbidsWhatTheAdapterNeeds",
       [](cfg::GatewayConfig& c) {
         for (auto& f : *c.mutable_disclosure_rules(0)->mutable_fields())
           f.set_form(::idgate::v1::PII_FORM_SHA256);
       },
       nullptr, "carrier_mock"},
      {"TlsCertFileMissing",
       [](cfg::GatewayConfig& c) {
         c.mutable_tls()->set_cert_file("/nonexistent/cert.pem");
         c.mutable_tls()->set_key_file("/nonexistent/key.pem");
       },
       nullptr, "tls.key_file"},
      // Readable, but not a certificate: refused before the server starts
      // (it was "cannot listen on ..." when gRPC found out).
      {"TlsCertFileNotACertificate",
       [](cfg::GatewayConfig& c) {
         c.mutable_tls()->set_cert_file(
             RepoPath("config/dev-secrets/checkpoint-ed25519.pub.pem"));
         c.mutable_tls()->set_key_file(
             RepoPath("config/dev-secrets/checkpoint-ed25519.key"));
       },
       nullptr, "tls.cert_file: no PEM certificate"},
      {"MockPublicKeyMissing",
       [](cfg::GatewayConfig& c) {
         (*c.mutable_mocks()
               ->mutable_verify_public_key_files())["alipay_mock"] =
             "/nonexistent.pem";
       },
       nullptr, "mocks.verify_public_key_files[alipay_mock]"},
      {"AdapterSigningKeyMissing",
       [](cfg::GatewayConfig& c) {
         cfg::AlipayAdapterConfig a;
         P(c, "alipay_mock").adapter().UnpackTo(&a);
         a.set_signing_key_file("/nonexistent.key");
         P(c, "alipay_mock").mutable_adapter()->PackFrom(a);
       },
       nullptr, "alipay_mock"},
  };
  return cases;
}

// Start-up errors raised outside the loader, when the gateway assembles
// itself (finding F4: they did not name the field path).
std::vector<BadConfig> CasesWithoutFieldPath() {
  return {
      {"SubjectKeyFileMissing",
       [](cfg::GatewayConfig& c) {
         c.mutable_ledger()->mutable_subject_keys(0)->set_file(
             "/nonexistent.key");
       },
       nullptr, "ledger.subject_keys[0].file"},
      {"CheckpointKeyFileMissing",
       [](cfg::GatewayConfig& c) {
         c.mutable_ledger()->set_checkpoint_private_key_file(
             "/nonexistent.key");
       },
       nullptr, "ledger.checkpoint_private_key_file"},
      {"IdentityBookMissing",
       [](cfg::GatewayConfig& c) {
         c.mutable_mocks()->set_identity_book_file("/nonexistent.json");
       },
       nullptr, "mocks.identity_book_file"},
  };
}

// What a clean refusal never contains.
const char* const kCrashMarkers[] = {"terminate called",
                                     "Aborted",
                                     "AddressSanitizer",
                                     "LeakSanitizer",
                                     "runtime error:",
                                     "ThreadSanitizer",
                                     "Segmentation fault",
                                     "SIGSEGV",
                                     "SIGABRT",
                                     "Check failed",
                                     "#0 0x",
                                     "core dumped",
                                     "what():"};

struct Outcome {
  bool exited = false;
  int exit_code = -2;
  int signal = 0;
  std::string log;
};

Outcome RunWith(const BadConfig& bad, const std::string& dir) {
  cfg::GatewayConfig c = DevConfigAbsolute();
  if (bad.edit) bad.edit(c);
  std::string json = ConfigJson(c);
  if (bad.text) json = bad.text(json);
  const std::string path = dir + "/config.json";
  WriteFile(path, json);
  ProcessOptions p;
  p.argv = {IdgateBinary(), "--config=" + path,
            "--state_dir=" + dir + "/state"};
  bool listen = false, metrics = false;
  for (const auto& f : bad.flags) {
    p.argv.push_back(f);
    listen |= absl::StartsWith(f, "--listen=");
    metrics |= absl::StartsWith(f, "--metrics_listen=");
  }
  if (!listen) p.argv.push_back("--listen=127.0.0.1:0");
  if (!metrics) p.argv.push_back("--metrics_listen=127.0.0.1:0");
  p.capture_path = dir + "/out.log";
  Outcome out;
  auto process = Subprocess::Start(p);
  if (!process.ok()) return out;
  out.exited = (*process)->Wait(absl::Seconds(30));
  out.exit_code = (*process)->exit_code();
  out.signal = (*process)->term_signal();
  out.log = ReadFileOrEmpty(dir + "/out.log");
  return out;
}

void ExpectCleanRefusal(const Outcome& out, const std::string& names) {
  ASSERT_TRUE(out.exited) << "the gateway started with a bad config:\n"
                          << out.log;
  EXPECT_EQ(out.signal, 0) << out.log;
  EXPECT_EQ(out.exit_code, 1) << out.log;
  EXPECT_THAT(out.log, HasSubstr(names));
  for (const char* marker : kCrashMarkers)
    EXPECT_THAT(out.log, ::testing::Not(HasSubstr(marker)));
  // Only structured log lines, one of them the refusal. (gRPC's own log
  // lines, "E1122 21:50:31.949 ... Address already in use", may precede it.)
  int refusals = 0;
  for (absl::string_view line :
       absl::StrSplit(out.log, '\n', absl::SkipEmpty())) {
    const bool grpc_log =
        line.size() > 5 &&
        std::string("EWID").find(line[0]) != std::string::npos &&
        absl::ascii_isdigit(static_cast<unsigned char>(line[1]));
    // protobuf's own log line before it gives up ("[libprotobuf FATAL ...").
    const bool protobuf_log = absl::StartsWith(line, "[libprotobuf ");
    EXPECT_TRUE(absl::StartsWith(line, "{\"time\":") || grpc_log ||
                protobuf_log)
        << line;
    refusals += absl::StrContains(line, "\"event\":\"config_invalid\"") ||
                absl::StrContains(line, "\"event\":\"start_failed\"");
  }
  EXPECT_EQ(refusals, 1) << out.log;
}

void PrintTo(const BadConfig& bad, std::ostream* os) { *os << bad.name; }

class ConfigFault : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ConfigFault, RefusesToStartNamingTheField) {
  ScratchDir dir("idgate-config-fault");
  ExpectCleanRefusal(RunWith(GetParam(), dir.path()), GetParam().names);
}

INSTANTIATE_TEST_SUITE_P(Every, ConfigFault, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

class ConfigFaultFieldPath : public ::testing::TestWithParam<BadConfig> {};

// Clean refusal, but the message names the file or key, not the field.
TEST_P(ConfigFaultFieldPath, RefusesToStart) {
  ScratchDir dir("idgate-config-fault");
  ExpectCleanRefusal(RunWith(GetParam(), dir.path()),
                     "\"event\":\"start_failed\"");
}

// Regression (finding F4, fixed in 0cf443a): these start-up errors, raised
// outside the loader, did not name the config field.
TEST_P(ConfigFaultFieldPath, NamesTheFieldPath) {
  ScratchDir dir("idgate-config-fault");
  ExpectCleanRefusal(RunWith(GetParam(), dir.path()), GetParam().names);
}

INSTANTIATE_TEST_SUITE_P(Every, ConfigFaultFieldPath,
                         ::testing::ValuesIn(CasesWithoutFieldPath()),
                         [](const auto& info) { return info.param.name; });

TEST(ConfigFault, MissingConfigFile) {
  ScratchDir dir("idgate-config-fault");
  ProcessOptions p;
  p.argv = {IdgateBinary(), "--config=" + dir.Join("nope.json"),
            "--state_dir=" + dir.Join("state")};
  p.capture_path = dir.Join("out.log");
  auto process = Subprocess::Start(p);
  ASSERT_TRUE(process.ok());
  ASSERT_TRUE((*process)->Wait(absl::Seconds(30)));
  Outcome out{true, (*process)->exit_code(), (*process)->term_signal(),
              ReadFileOrEmpty(dir.Join("out.log"))};
  ExpectCleanRefusal(out, "cannot read");
}

// A port another process holds (bound without SO_REUSEPORT).
int HoldPort(int* fd) {
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(*fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  listen(*fd, 1);
  socklen_t len = sizeof addr;
  getsockname(*fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

TEST(ConfigFault, ListenPortInUse) {
  int fd = -1;
  const int port = HoldPort(&fd);
  ScratchDir dir("idgate-config-fault");
  BadConfig bad{"ListenPortInUse",
                nullptr,
                nullptr,
                "cannot listen",
                {absl::StrCat("--listen=127.0.0.1:", port)}};
  ExpectCleanRefusal(RunWith(bad, dir.path()), "cannot listen");
  close(fd);
}

// Finding F3: the metrics HTTP server (prometheus-cpp/CivetWeb) throws when
// it cannot bind; uncaught, that aborted the process (SIGABRT, core dump)
// instead of exiting 1 naming metrics_listen_address.
TEST(ConfigFault, MetricsPortInUse) {
  int fd = -1;
  const int port = HoldPort(&fd);
  ScratchDir dir("idgate-config-fault");
  BadConfig bad{"MetricsPortInUse",
                nullptr,
                nullptr,
                "metrics",
                {absl::StrCat("--metrics_listen=127.0.0.1:", port)}};
  ExpectCleanRefusal(RunWith(bad, dir.path()), "metrics_listen_address");
  close(fd);
}

// Finding F8, second half: idgate-audit parsed the gateway config
// (sharing-table --config) with its own protobuf call, so the nested Any
// that crashed the loader aborted the audit tool. It now uses the loader's.
TEST(AuditConfig, NestedAnyIsRefusedNotAborted) {
  auto config = audit::ParseGatewayConfig(ReadFileOrEmpty(
      RepoPath("tests/fuzz/corpus/config/regression_nested_any")));
  EXPECT_FALSE(config.ok());
}

}  // namespace
}  // namespace idgate::testing
