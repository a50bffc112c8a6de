#include "server/routing/provider_guard.h"

#include <algorithm>
#include <utility>

#include "core/time.h"
#include "google/protobuf/util/time_util.h"

namespace idgate {
namespace {}  // namespace

ProviderGuard::ProviderGuard(
    uint32_t max_in_flight, const ::idgate::config::v1::CircuitBreaker& breaker,
    std::function<absl::Time()> now)
    : max_in_flight_(max_in_flight),
      failure_threshold_(std::max<uint32_t>(1, breaker.consecutive_failures())),
      base_ejection_(ToDuration(breaker.base_ejection_time())),
      max_ejection_(ToDuration(breaker.max_ejection_time())),
      now_(std::move(now)) {}

ProviderGuard::Lease& ProviderGuard::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    NotAttempted();
    guard_ = std::exchange(other.guard_, nullptr);
    probe_ = other.probe_;
  }
  return *this;
}

void ProviderGuard::Lease::End(Ending ending) {
  if (guard_ == nullptr) return;
  std::exchange(guard_, nullptr)->Release(ending, probe_);
}

ProviderGuard::Admit ProviderGuard::TryAcquire(Lease* lease) {
  bool probe = false;
  {
    absl::MutexLock lock(&mu_);
    if (ejected_) {
      if (now_() < ejected_until_ || probe_in_flight_)
        return Admit::kCircuitOpen;
      probe_in_flight_ = true;  // half-open: exactly one probe
      probe = true;
    }
  }
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= max_in_flight_) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    if (probe) {
      absl::MutexLock lock(&mu_);
      probe_in_flight_ = false;
    }
    return Admit::kBulkheadFull;
  }
  *lease = Lease(this, probe);
  return Admit::kAdmitted;
}

void ProviderGuard::Release(Lease::Ending ending, bool probe) {
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  switch (ending) {
    case Lease::Ending::kNotAttempted:
      // Says nothing about the provider: only the probe's turn is given
      // back.
      if (probe) probe_in_flight_ = false;
      return;
    case Lease::Ending::kAnswered:
      consecutive_failures_ = 0;
      if (ejected_) {  // the provider answers again: close
        ejected_ = false;
        probe_in_flight_ = false;
      }
      return;
    case Lease::Ending::kProviderFailed:
      ++consecutive_failures_;
      if (probe || (!ejected_ && consecutive_failures_ >= failure_threshold_)) {
        // Open (again): the ejection grows linearly with each one, capped.
        ++ejections_;
        ejected_ = true;
        probe_in_flight_ = false;
        ejected_until_ =
            now_() + std::min(base_ejection_ * ejections_, max_ejection_);
      }
      return;
  }
}

bool ProviderGuard::circuit_open() const {
  absl::MutexLock lock(&mu_);
  return ejected_;
}

uint32_t ProviderGuard::ejections() const {
  absl::MutexLock lock(&mu_);
  return ejections_;
}

}  // namespace idgate
