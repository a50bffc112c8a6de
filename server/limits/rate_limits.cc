#include "server/limits/rate_limits.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace idgate {

CallerRateLimiter::CallerRateLimiter(
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

absl::Status CallerRateLimiter::Acquire(const std::string& caller,
                                        absl::Duration* retry_after) {
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
  *retry_after = absl::Seconds((1 - b.tokens) / b.rate);
  return absl::ResourceExhaustedError("caller rate limit exceeded");
}

SubjectLimiter::SubjectLimiter(
    const ::idgate::config::v1::SubjectLimits& limits, size_t max_subjects,
    std::function<absl::Time()> now)
    : max_calls_(limits.max_calls_per_check_per_day()),
      max_contacts_(limits.max_distinct_contacts_per_day()),
      max_subjects_(max_subjects),
      now_(std::move(now)) {}

absl::Status SubjectLimiter::Admit(const std::string& subject_ref,
                                   ::idgate::config::v1::Check check,
                                   const std::string& contact_ref) {
  if (max_calls_ == 0 && max_contacts_ == 0) return absl::OkStatus();
  // Days in Asia/Shanghai: UTC+8 all year (no DST since 1991).
  const int64_t day = absl::ToUnixSeconds(now_() + absl::Hours(8)) / 86400;
  absl::MutexLock lock(&mu_);
  if (day != day_) {
    usage_.clear();
    day_ = day;
  }
  auto it = usage_.find(subject_ref);
  if (it == usage_.end()) {
    // Fail closed rather than forget: forgetting would let a flood reset
    // the guard for everyone.
    if (usage_.size() >= max_subjects_) {
      return absl::ResourceExhaustedError(
          "subject limit table full; try again later");
    }
    it = usage_.emplace(subject_ref, Usage()).first;
  }
  Usage& u = it->second;
  if (max_calls_ > 0 && u.calls_per_check[check] >= max_calls_) {
    return absl::ResourceExhaustedError(
        "daily verification limit for this subject reached");
  }
  const bool new_contact =
      !contact_ref.empty() && !u.contacts.count(contact_ref);
  if (max_contacts_ > 0 && new_contact && u.contacts.size() >= max_contacts_) {
    return absl::ResourceExhaustedError(
        "too many different contacts tried for this subject today");
  }
  ++u.calls_per_check[check];
  if (new_contact) u.contacts.insert(contact_ref);
  return absl::OkStatus();
}

}  // namespace idgate
