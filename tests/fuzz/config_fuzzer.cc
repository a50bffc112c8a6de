// Fuzz target over the gateway config loader (server/config/config_loader.h),
// fed with arbitrary bytes as the proto3 JSON of a GatewayConfig. Beyond "no
// crash, no UB", it checks the loader's contract:
//  - a refusal is INVALID_ARGUMENT "config: <path>: <problem>", one line;
//  - an accepted config is a fixed point: printed back to JSON and loaded
//    again it is accepted and unchanged (defaults and paths are idempotent);
//  - an accepted config holds only values the gateway can use without
//    overflow: sizes and millisecond durations that fit the `int` gRPC
//    takes, non-negative durations, finite rates.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "server/config/config_loader.h"
#include "tests/fuzz/fuzz_check.h"

namespace idgate {
namespace {

namespace cfg = ::idgate::config::v1;
using ::google::protobuf::Duration;

constexpr int64_t kIntMax = std::numeric_limits<int>::max();

// Far larger inputs only slow the fuzzer down: the parser is linear.
constexpr std::size_t kMaxInput = 64 * 1024;

bool NonNegative(const Duration& d) {
  return d.seconds() >= 0 && d.nanos() >= 0;
}

// Milliseconds of `d` fit an int (what gRPC channel args take).
bool FitsIntMillis(const Duration& d) { return d.seconds() <= kIntMax / 1000; }

void CheckAccepted(const LoadedConfig& loaded) {
  const cfg::GatewayConfig& c = loaded.config;
  const auto& s = c.server();
  FUZZ_CHECK(s.max_receive_message_bytes() > 0);
  FUZZ_CHECK(s.max_receive_message_bytes() <= kIntMax);
  FUZZ_CHECK(NonNegative(s.max_connection_age()));
  FUZZ_CHECK(FitsIntMillis(s.max_connection_age()));
  FUZZ_CHECK(NonNegative(s.drain_timeout()));
  FUZZ_CHECK(FitsIntMillis(s.drain_timeout()));
  FUZZ_CHECK(NonNegative(s.default_deadline()));
  for (const auto& caller : c.callers().callers()) {
    FUZZ_CHECK(std::isfinite(caller.rate_per_second()));
    FUZZ_CHECK(caller.rate_per_second() >= 0);
  }
  for (const auto& p : c.providers()) {
    FUZZ_CHECK(NonNegative(p.timeout()));
    FUZZ_CHECK(NonNegative(p.circuit_breaker().base_ejection_time()));
    FUZZ_CHECK(NonNegative(p.circuit_breaker().max_ejection_time()));
    if (p.has_embedded_mock()) {
      const auto& m = p.embedded_mock();
      FUZZ_CHECK(NonNegative(m.latency_mean()));
      FUZZ_CHECK(NonNegative(m.latency_stddev()));
      FUZZ_CHECK(NonNegative(m.tail_latency()));
    }
  }
  FUZZ_CHECK(NonNegative(c.ledger().checkpoint_interval()));
  FUZZ_CHECK(NonNegative(c.idempotency().ttl()));

  // Fixed point: print, reload, compare.
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  auto printed = google::protobuf::util::MessageToJsonString(c, &json, print);
  FUZZ_CHECK(printed.ok());
  auto again = ParseConfig(json, loaded.base_dir);
  if (!again.ok()) {
    std::fprintf(stderr, "reload refused: %s\n",
                 std::string(again.status().message()).c_str());
  }
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(
      google::protobuf::util::MessageDifferencer::Equals(c, again->config));
}

void CheckRefused(const absl::Status& status) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  FUZZ_CHECK(absl::StartsWith(status.message(), "config: "));
  FUZZ_CHECK(status.message().size() > 8);
}

}  // namespace
}  // namespace idgate

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  // protobuf may log parse problems at ERROR: a fuzzer produces millions.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  if (size > idgate::kMaxInput) return 0;
  const std::string json(reinterpret_cast<const char*>(data), size);
  auto loaded = idgate::ParseConfig(json, "/nonexistent/config");
  if (loaded.ok()) {
    idgate::CheckAccepted(*loaded);
  } else {
    idgate::CheckRefused(loaded.status());
  }
  return 0;
}
