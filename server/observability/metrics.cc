#include "server/observability/metrics.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "prometheus/text_serializer.h"

namespace idgate {
namespace {

namespace cfg = ::idgate::config::v1;
namespace v1 = ::idgate::v1;
using prometheus::BuildCounter;
using prometheus::BuildHistogram;

// From sub-millisecond mock answers to multi-second face checks.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* b = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
      0.25,   0.5,   1,      2,     3,    5,     10};
  return *b;
}

// Outcomes of a provider call: a verdict or an error class.
std::vector<std::string> ProviderOutcomes() {
  std::vector<std::string> out;
  for (int v = v1::Verdict_MIN; v <= v1::Verdict_MAX; ++v) {
    if (v1::Verdict_IsValid(v) && v != v1::VERDICT_UNSPECIFIED)
      out.push_back(v1::Verdict_Name(v));
  }
  for (int c = 1; c <= 16; ++c)
    out.push_back(absl::StatusCodeToString(static_cast<absl::StatusCode>(c)));
  out.push_back("CIRCUIT_OPEN");
  out.push_back("BULKHEAD_FULL");
  return out;
}

const std::vector<std::string>& RefusalReasons() {
  static const auto* r =
      new std::vector<std::string>{"validation", "underage",   "consent",
                                   "permission", "rate_limit", "subject_limit"};
  return *r;
}

prometheus::MetricFamily Gauge(const std::string& name,
                               const std::string& help) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = prometheus::MetricType::Gauge;
  return f;
}

void AddGauge(prometheus::MetricFamily& f, double value,
              std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

// Resident memory, open file descriptors and threads, from /proc.
void ProcessMetrics(std::vector<prometheus::MetricFamily>& out) {
  long pages = 0, resident = 0;
  std::ifstream statm("/proc/self/statm");
  statm >> pages >> resident;
  auto rss =
      Gauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  AddGauge(rss, static_cast<double>(resident) *
                    static_cast<double>(sysconf(_SC_PAGESIZE)));
  out.push_back(std::move(rss));

  int fds = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (readdir(dir) != nullptr) ++fds;
    closedir(dir);
    fds -= 3;  // ".", ".." and the directory's own descriptor
  }
  auto open_fds = Gauge("process_open_fds", "Number of open file descriptors.");
  AddGauge(open_fds, fds);
  out.push_back(std::move(open_fds));

  std::ifstream status("/proc/self/status");
  std::string line;
  double threads = 0;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) threads = std::stod(line.substr(8));
  }
  auto t = Gauge("process_threads", "Number of OS threads in the process.");
  AddGauge(t, threads);
  out.push_back(std::move(t));
}

}  // namespace

class Metrics::LiveCollectable : public prometheus::Collectable {
 public:
  explicit LiveCollectable(Live live) : live_(std::move(live)) {}

  void WatchLedger(std::function<LedgerSize()> size) {
    std::lock_guard<std::mutex> lock(mu_);
    ledger_size_ = std::move(size);
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    auto inflight =
        Gauge("idgate_provider_inflight", "Calls in flight to each provider.");
    auto open = Gauge("idgate_provider_circuit_open",
                      "1 while the provider is ejected.");
    const auto guards = live_.guards
                            ? live_.guards()
                            : std::map<std::string, const ProviderGuard*>();
    for (const auto& [id, guard] : guards) {
      AddGauge(inflight, guard->in_flight(), {{"provider", id}});
      AddGauge(open, guard->circuit_open() ? 1 : 0, {{"provider", id}});
    }
    out.push_back(std::move(inflight));
    out.push_back(std::move(open));
    auto ledger = Gauge("idgate_ledger_healthy",
                        "1 while the disclosure ledger accepts records.");
    AddGauge(ledger, live_.ledger_healthy && live_.ledger_healthy() ? 1 : 0);
    out.push_back(std::move(ledger));
    LedgerSizeMetrics(out);
    if (live_.shared_state_available) {
      auto shared = Gauge("idgate_shared_state_available",
                          "1 while a connection to the shared state is up.");
      AddGauge(shared, live_.shared_state_available() ? 1 : 0);
      out.push_back(std::move(shared));
    }
    ProcessMetrics(out);
    return out;
  }

