#include "server/observability/json_log.h"

#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace idgate {
namespace {

// The fast formatting path must write byte for byte what the plain one
// (FormatTime + JsonQuote of every piece) wrote.
std::string Expected(absl::Time t, const std::string& event,
                     const std::string& key, const std::string& value) {
  return "{\"time\":" +
         JsonQuote(
             absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone())) +
         ",\"level\":\"info\",\"event\":" + JsonQuote(event) + "," +
         JsonQuote(key) + ":" + JsonQuote(value) +
         ",\"n\":-42,\"b\":true,\"d\":" +
         absl::StrFormat("%.6g", 0.000123456789) + ",\"l\":[" + JsonQuote("a") +
         "," + JsonQuote(value) + "]}\n";
}

TEST(JsonLogTest, LinesMatchTheReferenceFormatting) {
  std::vector<std::string> lines;
  absl::Time now;
  JsonLog log(
      LogLevel::kInfo, [&](const std::string& line) { lines.push_back(line); },
      [&] { return now; });
  const std::vector<absl::Time> times = {
      absl::FromUnixMicros(1700000000123456),
      absl::FromUnixMicros(1700000000000001),
      absl::FromUnixMicros(1700000000999999),
      absl::FromUnixMicros(1700000001000000),
      absl::FromUnixNanos(1700000002123456789),
      absl::UnixEpoch(),
      absl::FromUnixSeconds(253402300799),
      absl::FromUnixSeconds(253402300800),
      absl::FromUnixMicros(-1),
      absl::FromUnixSeconds(-86400 * 365)};
  const std::vector<std::string> values = {"plain", "quote\" back\\slash",
                                           "ctl\n\r\t\x01\x1f", "测试甲", ""};
  for (absl::Time t : times) {
    for (const std::string& v : values) {
      now = t;
      lines.clear();
      log.Info("verify")
          .Str("k\"ey", v)
          .Int("n", -42)
          .Bool("b", true)
          .Double("d", 0.000123456789)
          .Strs("l", {"a", v});
      ASSERT_EQ(lines.size(), 1u);
      EXPECT_EQ(lines[0], Expected(t, "verify", "k\"ey", v))
          << absl::FormatTime(t);
    }
  }
}

TEST(JsonLogTest, BelowTheLevelNothingIsWritten) {
  std::vector<std::string> lines;
  JsonLog log(LogLevel::kWarning,
              [&](const std::string& line) { lines.push_back(line); });
  log.Info("x").Str("a", "b");
  log.Debug("y");
  EXPECT_TRUE(lines.empty());
  log.Warning("z");
  EXPECT_EQ(lines.size(), 1u);
}

TEST(JsonLogTest, JsonQuoteEscapes) {
  EXPECT_EQ(JsonQuote("a\"b\\c\nd\x02"), "\"a\\\"b\\\\c\\nd\\u0002\"");
  EXPECT_EQ(JsonQuote("\r\t\x1f\x7f"), "\"\\r\\t\\u001f\x7f\"");
  EXPECT_EQ(JsonQuote("测试甲"), "\"测试甲\"");
  EXPECT_EQ(JsonQuote(""), "\"\"");
}

}  // namespace
}  // namespace idgate
