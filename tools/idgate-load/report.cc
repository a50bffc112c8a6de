#include "tools/idgate-load/report.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "idgate/v1/verification.pb.h"

namespace idgate::load {
namespace {

namespace v1 = ::idgate::v1;

constexpr double kDistribution[] = {10, 25, 50, 75, 90, 95, 99};

std::string Ms(double nanos) { return absl::StrFormat("%.2f ms", nanos / 1e6); }

std::string VerdictName(size_t i) {
  if (i < 7 && v1::Verdict_IsValid(static_cast<int>(i)))
    return v1::Verdict_Name(static_cast<int>(i));
  return "OTHER";
}

double Rps(const RunResult& r) {
  const double s = absl::ToDoubleSeconds(r.total);
  return s > 0 ? static_cast<double>(r.count) / s : 0.0;
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// A JSON object/array writer that can indent.
class Json {
 public:
  explicit Json(bool pretty) : pretty_(pretty) {}
  Json& Open(const std::string& key, char bracket) {
    Key(key);
    out_ += bracket;
    first_.push_back(true);
    return *this;
  }
  Json& Close(char bracket) {
    const bool empty = first_.back();
    first_.pop_back();
    if (!empty) Newline();
    out_ += bracket;
    return *this;
  }
  Json& Raw(const std::string& key, const std::string& raw) {
    Key(key);
    out_ += raw;
    return *this;
  }
  Json& Str(const std::string& key, const std::string& v) {
    return Raw(key, Quote(v));
  }
  Json& Int(const std::string& key, int64_t v) {
    return Raw(key, absl::StrCat(v));
  }
  Json& Num(const std::string& key, double v) {
    return Raw(key, absl::StrFormat("%.6g", v));
  }
  std::string Done() { return out_ + "\n"; }

 private:
  // `key` empty: an array element.
  void Key(const std::string& key) {
    if (!first_.empty()) {
      if (!first_.back()) out_ += ",";
      first_.back() = false;
      Newline();
    }
    if (!key.empty()) absl::StrAppend(&out_, Quote(key), pretty_ ? ": " : ":");
  }
  void Newline() {
    if (!pretty_) return;
    out_ += "\n";
    out_.append(2 * first_.size(), ' ');
  }
  const bool pretty_;
  std::string out_;
  std::vector<bool> first_;
};

}  // namespace

const char* GhzCodeName(int code) {
  static const char* kNames[] = {"OK",
                                 "Canceled",
                                 "Unknown",
                                 "InvalidArgument",
                                 "DeadlineExceeded",
                                 "NotFound",
                                 "AlreadyExists",
                                 "PermissionDenied",
                                 "ResourceExhausted",
                                 "FailedPrecondition",
                                 "Aborted",
                                 "OutOfRange",
                                 "Unimplemented",
                                 "Internal",
                                 "Unavailable",
                                 "DataLoss",
                                 "Unauthenticated"};
  return code >= 0 && code <= 16 ? kNames[code] : "Unknown";
}

std::string SummaryReport(const LoadConfig& config, const RunResult& r) {
  const LatencyHistogram& h = *r.latency;
  std::string out = "\nSummary:\n";
  if (!config.name.empty())
    absl::StrAppend(&out, "  Name:\t", config.name, "\n");
  absl::StrAppend(&out, "  Count:\t", r.count, "\n");
  absl::StrAppend(&out, "  Total:\t", Ms(absl::ToDoubleNanoseconds(r.total)),
                  "\n");
  absl::StrAppend(&out, "  Slowest:\t", Ms(h.max()), "\n");
  absl::StrAppend(&out, "  Fastest:\t", Ms(h.min()), "\n");
  absl::StrAppend(&out, "  Average:\t", Ms(h.mean()), "\n");
  absl::StrAppendFormat(&out, "  Requests/sec:\t%.2f\n", Rps(r));

  const auto bins = h.Bins(10);
  if (!bins.empty()) {
    out += "\nResponse time histogram:\n";
    uint64_t most = 1;
    for (const auto& b : bins) most = std::max(most, b.second);
    for (const auto& b : bins) {
      const int bar = static_cast<int>(40 * b.second / most);
      std::string bars;
      for (int i = 0; i < bar; ++i)
        bars += "\xe2\x88\x8e";  // U+220E, as ghz draws
      absl::StrAppendFormat(&out, "  %.3f [%d]\t|%s\n", b.first / 1e6, b.second,
                            bars);
    }
    out += "\nLatency distribution:\n";
    for (double p : kDistribution)
      absl::StrAppendFormat(&out, "  %g %% in %s \n", p, Ms(h.Percentile(p)));
    absl::StrAppendFormat(&out, "  99.9 %% in %s \n", Ms(h.Percentile(99.9)));
  }

  out += "\nStatus code distribution:\n";
  for (size_t c = 0; c < r.codes.size(); ++c) {
    if (r.codes[c] > 0)
      absl::StrAppendFormat(&out, "  [%s]\t%d responses\n",
                            GhzCodeName(static_cast<int>(c)), r.codes[c]);
  }
  out += "\nVerdict distribution:\n";
  for (size_t v = 0; v < r.verdicts.size(); ++v) {
    if (r.verdicts[v] > 0)
      absl::StrAppendFormat(&out, "  [%s]\t%d responses\n", VerdictName(v),
                            r.verdicts[v]);
  }
  if (!r.errors.empty()) {
    out += "\nError distribution:\n";
    for (const auto& [message, n] : r.errors)
      absl::StrAppendFormat(&out, "  [%d]\t%s\n", n, message);
  }
  absl::StrAppendFormat(&out,
                        "\nFailures: %d (non-OK status or unexpected verdict); "
                        "most in flight: %d\n",
                        r.failures(), r.max_in_flight);
  if (r.skipped + r.ignored + r.unfinished > 0) {
    absl::StrAppendFormat(&out,
                          "Not counted: %d skipped (skipFirst), %d cancelled "
                          "at the end (duration-stop ignore), %d unfinished\n",
                          r.skipped, r.ignored, r.unfinished);
  }
  return out;
}

std::string JsonReport(const LoadConfig& c, const RunResult& r, bool pretty) {
  const LatencyHistogram& h = *r.latency;
  Json j(pretty);
  j.Open("", '{');
  j.Str("name", c.name);
  j.Str("endReason", r.end_reason);
  j.Str("date",
        absl::FormatTime(absl::RFC3339_sec, r.date, absl::UTCTimeZone()));
  j.Open("options", '{')
      .Str("call", c.call)
      .Str("host", c.host)
      .Raw("insecure", c.insecure ? "true" : "false")
      .Int("total", static_cast<int64_t>(c.total))
      .Int("concurrency", c.concurrency)
      .Int("connections", c.connections)
      .Num("rps", c.rps)
      .Int("duration", absl::ToInt64Nanoseconds(c.duration))
      .Int("max-duration", absl::ToInt64Nanoseconds(c.max_duration))
      .Str("duration-stop", c.duration_stop)
      .Int("timeout", absl::ToInt64Nanoseconds(c.timeout))
      .Int("skipFirst", static_cast<int64_t>(c.skip_first))
      .Close('}');
  j.Int("count", static_cast<int64_t>(r.count));
  j.Int("total", absl::ToInt64Nanoseconds(r.total));
  j.Int("average", static_cast<int64_t>(h.mean()));
  j.Int("fastest", h.min());
  j.Int("slowest", h.max());
  j.Num("rps", Rps(r));
  j.Open("errorDistribution", '{');
  for (const auto& [message, n] : r.errors)
    j.Int(message, static_cast<int64_t>(n));
  j.Close('}');
  j.Open("statusCodeDistribution", '{');
  for (size_t code = 0; code < r.codes.size(); ++code) {
    if (r.codes[code] > 0)
      j.Int(GhzCodeName(static_cast<int>(code)),
            static_cast<int64_t>(r.codes[code]));
  }
  j.Close('}');
  j.Open("verdictDistribution", '{');
  for (size_t v = 0; v < r.verdicts.size(); ++v) {
    if (r.verdicts[v] > 0)
      j.Int(VerdictName(v), static_cast<int64_t>(r.verdicts[v]));
  }
  j.Close('}');
  j.Open("latencyDistribution", '[');
  if (r.count > 0) {
    for (double p : kDistribution) {
      j.Open("", '{')
          .Num("percentage", p)
          .Int("latency", h.Percentile(p))
          .Close('}');
    }
  }
  j.Close(']');
  j.Open("histogram", '[');
  for (const auto& [mark, n] : h.Bins(10)) {
    j.Open("", '{')
        .Num("mark", mark / 1e9)
        .Int("count", static_cast<int64_t>(n))
        .Num("frequency", r.count ? static_cast<double>(n) / r.count : 0.0)
        .Close('}');
  }
  j.Close(']');
  j.Int("failures", static_cast<int64_t>(r.failures()));
  j.Int("unexpectedVerdicts", static_cast<int64_t>(r.unexpected_verdicts));
  j.Int("maxInFlight", r.max_in_flight);
  j.Int("skipped", static_cast<int64_t>(r.skipped));
  j.Int("ignored", static_cast<int64_t>(r.ignored));
  j.Int("unfinished", static_cast<int64_t>(r.unfinished));
  j.Open("percentiles", '{')
      .Int("p50", h.Percentile(50))
      .Int("p90", h.Percentile(90))
      .Int("p95", h.Percentile(95))
      .Int("p99", h.Percentile(99))
      .Int("p99.9", h.Percentile(99.9))
      .Int("max", h.max())
      .Close('}');
  // 0, 10, ..., 90, 91, ..., 99, 99.1, ... 99.9, 99.91 ... 99.99: evenly
  // spaced on the usual log scale of 1 / (1 - p).
  j.Open("spectrum", '[');
  if (r.count > 0) {
    for (double decade = 1; decade <= 1e4; decade *= 10) {
      for (int i = (decade == 1 ? 0 : 1); i < 10; ++i) {
        const double p = 100.0 * (1.0 - (10.0 - i) / (10.0 * decade));
        j.Open("", '{')
            .Num("percentage", p)
            .Int("latency", h.Percentile(p))
            .Close('}');
      }
    }
    j.Open("", '{').Num("percentage", 100).Int("latency", h.max()).Close('}');
  }
  j.Close(']');
  j.Close('}');
  return j.Done();
}

}  // namespace idgate::load
