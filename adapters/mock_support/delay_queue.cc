#include "adapters/mock_support/delay_queue.h"

#include "absl/time/clock.h"

namespace idgate {

DelayQueue::~DelayQueue() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

DelayQueue::Key DelayQueue::Schedule(absl::Time due,
                                     std::function<void()> callback) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!thread_.joinable()) thread_ = std::thread(&DelayQueue::Run, this);
  const Key key{due, next_id_++};
  auto it = pending_.emplace(key, std::move(callback)).first;
  // Only a new earliest entry shortens the thread's sleep.
  if (it == pending_.begin()) wake_.notify_one();
  return key;
}

bool DelayQueue::Cancel(const Key& key) {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.erase(key) > 0;
}

void DelayQueue::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (pending_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto first = pending_.begin();
    const absl::Time now = absl::Now();
    if (first->first.first > now) {
      wake_.wait_for(lock, absl::ToChronoNanoseconds(first->first.first - now));
      continue;
    }
    std::function<void()> callback = std::move(first->second);
    pending_.erase(first);
    lock.unlock();
    callback();
    lock.lock();
  }
}

}  // namespace idgate
