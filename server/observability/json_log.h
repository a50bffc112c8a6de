#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace idgate {

class AsyncLineWriter;

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Parses "debug", "info", "warning" or "error".
bool ParseLogLevel(absl::string_view text, LogLevel* level);

// Structured logs: one JSON object per line, to stderr by default. Callers
// pass ids, enums, codes and durations; personal values never reach a log
// line (the masking module exists for the rare debug need, and nothing uses
// it by default).
class JsonLog {
 public:
  using Sink = std::function<void(const std::string&)>;

  // Without a sink, lines go to stderr from a thread of the log's own
  // (AsyncLineWriter): logging never blocks, and the destructor writes
  // what is still pending.
  explicit JsonLog(
      LogLevel min_level, Sink sink = nullptr,
      std::function<absl::Time()> now = [] { return absl::Now(); });
  ~JsonLog();

  // A line under construction; written when it goes out of scope.
  class Line {
   public:
    Line(Line&& other) noexcept;
    ~Line();
    Line& Str(absl::string_view key, absl::string_view value);
    Line& Int(absl::string_view key, int64_t value);
    Line& Bool(absl::string_view key, bool value);
    Line& Double(absl::string_view key, double value);
    Line& Strs(absl::string_view key, const std::vector<std::string>& values);

   private:
    friend class JsonLog;
    Line(const JsonLog* log, LogLevel level, absl::string_view event);
    void Key(absl::string_view key);
    const JsonLog* log_;  // null: level below the minimum, nothing written
    bool flush_ = false;
    std::string text_;
  };

  Line Debug(absl::string_view event) const {
    return Line(this, LogLevel::kDebug, event);
  }
  Line Info(absl::string_view event) const {
    return Line(this, LogLevel::kInfo, event);
  }
  Line Warning(absl::string_view event) const {
    return Line(this, LogLevel::kWarning, event);
  }
  Line Error(absl::string_view event) const {
    return Line(this, LogLevel::kError, event);
  }

  // Waits (at most 1 s) until the lines logged so far are on stderr. Error
  // lines do it themselves: an abort() may follow them.
  void Flush() const;

 private:
  void Write(const std::string& line) const;

  const LogLevel min_level_;
  const Sink sink_;
  const std::function<absl::Time()> now_;
  mutable absl::Mutex mu_;                   // serializes calls of sink_
  std::unique_ptr<AsyncLineWriter> stderr_;  // when there is no sink
};

// JSON string escaping (quotes included).
std::string JsonQuote(absl::string_view text);

}  // namespace idgate
