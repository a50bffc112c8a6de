#include "server/observability/json_log.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace idgate {

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  if (text == "debug") *level = LogLevel::kDebug;
  else if (text == "info") *level = LogLevel::kInfo;
  else if (text == "warning") *level = LogLevel::kWarning;
  else if (text == "error") *level = LogLevel::kError;
  else return false;
  return true;
}

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += "\"";
  return out;
}

JsonLog::JsonLog(LogLevel min_level, Sink sink, std::function<absl::Time()> now)
    : min_level_(min_level), sink_(std::move(sink)), now_(std::move(now)) {}

void JsonLog::Write(const std::string& line) const {
  absl::MutexLock lock(&mu_);
  if (sink_) {
    sink_(line);
  } else {
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }
}

JsonLog::Line::Line(const JsonLog* log, LogLevel level, absl::string_view event)
    : log_(level >= log->min_level_ ? log : nullptr) {
  if (log_ == nullptr) return;
  static constexpr const char* kNames[] = {"debug", "info", "warning", "error"};
  text_ = absl::StrCat("{\"time\":",
                       JsonQuote(absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", log->now_(),
                                                  absl::UTCTimeZone())),
                       ",\"level\":\"", kNames[static_cast<int>(level)],
                       "\",\"event\":", JsonQuote(event));
}

JsonLog::Line::Line(Line&& other) noexcept : log_(other.log_), text_(std::move(other.text_)) {
  other.log_ = nullptr;
}

JsonLog::Line::~Line() {
  if (log_ == nullptr) return;
  text_ += "}\n";
  log_->Write(text_);
}

JsonLog::Line& JsonLog::Line::Str(absl::string_view key, absl::string_view value) {
  if (log_) absl::StrAppend(&text_, ",", JsonQuote(key), ":", JsonQuote(value));
  return *this;
}

JsonLog::Line& JsonLog::Line::Int(absl::string_view key, int64_t value) {
  if (log_) absl::StrAppend(&text_, ",", JsonQuote(key), ":", value);
  return *this;
}

JsonLog::Line& JsonLog::Line::Bool(absl::string_view key, bool value) {
  if (log_) absl::StrAppend(&text_, ",", JsonQuote(key), ":", value ? "true" : "false");
  return *this;
}

JsonLog::Line& JsonLog::Line::Double(absl::string_view key, double value) {
  if (log_) absl::StrAppend(&text_, ",", JsonQuote(key), ":", absl::StrFormat("%.6g", value));
  return *this;
}

JsonLog::Line& JsonLog::Line::Strs(absl::string_view key, const std::vector<std::string>& values) {
  if (!log_) return *this;
  absl::StrAppend(&text_, ",", JsonQuote(key), ":[");
  for (size_t i = 0; i < values.size(); ++i) {
    absl::StrAppend(&text_, i ? "," : "", JsonQuote(values[i]));
  }
  text_ += "]";
  return *this;
}

}  // namespace idgate
