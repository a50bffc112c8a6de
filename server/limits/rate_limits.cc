#include "server/limits/rate_limits.h"

#include <algorithm>

#include "absl/strings/cord.h"
#include "core/status.h"
#include "core/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/util/time_util.h"

namespace idgate {

using ::google::protobuf::util::TimeUtil;

absl::Status RateLimited(absl::string_view message,
                         absl::Duration retry_after) {
  absl::Status status = absl::ResourceExhaustedError(message);
  status.SetPayload(kRetryDelayTypeUrl,
                    absl::Cord(TimeUtil::MillisecondsToDuration(
                                   absl::ToInt64Milliseconds(retry_after))
                                   .SerializeAsString()));
  return status;
}

absl::Duration RetryDelay(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryDelayTypeUrl);
  google::protobuf::Duration delay;
  if (!payload.has_value() || !delay.ParseFromString(std::string(*payload))) {
    return absl::ZeroDuration();
  }
  return ToDuration(delay);
}

InMemoryCallerLimiter::InMemoryCallerLimiter(
    const ::idgate::config::v1::CallerSettings& settings,
    std::function<absl::Time()> now)
    : now_(std::move(now)) {
  const absl::Time start = now_();
  for (const auto& caller : settings.callers()) {
    if (caller.rate_per_second() <= 0) continue;  // unlimited
    Bucket& b = buckets_[caller.id()];
    b.rate = caller.rate_per_second();
    b.burst = caller.burst();
    b.tokens = b.burst;
    b.refilled = start;
  }
}

void InMemoryCallerLimiter::Acquire(const std::string& caller, LimitDone done) {
  done(Take(caller));  // after the lock: `done` goes on with the call
}

absl::Status InMemoryCallerLimiter::Take(const std::string& caller) {
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(caller);
  if (it == buckets_.end()) return absl::OkStatus();
  Bucket& b = it->second;
  const absl::Time now = now_();
  b.tokens = std::min(
      b.burst, b.tokens + absl::ToDoubleSeconds(now - b.refilled) * b.rate);
  b.refilled = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return absl::OkStatus();
  }
  return RateLimited("caller rate limit exceeded",
                     absl::Seconds((1 - b.tokens) / b.rate));
}

InMemorySubjectLimiter::InMemorySubjectLimiter(
    const ::idgate::config::v1::SubjectLimits& limits, size_t max_subjects,
    std::function<absl::Time()> now)
    : max_calls_(limits.max_calls_per_check_per_day()),
      max_contacts_(limits.max_distinct_contacts_per_day()),
      max_subjects_(max_subjects),
      now_(std::move(now)) {}

void InMemorySubjectLimiter::Admit(const SubjectUse& use, LimitDone done) {
  done(Count(use));  // after the lock: `done` goes on with the call
}

absl::Status InMemorySubjectLimiter::Count(const SubjectUse& use) {
  if (max_calls_ == 0 && max_contacts_ == 0) return absl::OkStatus();
  const absl::CivilDay today = ShanghaiDay(now_());
  absl::MutexLock lock(&mu_);
  if (today != day_) {
    usage_.clear();
    day_ = today;
  }
  auto it = usage_.find(use.subject_ref);
  if (it == usage_.end()) {
    // Fail closed rather than forget: forgetting would let a flood reset
    // the guard for everyone.
    if (usage_.size() >= max_subjects_) {
      return absl::ResourceExhaustedError(
          "subject limit table full; try again later");
    }
    it = usage_.emplace(use.subject_ref, Usage()).first;
  }
  Usage& u = it->second;
  if (max_calls_ > 0 && u.calls_per_check[use.check] >= max_calls_) {
    return absl::ResourceExhaustedError(
        "daily verification limit for this subject reached");
  }
  const bool new_contact =
      !use.contact_ref.empty() && !u.contacts.count(use.contact_ref);
  if (max_contacts_ > 0 && new_contact && u.contacts.size() >= max_contacts_) {
    return absl::ResourceExhaustedError(
        "too many different contacts tried for this subject today");
  }
  ++u.calls_per_check[use.check];
  if (new_contact) u.contacts.insert(use.contact_ref);
  return absl::OkStatus();
}

}  // namespace idgate
