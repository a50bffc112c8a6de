#include "server/observability/async_line_writer.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <utility>

namespace idgate {
namespace {

// Writes all of `data`; gives up on an error other than EINTR (a log has
// nowhere to report its own failure).
void WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// How long the thread lets lines gather before writing them.
constexpr std::chrono::milliseconds kGather(2);

}  // namespace

AsyncLineWriter::AsyncLineWriter(
    int fd, size_t max_pending_bytes,
    std::function<std::string(uint64_t dropped)> dropped_line)
    : fd_(fd),
      max_pending_(max_pending_bytes),
      dropped_line_(std::move(dropped_line)),
      thread_(&AsyncLineWriter::Run, this) {}

AsyncLineWriter::~AsyncLineWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void AsyncLineWriter::Push(absl::string_view line) {
  std::lock_guard<std::mutex> lock(mu_);
  // Only a thread idle for want of lines needs waking; one that gathers
  // them wakes on its own.
  if (idle_) {
    idle_ = false;
    wake_.notify_one();
  }
  if (pending_.size() + line.size() > max_pending_) {
    ++dropped_;
    return;
  }
  pending_.append(line.data(), line.size());
  pushed_ += line.size();
}

bool AsyncLineWriter::Flush(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = pushed_;
  ++flushing_;
  wake_.notify_one();
  const bool done =
      written_cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                           [&] { return written_ >= target; });
  --flushing_;
  return done;
}

void AsyncLineWriter::Run() {
  std::string writing;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    idle_ = true;
    wake_.wait(lock,
               [&] { return stopping_ || !pending_.empty() || dropped_ > 0; });
    idle_ = false;
    if (pending_.empty() && dropped_ == 0) return;  // stopping, all written
    // Let lines gather: one write(2) and one wake-up per batch of lines,
    // not per line.
    wake_.wait_for(lock, kGather, [&] { return stopping_ || flushing_ > 0; });
    writing.swap(pending_);
    const uint64_t dropped = std::exchange(dropped_, 0);
    lock.unlock();
    WriteAll(fd_, writing);
    // The drops came after the lines that were already waiting.
    if (dropped > 0) WriteAll(fd_, dropped_line_(dropped));
    lock.lock();
    written_ += writing.size();
    writing.clear();
    written_cv_.notify_all();
  }
}

}  // namespace idgate
