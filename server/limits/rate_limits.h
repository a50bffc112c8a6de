#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "idgate/config/v1/config.pb.h"

namespace idgate {

// Token bucket per caller: `rate` calls per second sustained, `burst` at once.
class CallerRateLimiter {
 public:
  CallerRateLimiter(const ::idgate::config::v1::CallerSettings& settings,
                    std::function<absl::Time()> now);

  // OK, or RESOURCE_EXHAUSTED with a retry-after delay in `retry_after`.
  absl::Status Acquire(const std::string& caller, absl::Duration* retry_after);

 private:
  struct Bucket {
    double rate = 0;
    double burst = 0;
    double tokens = 0;
    absl::Time refilled;
  };
  const std::function<absl::Time()> now_;
  absl::Mutex mu_;
  std::map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

// The enumeration guard, per subject (a keyed hash of the ID number) across
// all callers, per Asia/Shanghai day: at most N provider-bound requests per
// check, and at most M distinct contacts (mobiles or cards) tried per ID.
// The answer never depends on whether the subject exists.
class SubjectLimiter {
 public:
  SubjectLimiter(const ::idgate::config::v1::SubjectLimits& limits,
                 size_t max_subjects, std::function<absl::Time()> now);

  // Counts one request; RESOURCE_EXHAUSTED when over a limit (and then
  // counts nothing). `contact_ref` is a keyed hash of the mobile or card,
  // empty for checks without one.
  absl::Status Admit(const std::string& subject_ref,
                     ::idgate::config::v1::Check check,
                     const std::string& contact_ref);

 private:
  struct Usage {
    std::map<int, uint32_t> calls_per_check;
    std::set<std::string> contacts;
  };
  const uint32_t max_calls_;
  const uint32_t max_contacts_;
  const size_t max_subjects_;
  const std::function<absl::Time()> now_;
  absl::Mutex mu_;
  int64_t day_ ABSL_GUARDED_BY(mu_) = -1;
  std::unordered_map<std::string, Usage> usage_ ABSL_GUARDED_BY(mu_);
};

}  // namespace idgate