 private:
  void LedgerSizeMetrics(std::vector<prometheus::MetricFamily>& out) const {
    std::function<LedgerSize()> size_of;
    {
      std::lock_guard<std::mutex> lock(mu_);
      size_of = ledger_size_;
    }
    if (!size_of) return;
    const LedgerSize size = size_of();
    auto bytes = Gauge("idgate_ledger_bytes",
                       "Bytes of the disclosure ledger's segment files.");
    AddGauge(bytes, static_cast<double>(size.bytes));
    out.push_back(std::move(bytes));
    auto segments = Gauge("idgate_ledger_segments",
                          "Segment files of the disclosure ledger.");
    AddGauge(segments, static_cast<double>(size.segments));
    out.push_back(std::move(segments));
    auto age = Gauge("idgate_ledger_oldest_record_age_seconds",
                     "Age of the ledger's oldest record (0 while empty): "
                     "records older than the retention are pruned.");
    AddGauge(age, absl::ToDoubleSeconds(
                      size.oldest_record_age.value_or(absl::ZeroDuration())));
    out.push_back(std::move(age));
    prometheus::MetricFamily prunes;
    prunes.name = "idgate_ledger_prunes_total";
    prunes.help = "Prunes that removed expired ledger segments.";
    prunes.type = prometheus::MetricType::Counter;
    prometheus::ClientMetric prunes_metric;
    prunes_metric.counter.value = static_cast<double>(size.prunes);
    prunes.metric.push_back(std::move(prunes_metric));
    out.push_back(std::move(prunes));
  }

  Live live_;
  mutable std::mutex mu_;
  std::function<LedgerSize()> ledger_size_;  // guarded by mu_
};

