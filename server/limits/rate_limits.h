#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "idgate/config/v1/config.pb.h"

namespace idgate {

// Runs with OK, or with the refusal (RESOURCE_EXHAUSTED, or UNAVAILABLE when
// a shared store cannot answer). May run before the call returns, or later
// on another thread; never blocks.
using LimitDone = std::function<void(absl::Status)>;

// The caller's rate limit, checked before anything else is done for it.
class CallerLimiter {
 public:
  virtual ~CallerLimiter() = default;
  // A refusal carries the delay after which a retry may pass (RetryDelay).
  virtual void Acquire(const std::string& caller, LimitDone done) = 0;
};

// RESOURCE_EXHAUSTED with `retry_after` as a google.protobuf.Duration
// payload (a status detail at the gRPC boundary); and that delay back.
absl::Status RateLimited(absl::string_view message, absl::Duration retry_after);
absl::Duration RetryDelay(const absl::Status& status);

// One provider-bound request about a person, as the subject limits count it.
struct SubjectUse {
  std::string subject_ref;  // keyed hash of the ID number
  ::idgate::config::v1::Check check = ::idgate::config::v1::CHECK_UNSPECIFIED;
  // Keyed hash of the mobile or card tried, empty for checks without one.
  std::string contact_ref;
};

// The enumeration guard, per subject across all callers, per Asia/Shanghai
// day: at most N provider-bound requests per check, and at most M distinct
// contacts (mobiles and cards together) tried per ID. The answer never
// depends on whether the subject exists.
class SubjectLimiter {
 public:
  virtual ~SubjectLimiter() = default;
  // Counts `use`, or refuses it (and then counts nothing).
  virtual void Admit(const SubjectUse& use, LimitDone done) = 0;
};

// Token bucket per caller in this process: `rate` calls per second
// sustained, `burst` at once. Completes inline.
class InMemoryCallerLimiter : public CallerLimiter {
 public:
  InMemoryCallerLimiter(const ::idgate::config::v1::CallerSettings& settings,
                        std::function<absl::Time()> now);

  void Acquire(const std::string& caller, LimitDone done) override;
  // Acquire's answer, returned.
  absl::Status Take(const std::string& caller);

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

// Subject limits in this process, for at most `max_subjects` subjects a
// day. Completes inline.
class InMemorySubjectLimiter : public SubjectLimiter {
 public:
  InMemorySubjectLimiter(const ::idgate::config::v1::SubjectLimits& limits,
                         size_t max_subjects, std::function<absl::Time()> now);

  void Admit(const SubjectUse& use, LimitDone done) override;
  // Admit's answer, returned.
  absl::Status Count(const SubjectUse& use);

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
  absl::CivilDay day_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<std::string, Usage> usage_ ABSL_GUARDED_BY(mu_);
};

}  // namespace idgate
