#include "server/observability/json_log.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/observability/async_line_writer.h"

namespace idgate {

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  if (text == "debug")
    *level = LogLevel::kDebug;
  else if (text == "info")
    *level = LogLevel::kInfo;
  else if (text == "warning")
    *level = LogLevel::kWarning;
  else if (text == "error")
    *level = LogLevel::kError;
  else
    return false;
  return true;
}

namespace {

// Appends `text` as a JSON string. One pass, no temporaries: this runs a
// dozen times per Verify for the access log.
void AppendQuoted(std::string* out, absl::string_view text) {
  out->push_back('"');
  size_t run = 0;  // start of the pending run of characters that need no escape
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        absl::StrAppendFormat(out, "\\u%04x", c);
    }
  }
  out->append(text.data() + run, text.size() - run);
  out->push_back('"');
}

// Appends `t` as FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, UTC) would, reusing
// the formatted second across calls of this thread (FormatTime is the
// costliest step of a log line).
void AppendTime(std::string* out, absl::Time t) {
  thread_local int64_t cached_second = INT64_MIN;
  thread_local char cached[32];
  thread_local size_t cached_size = 0;
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t second = micros / 1000000;
  int64_t fraction = micros % 1000000;
  if (fraction < 0) {
    fraction += 1000000;
    --second;
  }
  // Years 1970-9999 only; anything else (tests' odd clocks) takes FormatTime.
  if (second < 0 || second >= 253402300800) {
    out->append(
        absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone()));
    return;
  }
  if (second != cached_second) {
    const std::string prefix =
        absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(second),
                         absl::UTCTimeZone());
    cached_size = std::min(prefix.size(), sizeof cached);
    std::memcpy(cached, prefix.data(), cached_size);
    cached_second = second;
  }
  out->append(cached, cached_size);
  char tail[9] = {'.', 0, 0, 0, 0, 0, 0, 'Z', 0};
  for (int i = 6; i >= 1; --i) {
    tail[i] = static_cast<char>('0' + fraction % 10);
    fraction /= 10;
  }
  out->append(tail, 8);
}

// The start of every line: time, level and event, up to the closing brace.
void AppendLineStart(std::string* out, absl::Time time, LogLevel level,
                     absl::string_view event) {
  static constexpr const char* kNames[] = {"debug", "info", "warning", "error"};
  out->append("{\"time\":\"");
  AppendTime(out, time);
  absl::StrAppend(out, "\",\"level\":\"", kNames[static_cast<int>(level)],
                  "\",\"event\":");
  AppendQuoted(out, event);
}

}  // namespace

std::string JsonQuote(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  AppendQuoted(&out, text);
  return out;
}

// Bytes of log lines that may wait for stderr before lines are dropped.
constexpr size_t kMaxPendingLogBytes = 8 << 20;

JsonLog::JsonLog(LogLevel min_level, Sink sink, std::function<absl::Time()> now)
    : min_level_(min_level), sink_(std::move(sink)), now_(std::move(now)) {
  if (sink_) return;
  stderr_ = std::make_unique<AsyncLineWriter>(
      STDERR_FILENO, kMaxPendingLogBytes, [this](uint64_t dropped) {
        std::string line;
        AppendLineStart(&line, now_(), LogLevel::kWarning, "log_lines_dropped");
        absl::StrAppend(&line, ",\"lines\":", dropped, "}\n");
        return line;
      });
}

JsonLog::~JsonLog() = default;

void JsonLog::Write(const std::string& line) const {
  if (stderr_ != nullptr) return stderr_->Push(line);
  absl::MutexLock lock(&mu_);
  sink_(line);
}

void JsonLog::Flush() const {
  if (stderr_ != nullptr) stderr_->Flush(absl::Seconds(1));
}

JsonLog::Line::Line(const JsonLog* log, LogLevel level, absl::string_view event)
    : log_(level >= log->min_level_ ? log : nullptr),
      flush_(level >= LogLevel::kError) {
  if (log_ == nullptr) return;
  text_.reserve(384);
  AppendLineStart(&text_, log->now_(), level, event);
}

JsonLog::Line::Line(Line&& other) noexcept
    : log_(other.log_), flush_(other.flush_), text_(std::move(other.text_)) {
  other.log_ = nullptr;
}

JsonLog::Line::~Line() {
  if (log_ == nullptr) return;
  text_ += "}\n";
  log_->Write(text_);
  if (flush_) log_->Flush();
}

void JsonLog::Line::Key(absl::string_view key) {
  text_.push_back(',');
  AppendQuoted(&text_, key);
  text_.push_back(':');
}

JsonLog::Line& JsonLog::Line::Str(absl::string_view key,
                                  absl::string_view value) {
  if (!log_) return *this;
  Key(key);
  AppendQuoted(&text_, value);
  return *this;
}

JsonLog::Line& JsonLog::Line::Int(absl::string_view key, int64_t value) {
  if (!log_) return *this;
  Key(key);
  absl::StrAppend(&text_, value);
  return *this;
}

JsonLog::Line& JsonLog::Line::Bool(absl::string_view key, bool value) {
  if (!log_) return *this;
  Key(key);
  text_.append(value ? "true" : "false");
  return *this;
}

JsonLog::Line& JsonLog::Line::Double(absl::string_view key, double value) {
  if (!log_) return *this;
  Key(key);
  absl::StrAppendFormat(&text_, "%.6g", value);
  return *this;
}

JsonLog::Line& JsonLog::Line::Strs(absl::string_view key,
                                   const std::vector<std::string>& values) {
  if (!log_) return *this;
  Key(key);
  text_.push_back('[');
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) text_.push_back(',');
    AppendQuoted(&text_, values[i]);
  }
  text_.push_back(']');
  return *this;
}

}  // namespace idgate
