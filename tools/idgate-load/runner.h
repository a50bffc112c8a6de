#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "idgate/v1/verification.grpc.pb.h"
#include "tools/idgate-load/histogram.h"
#include "tools/idgate-load/load_config.h"
#include "tools/idgate-load/request_factory.h"

namespace idgate::load {

// What one run measured. Latencies are of the calls counted (after
// skipFirst), from just before the call starts to its completion callback.
struct RunResult {
  absl::Time date;
  std::string end_reason;   // "normal" or "timeout" (duration reached)
  absl::Duration total;     // first call started to last call ended
  uint64_t count = 0;       // calls counted (all statuses)
  uint64_t skipped = 0;     // skipFirst
  uint64_t ignored = 0;     // cancelled at the end with duration-stop "ignore"
  uint64_t unfinished = 0;  // still pending when the wait gave up
  std::array<uint64_t, 17> codes{};
  std::array<uint64_t, 8> verdicts{};  // index: Verdict value; [7]: other
  uint64_t unexpected_verdicts = 0;
  std::map<std::string, uint64_t> errors;  // message -> count (bounded)
  int64_t max_in_flight = 0;
  const LatencyHistogram* latency = nullptr;

  uint64_t failures() const { return count - codes[0] + unexpected_verdicts; }
};

// A ghz-style load run over the callback API. Completions are counted with
// atomics on gRPC's threads (which never block here); the closed loop
// starts the next call from the completion, the paced loop (rps) issues
// calls from the thread that calls Run().
class Runner {
 public:
  // `expect_verdict` < 0: any verdict is fine.
  Runner(const LoadConfig& config, const RequestFactory& factory,
         int expect_verdict);
  ~Runner();

  // Opens `connections` channels (each its own TCP connection) and waits
  // until they are ready or connect-timeout passes.
  absl::Status Connect();

  RunResult Run();

 private:
  struct Call;
  struct Slot {
    absl::Mutex mu;
    std::shared_ptr<Call> call ABSL_GUARDED_BY(mu);
  };

  bool ClaimNext(uint64_t* number);
  void StartCall(int slot, uint64_t number);
  void OnDone(const std::shared_ptr<Call>& call, const grpc::Status& status);
  void Record(const Call& call, const grpc::Status& status, int64_t nanos);
  void Finished(int slot);
  void CancelAll();
  bool WaitIdle(absl::Time deadline);
  void RunPaced(absl::Time end);

  const LoadConfig& config_;
  const RequestFactory& factory_;
  const int expect_verdict_;
  std::vector<std::unique_ptr<::idgate::v1::VerificationService::Stub>> stubs_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::pair<std::string, CallTemplate>> metadata_;
  bool metadata_templated_ = false;
  bool paced_ = false;

  std::atomic<uint64_t> issued_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> ignore_cancelled_{false};
  // Calls not yet ended; a closed-loop completion starts the next call
  // before it leaves, so idle detection never sees a false zero.
  std::atomic<int64_t> in_flight_{0};
  // Calls started and not yet completed (what "most in flight" reports).
  std::atomic<int64_t> active_{0};
  std::atomic<int64_t> max_in_flight_{0};
  std::atomic<int64_t> last_end_ns_{0};
  int64_t start_ns_ = 0;

  LatencyHistogram latency_;
  std::array<std::atomic<uint64_t>, 17> codes_{};
  std::array<std::atomic<uint64_t>, 8> verdicts_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> skipped_{0};
  std::atomic<uint64_t> ignored_{0};
  std::atomic<uint64_t> unexpected_{0};

  // Waking the main thread and the paced loop's free slots; error texts.
  absl::Mutex mu_;
  std::vector<int> free_slots_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> errors_ ABSL_GUARDED_BY(mu_);
};

// Steady-clock nanoseconds.
int64_t MonotonicNanos();

}  // namespace idgate::load
