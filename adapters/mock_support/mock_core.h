#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/mock.h"
#include "adapters/mock_support/delay_queue.h"
#include "adapters/mock_support/identity_book.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"

namespace idgate {

// What the behaviour decided for one call, before the provider logic runs.
enum class MockDisposition {
  kAnswer,      // answer from the identity book
  kBusy,        // answer with the provider's "busy" code
  kDailyLimit,  // answer with the provider's "daily limit" code
};

// The shared engine of every mock provider: MockBehaviour (latency, error
// and busy rates, daily limit per subject, hang), request statistics, and
// the reactor that delays the answer on a DelayQueue so that no thread
// sleeps per call: tens of thousands of pending calls cost only memory.
//
// Thread-safe. Must outlive the gRPC server that serves its calls (destroy
// the server first, as with any service).
class MockCore {
 public:
  // Fills the response for `disposition` and returns whether the provider
  // bills it. Runs on a gRPC thread, or on the delay queue's thread once
  // the latency has elapsed, only if the call was not cancelled meanwhile.
  using Answer = std::function<bool(MockDisposition disposition)>;

  // Subjects tracked per day for the daily limit; beyond it new subjects
  // are not limited (bounded memory beats exactness in a mock).
  static constexpr size_t kMaxTrackedSubjects = 200000;

  explicit MockCore(const MockEnv& env);
  MockCore(const MockCore&) = delete;
  MockCore& operator=(const MockCore&) = delete;

  // Serves one unary call: counts it, plans it (transport error, busy,
  // daily limit, latency or hang) and finishes it after the latency. Return
  // the result from the CallbackService method. `subject_key` identifies the
  // person for the daily limit (empty: not limited).
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                  const google::protobuf::Message& request,
                                  absl::string_view subject_key, Answer answer);

  MockStats stats() const;
  // Never null: an empty book when the env had none.
  const IdentityBook& book() const { return *book_; }
  const MockEnv& env() const { return env_; }

 private:
  class Call;
  struct Plan {
    bool transport_error = false;
    bool hang = false;
    MockDisposition disposition = MockDisposition::kAnswer;
    absl::Duration latency;
  };

  Plan MakePlan(absl::string_view subject_key);
  void RecordBilled();

  const MockEnv env_;
  std::unique_ptr<IdentityBook> empty_book_;
  const IdentityBook* book_;

  // Delayed or hung calls not finished yet.
  std::atomic<uint64_t> in_flight_{0};
  mutable absl::Mutex mu_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  MockStats stats_ ABSL_GUARDED_BY(mu_);
  // Calls per subject on `day_` (days counted in UTC+8, as Chinese
  // providers reset their limits at Beijing midnight).
  int64_t day_ ABSL_GUARDED_BY(mu_) = -1;
  absl::flat_hash_map<std::string, uint32_t> calls_today_ ABSL_GUARDED_BY(mu_);
  // Last: its thread stops before the rest goes.
  DelayQueue delays_;
};

// The MockProvider of one gRPC `Service` whose calls a MockCore serves: a
// provider's mock derives from it and implements the service's methods.
template <typename Service>
class ServiceMock : public MockProvider, public Service::CallbackService {
 public:
  explicit ServiceMock(const MockEnv& env) : core_(env) {}

  grpc::Service* service() final { return this; }
  MockStats stats() const final { return core_.stats(); }

 protected:
  MockCore core_;
};

// Duration from a google.protobuf.Duration; negative values count as zero.
absl::Duration MockDuration(const google::protobuf::Duration& duration);

}  // namespace idgate
