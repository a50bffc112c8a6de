#include "server/observability/async_line_writer.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace idgate {
namespace {

class Pipe {
 public:
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read_ = fds[0];
    write_ = fds[1];
  }
  ~Pipe() {
    ::close(read_);
    if (write_ >= 0) ::close(write_);
  }
  int write_fd() const { return write_; }
  int read_fd() const { return read_; }
  // Reads until `bytes` have arrived or 10 s have passed.
  std::string Read(size_t bytes) {
    std::string out;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    char buffer[65536];
    while (out.size() < bytes && absl::Now() < deadline) {
      pollfd p{read_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::read(read_, buffer, sizeof(buffer));
      if (n <= 0) break;
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }
  std::string ReadToEnd() {
    std::string out;
    char buffer[65536];
    ssize_t n;
    while ((n = ::read(read_, buffer, sizeof(buffer))) > 0) {
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }
  void CloseWrite() {
    ::close(write_);
    write_ = -1;
  }

 private:
  int read_ = -1;
  int write_ = -1;
};

std::string Dropped(uint64_t n) { return absl::StrCat("dropped ", n, "\n"); }

// Pushes "line 0" .. "line n-1"; returns what they should add up to.
std::string PushLines(AsyncLineWriter& writer, int n) {
  std::string expected;
  for (int i = 0; i < n; ++i) {
    const std::string line = absl::StrCat("line ", i, "\n");
    writer.Push(line);
    expected += line;
  }
  return expected;
}

TEST(AsyncLineWriter, WritesEveryLineWholeAndInOrder) {
  Pipe pipe;
  AsyncLineWriter writer(pipe.write_fd(), 1 << 20, Dropped);
  const std::string expected = PushLines(writer, 1000);
  EXPECT_EQ(pipe.Read(expected.size()), expected);
}

TEST(AsyncLineWriter, DestructionWritesWhatIsPending) {
  Pipe pipe;
  std::string expected;
  {
    AsyncLineWriter writer(pipe.write_fd(), 1 << 20, Dropped);
    expected = PushLines(writer, 100);
  }
  EXPECT_EQ(pipe.Read(expected.size()), expected);
}

TEST(AsyncLineWriter, FlushReturnsOnceTheLinesAreWritten) {
  Pipe pipe;
  AsyncLineWriter writer(pipe.write_fd(), 1 << 20, Dropped);
  const std::string expected = PushLines(writer, 200);
  ASSERT_TRUE(writer.Flush(absl::Seconds(10)));
  // Already in the pipe: a non-blocking read gets all of it at once.
  ASSERT_EQ(::fcntl(pipe.read_fd(), F_SETFL, O_NONBLOCK), 0);
  std::string out(expected.size() + 1, '\0');
  const ssize_t n = ::read(pipe.read_fd(), out.data(), out.size());
  ASSERT_GT(n, 0);
  out.resize(static_cast<size_t>(n));
  EXPECT_EQ(out, expected);
}

// A reader that stops reading must not stop the loggers: the pipe fills
// (64 KiB), the writer's thread blocks, Push keeps returning, and what does
// not fit in the bounded buffer is counted, then reported once the reader
// drains the pipe.
TEST(AsyncLineWriter, AStalledReaderNeverBlocksPushAndDropsAreReported) {
  Pipe pipe;
  const std::string line(1000, 'x');
  std::string out;
  std::thread reader;
  {
    AsyncLineWriter writer(pipe.write_fd(), 16 << 10, Dropped);
    const absl::Time start = absl::Now();
    for (int i = 0; i < 1000; ++i) writer.Push(line + "\n");  // ~1 MB
    EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "Push blocked";
    // The reader wakes up; the writer's destructor writes what is left.
    reader = std::thread([&] { out = pipe.ReadToEnd(); });
  }
  pipe.CloseWrite();
  reader.join();

  // Whole lines only: those that fit, and the drop counts.
  size_t lines = 0;
  uint64_t dropped = 0;
  for (absl::string_view l : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    if (l == line) {
      ++lines;
    } else {
      ASSERT_TRUE(absl::ConsumePrefix(&l, "dropped ")) << l.substr(0, 40);
      dropped += std::stoull(std::string(l));
    }
  }
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(lines + dropped, 1000u);
}

}  // namespace
}  // namespace idgate
