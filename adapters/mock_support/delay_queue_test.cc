#include "adapters/mock_support/delay_queue.h"

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace idgate {
namespace {

// std synchronization only, so that the TSan run can follow it.
class Signal {
 public:
  void Notify() { promise_.set_value(); }
  bool WaitFor(std::chrono::seconds timeout) {
    return future_.wait_for(timeout) == std::future_status::ready;
  }
  bool HasBeenNotified() { return WaitFor(std::chrono::seconds(0)); }

 private:
  std::promise<void> promise_;
  std::future<void> future_ = promise_.get_future();
};

// The order in which callbacks ran; signals once `expected` have.
class Order {
 public:
  explicit Order(size_t expected) : expected_(expected) {}
  std::function<void()> Recorder(int n) {
    return [this, n] {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back(n);
      if (seen_.size() == expected_) done_.Notify();
    };
  }
  bool Wait() { return done_.WaitFor(std::chrono::seconds(10)); }
  std::vector<int> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  const size_t expected_;
  std::mutex mu_;
  std::vector<int> seen_;
  Signal done_;
};

TEST(DelayQueue, RunsCallbacksInDueOrderNotScheduleOrder) {
  Order order(3);
  DelayQueue queue;
  const absl::Time now = absl::Now();
  queue.Schedule(now + absl::Milliseconds(60), order.Recorder(3));
  queue.Schedule(now + absl::Milliseconds(20), order.Recorder(1));
  queue.Schedule(now + absl::Milliseconds(40), order.Recorder(2));
  ASSERT_TRUE(order.Wait());
  EXPECT_GE(absl::Now() - now, absl::Milliseconds(60));
  EXPECT_EQ(order.seen(), (std::vector<int>{1, 2, 3}));
}

TEST(DelayQueue, SameDueTimeKeepsScheduleOrder) {
  Order order(5);
  DelayQueue queue;
  const absl::Time due = absl::Now() + absl::Milliseconds(10);
  for (int n = 0; n < 5; ++n) queue.Schedule(due, order.Recorder(n));
  ASSERT_TRUE(order.Wait());
  EXPECT_EQ(order.seen(), (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(DelayQueue, CancelledCallbackNeverRunsAndCancelSaysWhetherItWon) {
  DelayQueue queue;
  std::atomic<int> cancelled_ran{0};
  Signal ran;
  const auto cancelled = queue.Schedule(absl::Now() + absl::Milliseconds(30),
                                        [&] { cancelled_ran.fetch_add(1); });
  const auto kept = queue.Schedule(absl::Now() + absl::Milliseconds(50),
                                   [&] { ran.Notify(); });
  EXPECT_TRUE(queue.Cancel(cancelled));
  EXPECT_FALSE(queue.Cancel(cancelled)) << "a second cancel cannot win";
  ASSERT_TRUE(ran.WaitFor(std::chrono::seconds(10)));
  EXPECT_FALSE(queue.Cancel(kept)) << "too late: it has run";
  EXPECT_EQ(cancelled_ran.load(), 0);
}

TEST(DelayQueue, AnEarlierEntryWakesTheSleepingThread) {
  DelayQueue queue;
  Signal late_ran, early_ran;
  queue.Schedule(absl::Now() + absl::Seconds(30), [&] { late_ran.Notify(); });
  // The thread now sleeps until the 30 s entry; this one must not wait.
  absl::SleepFor(absl::Milliseconds(20));
  queue.Schedule(absl::Now() + absl::Milliseconds(10),
                 [&] { early_ran.Notify(); });
  EXPECT_TRUE(early_ran.WaitFor(std::chrono::seconds(10)));
  EXPECT_FALSE(late_ran.HasBeenNotified());
}

TEST(DelayQueue, DestructionDropsCallbacksNotYetDue) {
  std::atomic<int> ran{0};
  {
    DelayQueue queue;
    queue.Schedule(absl::Now() + absl::Seconds(30), [&] { ran.fetch_add(1); });
  }
  EXPECT_EQ(ran.load(), 0);
}

}  // namespace
}  // namespace idgate