Metrics::Metrics(const cfg::GatewayConfig& config, Live live)
    : registry_(std::make_shared<prometheus::Registry>()),
      live_(std::make_shared<LiveCollectable>(std::move(live))) {
  const prometheus::Labels method = {
      {"grpc_service", "idgate.v1.VerificationService"},
      {"grpc_method", "Verify"},
      {"grpc_type", "unary"}};
  started_ = &BuildCounter()
                  .Name("grpc_server_started_total")
                  .Help("RPCs started on the server.")
                  .Register(*registry_)
                  .Add(method);
  auto& handled = BuildCounter()
                      .Name("grpc_server_handled_total")
                      .Help("RPCs completed on the server, by status code.")
                      .Register(*registry_);
  for (int code = 0; code <= 16; ++code) {
    prometheus::Labels labels = method;
    labels["grpc_code"] =
        absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
    handled_[code] = &handled.Add(labels);
  }
  handling_seconds_ =
      &BuildHistogram()
           .Name("grpc_server_handling_seconds")
           .Help("Response latency of RPCs handled by the server.")
           .Register(*registry_)
           .Add(method, LatencyBuckets());

  auto& verifications =
      BuildCounter()
          .Name("idgate_verifications_total")
          .Help("Verify calls answered with a verdict, by check and verdict.")
          .Register(*registry_);
  auto& verification_seconds =
      BuildHistogram()
          .Name("idgate_verification_duration_seconds")
          .Help("Verify latency by check, verdicts and errors alike.")
          .Register(*registry_);
  for (int check :
       {cfg::CHECK_CARRIER_THREE_FACTOR, cfg::CHECK_BANK_FOUR_FACTOR,
        cfg::CHECK_FACE_VERIFICATION}) {
    const std::string name = cfg::Check_Name(check);
    for (int v = v1::Verdict_MIN; v <= v1::Verdict_MAX; ++v) {
      if (!v1::Verdict_IsValid(v) || v == v1::VERDICT_UNSPECIFIED) continue;
      verifications_[{check, v}] = &verifications.Add(
          {{"check", name}, {"verdict", v1::Verdict_Name(v)}});
    }
    verification_seconds_[check] =
        &verification_seconds.Add({{"check", name}}, LatencyBuckets());
  }

  auto& requests =
      BuildCounter()
          .Name("idgate_provider_requests_total")
          .Help("Provider calls by outcome: a verdict or an error class.")
          .Register(*registry_);
  auto& seconds = BuildHistogram()
                      .Name("idgate_provider_duration_seconds")
                      .Help("Provider call latency.")
                      .Register(*registry_);
  auto& billed = BuildCounter()
                     .Name("idgate_provider_billed_total")
                     .Help("Provider answers the provider bills.")
                     .Register(*registry_);
  auto& disclosures =
      BuildCounter()
          .Name("idgate_disclosures_total")
          .Help("Personal fields sent to each provider, by field and form.")
          .Register(*registry_);
  const auto outcomes = ProviderOutcomes();
  for (const auto& p : config.providers()) {
    for (const auto& outcome : outcomes) {
      provider_requests_[{p.id(), outcome}] =
          &requests.Add({{"provider", p.id()}, {"outcome", outcome}});
    }
    provider_seconds_[p.id()] =
        &seconds.Add({{"provider", p.id()}}, LatencyBuckets());
    provider_billed_[p.id()] = &billed.Add({{"provider", p.id()}});
  }
  // Only the pairs a rule allows can ever be sent.
  for (const auto& rule : config.disclosure_rules()) {
    for (const auto& f : rule.fields()) {
      auto key = std::make_tuple(rule.provider(), static_cast<int>(f.field()),
                                 static_cast<int>(f.form()));
      if (disclosures_.count(key)) continue;
      disclosures_[key] =
          &disclosures.Add({{"provider", rule.provider()},
                            {"field", v1::PiiField_Name(f.field())},
                            {"form", v1::PiiForm_Name(f.form())}});
    }
  }

  auto& refusals =
      BuildCounter()
          .Name("idgate_refusals_total")
          .Help("Requests refused before any provider call, by reason.")
          .Register(*registry_);
  for (const auto& reason : RefusalReasons())
    refusals_[reason] = &refusals.Add({{"reason", reason}});

  ledger_append_seconds_ =
      &BuildHistogram()
           .Name("idgate_ledger_append_seconds")
           .Help("Time from appending an intent record to it being durable.")
           .Register(*registry_)
           .Add({}, LatencyBuckets());
  if (config.shared_state().has_redis()) {
    shared_state_seconds_ =
        &BuildHistogram()
             .Name("idgate_shared_state_command_seconds")
             .Help("Round trip of each command to the shared state (Redis).")
             .Register(*registry_)
             .Add({}, LatencyBuckets());
    auto& errors = BuildCounter()
                       .Name("idgate_shared_state_errors_total")
                       .Help("Shared state commands that failed, by kind.")
                       .Register(*registry_);
    for (const char* kind : {"timeout", "connection", "reply", "unavailable"}) {
      shared_state_errors_[kind] = &errors.Add({{"kind", kind}});
    }
    shared_state_fallbacks_ =
        &BuildCounter()
             .Name("idgate_shared_state_fallbacks_total")
             .Help(
                 "Admissions decided by this replica's fallback caller "
                 "limit because the shared state could not answer.")
             .Register(*registry_)
             .Add({});
  }
  ledger_batch_records_ =
      &BuildHistogram()
           .Name("idgate_ledger_batch_records")
           .Help("Records per group commit (one write + fdatasync).")
           .Register(*registry_)
           .Add({}, prometheus::Histogram::BucketBoundaries{
                        1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096});
}

void Metrics::SharedStateCommand(absl::Duration latency,
                                 absl::string_view error_kind) {
  if (shared_state_seconds_ == nullptr) return;
  shared_state_seconds_->Observe(absl::ToDoubleSeconds(latency));
  if (auto it = shared_state_errors_.find(std::string(error_kind));
      it != shared_state_errors_.end()) {
    it->second->Increment();
  }
}

