#include "adapters/mock_support/mock_core.h"

#include <atomic>
#include <memory>
#include <optional>
#include <utility>

#include "absl/time/civil_time.h"
#include "core/pii_fields.h"
#include "core/time.h"

namespace idgate {

absl::Duration MockDuration(const google::protobuf::Duration& duration) {
  const absl::Duration d = ToDuration(duration);
  return d < absl::ZeroDuration() ? absl::ZeroDuration() : d;
}

// One delayed or hung call (MockCore::Serve answers an immediate one
// itself). Owned by two references: gRPC's (released in OnDone) and the
// delay queue's while the answer is scheduled (released when its callback
// has run, or by OnCancel when it takes the callback back). Finish runs
// exactly once, from whichever of the delay and cancellation comes first.
class MockCore::Call final : public grpc::ServerUnaryReactor {
 public:
  Call(MockCore* core, grpc::CallbackServerContext* context, Plan plan,
       Answer answer)
      : core_(core),
        context_(context),
        plan_(plan),
        answer_(std::move(answer)) {
    core_->in_flight_.fetch_add(1, std::memory_order_relaxed);
  }
  ~Call() override {
    core_->in_flight_.fetch_sub(1, std::memory_order_relaxed);
  }

  // Runs inside the method handler, before gRPC binds the reactor, so
  // OnCancel cannot race with it.
  void Start() {
    // A hung call is finished only by OnCancel: the client's deadline, its
    // cancellation or the server's shutdown.
    if (plan_.hang) return;
    refs_.fetch_add(1, std::memory_order_relaxed);
    key_ = core_->delays_.Schedule(absl::Now() + plan_.latency, [this] {
      Complete();
      Unref();
    });
  }

  void OnCancel() override {
    if (key_.has_value() && core_->delays_.Cancel(*key_)) Unref();
    if (Claim()) Finish(grpc::Status::CANCELLED);
  }

  void OnDone() override { Unref(); }

  // Neither reaction waits (short locks only), so gRPC may run them inline
  // rather than hand each call's OnDone to its executor thread.
  bool InternalInlineable() override { return true; }

 private:
  bool Claim() {
    absl::MutexLock lock(&mu_);
    if (finished_) return false;
    finished_ = true;
    return true;
  }

  void Complete() {
    if (!Claim()) return;
    // The client left during the latency: nothing is answered or billed.
    if (context_->IsCancelled()) {
      Finish(grpc::Status::CANCELLED);
      return;
    }
    if (plan_.transport_error) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "mock: simulated transport failure"));
      return;
    }
    if (answer_(plan_.disposition)) core_->RecordBilled();
    Finish(grpc::Status::OK);
  }

  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  MockCore* const core_;
  grpc::CallbackServerContext* const context_;
  const Plan plan_;
  const Answer answer_;
  std::atomic<int> refs_{1};
  // The scheduled answer; set only by Start, before any OnCancel.
  std::optional<DelayQueue::Key> key_;
  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

MockCore::MockCore(const MockEnv& env) : env_(env), rng_(env.seed) {
  if (env_.book == nullptr) {
    empty_book_ = std::make_unique<IdentityBook>();
    book_ = empty_book_.get();
  } else {
    book_ = env_.book;
  }
}

grpc::ServerUnaryReactor* MockCore::Serve(
    grpc::CallbackServerContext* context,
    const google::protobuf::Message& request, absl::string_view subject_key,
    Answer answer) {
  // Counted on arrival, whatever happens next: the provider has received
  // the fields even when it then fails, hangs or is cancelled.
  const PiiFieldsFound found = CollectPiiFields(request);
  Plan plan;
  {
    absl::MutexLock lock(&mu_);
    ++stats_.requests;
    for (const FieldForm& pair : found.pairs) ++stats_.fields_received[pair];
    plan = MakePlan(subject_key);
  }
  if (!plan.hang && plan.latency <= absl::ZeroDuration()) {
    // Answered at once (as Call::Complete would): gRPC's default reactor
    // finishes inline, without the executor hop and the Mutex a Call costs.
    auto* reactor = context->DefaultReactor();
    if (context->IsCancelled()) {
      reactor->Finish(grpc::Status::CANCELLED);
    } else if (plan.transport_error) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                   "mock: simulated transport failure"));
    } else {
      if (answer(plan.disposition)) RecordBilled();
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }
  auto* call = new Call(this, context, plan, std::move(answer));
  call->Start();
  return call;
}

MockCore::Plan MockCore::MakePlan(absl::string_view subject_key) {
  mu_.AssertHeld();
  const auto& behaviour = env_.behaviour;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::normal_distribution<double> normal(0.0, 1.0);
  // Always the same draws per call, so one seed gives one sequence whatever
  // the behaviour.
  const double fault = unit(rng_);
  const double tail = unit(rng_);
  const double z = normal(rng_);

  Plan plan;
  plan.hang = behaviour.hang();
  plan.latency = MockDuration(behaviour.latency_mean()) +
                 MockDuration(behaviour.latency_stddev()) * z;
  if (plan.latency < absl::ZeroDuration()) plan.latency = absl::ZeroDuration();
  if (tail < behaviour.tail_probability()) {
    plan.latency += MockDuration(behaviour.tail_latency());
  }

  if (fault < behaviour.error_rate()) {
    plan.transport_error = true;
  } else if (fault < behaviour.error_rate() + behaviour.busy_rate()) {
    plan.disposition = MockDisposition::kBusy;
  } else if (behaviour.daily_limit_per_subject() > 0 && !subject_key.empty()) {
    const absl::CivilDay civil_day =
        absl::ToCivilDay(env_.now(), absl::FixedTimeZone(8 * 3600));
    const int64_t day = civil_day - absl::CivilDay(1970, 1, 1);
    if (day != day_) {
      day_ = day;
      calls_today_.clear();
    }
    auto it = calls_today_.find(subject_key);
    if (it == calls_today_.end() && calls_today_.size() < kMaxTrackedSubjects) {
      it = calls_today_.emplace(std::string(subject_key), 0).first;
    }
    if (it != calls_today_.end() &&
        ++it->second > behaviour.daily_limit_per_subject()) {
      plan.disposition = MockDisposition::kDailyLimit;
    }
  }
  return plan;
}

void MockCore::RecordBilled() {
  absl::MutexLock lock(&mu_);
  ++stats_.billed;
}

MockStats MockCore::stats() const {
  MockStats stats;
  {
    absl::MutexLock lock(&mu_);
    stats = stats_;
  }
  stats.in_flight = in_flight_.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace idgate
