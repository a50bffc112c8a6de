#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "server/service/gateway.h"
#include "server/service/verification_service.h"

namespace idgate {

// The gateway's Prometheus metrics. Every label value comes from a closed
// set (config ids, enum names, gRPC codes), and every handle is created
// here, once: the request path only looks handles up.
class Metrics final : public VerifyEvents {
 public:
  // Read at scrape time: ledger health, and each provider's guard by
  // provider id (the parts may be assembled after the metrics).
  struct Live {
    std::function<bool()> ledger_healthy;
    std::function<std::map<std::string, const ProviderGuard*>()> guards;
    // Whether the shared state (Redis) is reachable; empty without one.
    std::function<bool()> shared_state_available;
  };

  Metrics(const ::idgate::config::v1::GatewayConfig& config, Live live);

  // The ledger's size, read at scrape time.
  struct LedgerSize {
    uint64_t bytes = 0;
    uint64_t segments = 0;
    // Of its oldest record; none while it is empty.
    absl::optional<absl::Duration> oldest_record_age;
    // Prunes that removed segments.
    uint64_t prunes = 0;
  };
  // Serves idgate_ledger_bytes, idgate_ledger_segments,
  // idgate_ledger_oldest_record_age_seconds and idgate_ledger_prunes_total
  // from `size` (called at each scrape) from now on: the ledger opens after
  // the metrics exist.
  void WatchLedger(std::function<LedgerSize()> size);

  // Collectables to expose (registry + live gauges + process metrics).
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables() const;
  // The text exposition of everything, as /metrics serves it (tests).
  std::string Scrape() const;

  void CallFinished(const CallRecord& record);
  void LedgerBatch(size_t records);
  // The shared state: one command's round trip and how it failed ("" when
  // it did not), and an admission the fallback caller limit decided.
  void SharedStateCommand(absl::Duration latency, absl::string_view error_kind);
  void SharedStateFallback();

  // VerifyEvents.
  void CallStarted() override;
  void IntentDurable(absl::Duration wait) override;
  void Refused(const std::string& reason) override;
  void ProviderCall(const ProviderRuntime& provider, const std::string& outcome,
                    bool billed, absl::Duration duration) override;
  void Disclosed(const ProviderRuntime& provider,
                 const std::set<FieldForm>& pairs) override;

 private:
  class LiveCollectable;

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<LiveCollectable> live_;

  prometheus::Counter* started_ = nullptr;
  std::array<prometheus::Counter*, 17> handled_{};
  prometheus::Histogram* handling_seconds_ = nullptr;
  std::map<std::pair<int, int>, prometheus::Counter*>
      verifications_;  // (check, verdict)
  std::map<int, prometheus::Histogram*> verification_seconds_;  // check
  std::map<std::pair<std::string, std::string>, prometheus::Counter*>
      provider_requests_;
  std::map<std::string, prometheus::Histogram*> provider_seconds_;
  std::map<std::string, prometheus::Counter*> provider_billed_;
  std::map<std::tuple<std::string, int, int>, prometheus::Counter*>
      disclosures_;
  std::map<std::string, prometheus::Counter*> refusals_;
  prometheus::Histogram* ledger_append_seconds_ = nullptr;
  prometheus::Histogram* ledger_batch_records_ = nullptr;
  prometheus::Histogram* shared_state_seconds_ = nullptr;
  std::map<std::string, prometheus::Counter*> shared_state_errors_;
  prometheus::Counter* shared_state_fallbacks_ = nullptr;
};

// Serves /metrics on `address` (host:port). UNAVAILABLE when it cannot
// listen there (CivetWeb's exception does not escape).
absl::StatusOr<std::unique_ptr<prometheus::Exposer>> ServeMetrics(
    const std::string& address, const Metrics& metrics);

// Destroys `exposer` in milliseconds instead of up to 2 s: CivetWeb's
// listening thread sees the stop flag only when its poll() returns, which
// it does every 2 s (SOCKET_TIMEOUT_QUANTUM) or on a connection, so a
// helper thread connects to the port over loopback until it has stopped.
void StopMetrics(std::unique_ptr<prometheus::Exposer> exposer);

}  // namespace idgate
