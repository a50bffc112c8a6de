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

  // One admitted call's in-flight slot (and, when the circuit is half-open,
  // its probe). It ends exactly once, saying what the provider did; a lease
  // destroyed without an ending ends as not attempted.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept { *this = std::move(other); }
    Lease& operator=(Lease&& other) noexcept;
    ~Lease() { NotAttempted(); }

    // The provider answered: a verdict, or an error that is its answer.
    void Answered() { End(Ending::kAnswered); }
    // The provider failed to answer (unreachable, busy, timed out after
    // the request was sent): counts toward ejection; a failed probe
    // re-opens the circuit.
    void ProviderFailed() { End(Ending::kProviderFailed); }
    // Nothing reached the provider (too little time left, refused by the
    // egress guard, the ledger failed, the caller cancelled first): the
    // breaker stays as it was, and a probe may be tried again.
    void NotAttempted() { End(Ending::kNotAttempted); }

    explicit operator bool() const { return guard_ != nullptr; }

   private:
    friend class ProviderGuard;
    enum class Ending { kAnswered, kProviderFailed, kNotAttempted };
    Lease(ProviderGuard* guard, bool probe) : guard_(guard), probe_(probe) {}
    void End(Ending ending);

    ProviderGuard* guard_ = nullptr;  // null once ended
    bool probe_ = false;
  };

  ProviderGuard(uint32_t max_in_flight,
                const ::idgate::config::v1::CircuitBreaker& breaker,
                std::function<absl::Time()> now);

  // Reserves an in-flight slot into `lease` when kAdmitted.
  Admit TryAcquire(Lease* lease);

  bool circuit_open() const;
  uint32_t in_flight() const {
    return in_flight_.load(std::memory_order_relaxed);
  }
  uint32_t ejections() const;

 private:
  void Release(Lease::Ending ending, bool probe);

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