void Metrics::SharedStateFallback() {
  if (shared_state_fallbacks_ != nullptr) shared_state_fallbacks_->Increment();
}

std::vector<std::shared_ptr<prometheus::Collectable>> Metrics::collectables()
    const {
  return {registry_, live_};
}

std::string Metrics::Scrape() const {
  std::vector<prometheus::MetricFamily> families;
  for (const auto& c : collectables()) {
    auto f = c->Collect();
    families.insert(families.end(), f.begin(), f.end());
  }
  return prometheus::TextSerializer().Serialize(families);
}

void Metrics::CallStarted() { started_->Increment(); }

void Metrics::CallFinished(const CallRecord& r) {
  const int code = static_cast<int>(r.code);
  if (code >= 0 && code <= 16) handled_[code]->Increment();
  const double seconds = absl::ToDoubleSeconds(r.duration);
  handling_seconds_->Observe(seconds);
  if (auto it = verification_seconds_.find(r.check);
      it != verification_seconds_.end()) {
    it->second->Observe(seconds);
  }
  if (r.code == grpc::StatusCode::OK) {
    if (auto it = verifications_.find({r.check, r.verdict});
        it != verifications_.end()) {
      it->second->Increment();
    }
  }
}

void Metrics::IntentDurable(absl::Duration wait) {
  ledger_append_seconds_->Observe(absl::ToDoubleSeconds(wait));
}

void Metrics::WatchLedger(std::function<LedgerSize()> size) {
  live_->WatchLedger(std::move(size));
}

void Metrics::LedgerBatch(size_t records) {
  ledger_batch_records_->Observe(static_cast<double>(records));
}

void Metrics::Refused(const std::string& reason) {
  if (auto it = refusals_.find(reason); it != refusals_.end())
    it->second->Increment();
}

void Metrics::ProviderCall(const ProviderRuntime& provider,
                           const std::string& outcome, bool billed,
                           absl::Duration duration) {
  const std::string& id = provider.config->id();
  if (auto it = provider_requests_.find({id, outcome});
      it != provider_requests_.end()) {
    it->second->Increment();
  }
  if (duration > absl::ZeroDuration())
    provider_seconds_.at(id)->Observe(absl::ToDoubleSeconds(duration));
  if (billed) provider_billed_.at(id)->Increment();
}

void Metrics::Disclosed(const ProviderRuntime& provider,
                        const std::set<FieldForm>& pairs) {
  for (const auto& [field, form] : pairs) {
    auto key = std::make_tuple(provider.config->id(), static_cast<int>(field),
                               static_cast<int>(form));
    if (auto it = disclosures_.find(key); it != disclosures_.end())
      it->second->Increment();
  }
}

absl::StatusOr<std::unique_ptr<prometheus::Exposer>> ServeMetrics(
    const std::string& address, const Metrics& metrics) {
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& e) {
    // CivetWeb throws when it cannot bind. Uncaught, that aborted the
    // process (SIGABRT, core dump) instead of a clean start-up failure.
    return absl::UnavailableError(absl::StrCat(
        "config: metrics_listen_address: cannot listen on ", address));
  }
  for (const auto& c : metrics.collectables()) exposer->RegisterCollectable(c);
  return exposer;
}

void StopMetrics(std::unique_ptr<prometheus::Exposer> exposer) {
  if (exposer == nullptr) return;
  const std::vector<int> ports = exposer->GetListeningPorts();
  std::atomic<bool> stopped{false};
  std::thread waker([&stopped, &ports] {
    while (!stopped.load()) {
      for (int port : ports) {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        sockaddr_in address = {};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<uint16_t>(port));
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connect(fd, reinterpret_cast<const sockaddr*>(&address),
                sizeof(address));
        close(fd);
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
  });
  exposer.reset();
  stopped.store(true);
  waker.join();
}

}  // namespace idgate
