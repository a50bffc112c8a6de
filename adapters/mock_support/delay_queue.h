#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/time/time.h"

namespace idgate {

// Runs each callback once its time has come, on one thread of its own.
// The mocks' simulated latency uses it instead of grpc::Alarm: every live
// gRPC timer lengthens the chains of the timer hash table that Debian's
// libgrpc (built without NDEBUG) walks on each timer change, so that with
// 10,000 calls in flight an Alarm per call cost more than the call itself.
//
// Thread-safe. The thread starts with the first Schedule; the destructor
// stops it and drops callbacks not yet run.
class DelayQueue {
 public:
  using Key = std::pair<absl::Time, uint64_t>;

  DelayQueue() = default;
  DelayQueue(const DelayQueue&) = delete;
  DelayQueue& operator=(const DelayQueue&) = delete;
  ~DelayQueue();

  // Runs `callback` on the queue's thread at `due` or soon after; callbacks
  // due at the same time run in the order they were scheduled.
  Key Schedule(absl::Time due, std::function<void()> callback);

  // Removes the callback unless it has started: true when it will never run.
  bool Cancel(const Key& key);

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable wake_;
  std::map<Key, std::function<void()>> pending_;
  uint64_t next_id_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace idgate
