#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace idgate {

// Writes whole lines to a file descriptor from a thread of its own, so that
// the threads that log (gRPC's, for the access log) never wait on write(2):
// a stderr pipe whose reader stalls would otherwise stall them all. The
// buffer is bounded; lines that do not fit are dropped and counted, and the
// count goes out, as a line from `dropped_line`, once writing resumes.
//
// Thread-safe. The destructor writes what is pending, then stops.
class AsyncLineWriter {
 public:
  AsyncLineWriter(int fd, size_t max_pending_bytes,
                  std::function<std::string(uint64_t dropped)> dropped_line);
  AsyncLineWriter(const AsyncLineWriter&) = delete;
  AsyncLineWriter& operator=(const AsyncLineWriter&) = delete;
  ~AsyncLineWriter();

  // Queues `line` (newline included); never blocks on the descriptor.
  void Push(absl::string_view line);

  // Waits, at most `timeout`, until what was pushed before has been
  // written: for a line that must survive an abort() right after it.
  // False on timeout.
  bool Flush(absl::Duration timeout);

 private:
  void Run();

  const int fd_;
  const size_t max_pending_;
  const std::function<std::string(uint64_t)> dropped_line_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable written_cv_;
  std::string pending_;    // guarded by mu_
  uint64_t pushed_ = 0;    // bytes queued in all; guarded by mu_
  uint64_t written_ = 0;   // bytes handed to write(2) in all; guarded by mu_
  uint64_t dropped_ = 0;   // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  bool idle_ = false;      // waiting for lines; guarded by mu_
  int flushing_ = 0;       // callers in Flush; guarded by mu_
  std::thread thread_;
};

}  // namespace idgate
