#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "idgate/config/v1/config.pb.h"

namespace idgate {

// Per-provider bulkhead and circuit breaker (outlier ejection in the style of
// Envoy): the provider is ejected after N consecutive failures, for a time
// that grows with each ejection up to a cap; when it is over, one probe call
// is let through (half-open) and its result closes or re-opens the circuit.
class ProviderGuard {
 public:
  enum class Admit { kAdmitted, kCircuitOpen, kBulkheadFull };

  ProviderGuard(uint32_t max_in_flight,
                const ::idgate::config::v1::CircuitBreaker& breaker,
                std::function<absl::Time()> now);

  // Reserves an in-flight slot. Every kAdmitted must be followed by Release.
  Admit TryAcquire();

  // Ends a call. `provider_failure`: the provider failed to answer (transport
  // error, busy, timeout); a verdict of any kind counts as success.
  void Release(bool provider_failure);

  bool circuit_open() const;
  uint32_t in_flight() const {
    return in_flight_.load(std::memory_order_relaxed);
  }
  uint32_t ejections() const;

 private:
  const uint32_t max_in_flight_;
  const uint32_t failure_threshold_;
  const absl::Duration base_ejection_;
  const absl::Duration max_ejection_;
  const std::function<absl::Time()> now_;

  std::atomic<uint32_t> in_flight_{0};
  mutable absl::Mutex mu_;
  uint32_t consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t ejections_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time ejected_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool ejected_ ABSL_GUARDED_BY(mu_) = false;
  bool probe_in_flight_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace idgate
