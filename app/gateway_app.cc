#include "app/gateway_app.h"

#include <sys/stat.h>

#include <fstream>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "adapters/mock_support/identity_book.h"
#include "app/server_tls.h"
#include "core/file.h"
#include "core/server_drain.h"
#include "core/status.h"
#include "core/time.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "openssl/rand.h"
#include "server/identity/request_validator.h"
#include "server/ledger/retention.h"

namespace idgate {
namespace {

namespace cfg = ::idgate::config::v1;

std::string NewDisclosureId() {
  // 16 random bytes per id from a per-thread pool refilled 4 KiB at a time:
  // one DRBG call per 256 ids instead of one per id.
  thread_local unsigned char pool[4096];
  thread_local size_t used = sizeof pool;
  if (used + 16 > sizeof pool) {
    if (RAND_bytes(pool, sizeof pool) != 1) {
      // The OS entropy source failing is not worth failing a call over: ids
      // need to be unique, and the fallback generator is seeded from it too.
      thread_local absl::BitGen gen;
      for (auto& b : pool) b = absl::Uniform<unsigned char>(gen);
    }
    used = 0;
  }
  const unsigned char* bytes = pool + used;
  used += 16;
  return "d-" + absl::BytesToHexString(absl::string_view(
                    reinterpret_cast<const char*>(bytes), 16));
}

}  // namespace

absl::StatusOr<std::unique_ptr<GatewayApp>> GatewayApp::Start(
    LoadedConfig config, AppOptions options) {
  if (!options.mutex_deadlock_detection) {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  }
  std::unique_ptr<GatewayApp> app(new GatewayApp());
  app->loaded_ = std::move(config);
  app->log_ = options.log;
  std::map<std::string, std::unique_ptr<Adapter>> adapters;
  if (auto st = app->StartProviders(options.now, &adapters); !st.ok())
    return st;
  app->metrics_ = std::make_unique<Metrics>(
      app->loaded_.config,
      Metrics::Live{
          // Read at scrape time; the server serves only once both exist.
          [a = app.get()] {
            return a->ledger_ != nullptr && a->ledger_->healthy();
          },
          [a = app.get()] {
            std::map<std::string, const ProviderGuard*> guards;
            if (a->parts_ == nullptr) return guards;
            for (const auto& [id, p] : a->parts_->providers()) {
              guards[id] = p->guard.get();
            }
            return guards;
          },
          [a = app.get()]() -> std::function<bool()> {
            if (!a->loaded_.config.shared_state().has_redis()) return nullptr;
            return
                [a] { return a->redis_ != nullptr && a->redis_->available(); };
          }()});
  if (auto st = app->OpenLedger(options); !st.ok()) return st;
  if (auto st = app->AssembleGateway(options, std::move(adapters)); !st.ok()) {
    return st;
  }
  app->RestoreIdempotency();
  if (auto st = app->StartServer(options); !st.ok()) return st;
  return app;
}

// The embedded mocks (each on an in-process server) and an adapter for
// every configured provider, by the type of its adapter config.
absl::Status GatewayApp::StartProviders(
    const std::function<absl::Time()>& now,
    std::map<std::string, std::unique_ptr<Adapter>>* adapters) {
  const cfg::GatewayConfig& c = loaded_.config;
  kinds_ = BuiltinProviderKinds();
  std::map<std::string, const ProviderKind*> kind_of;
  for (const auto& kind : kinds_) kind_of[kind.adapter->config_type()] = &kind;
  for (const auto& p : c.providers()) {
    if (p.has_embedded_mock() && book_ == nullptr) {
      if (c.mocks().identity_book_file().empty()) {
        return absl::InvalidArgumentError(
            "config: mocks.identity_book_file: required for embedded mocks");
      }
      auto book = IdentityBook::LoadFile(c.mocks().identity_book_file());
      if (!book.ok()) {
        return Prefixed("config: mocks.identity_book_file", book.status());
      }
      book_ = std::move(*book);
    }
  }
  const std::string base_dir = loaded_.base_dir;
  auto resolve = [base_dir](const std::string& path) {
    return ResolvePath(base_dir, path);
  };
  provider_calls_ = std::make_unique<ProviderCallQueue>();
  for (int i = 0; i < c.providers_size(); ++i) {
    const cfg::Provider& p = c.providers(i);
    const std::string where =
        absl::StrCat("config: providers[", i, "] (", p.id(), ")");
    const std::string& url = p.adapter().type_url();
    const std::string type = url.substr(url.rfind('/') + 1);
    auto kind = kind_of.find(type);
    if (kind == kind_of.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".adapter: unknown adapter type ", type));
    }
    std::shared_ptr<grpc::Channel> channel;
    if (p.has_embedded_mock()) {
      MockEnv env;
      env.book = book_.get();
      env.behaviour = p.embedded_mock();
      env.seed = static_cast<uint64_t>(i) + 1;
      env.now = now;
      const auto& keys = c.mocks().verify_public_key_files();
      if (auto key = keys.find(p.id()); key != keys.end()) {
        auto pem = ReadFileToString(key->second);
        if (!pem.ok()) {
          return Prefixed(absl::StrCat("config: mocks.verify_public_key_files[",
                                       p.id(), "]"),
                          pem.status());
        }
        env.verify_public_key_pem = std::move(*pem);
      }
      auto mock = kind->second->mock->Create(env);
      grpc::ServerBuilder builder;
      builder.RegisterService(mock->service());
      // The adapter's own deadline ends these in-process calls (the mock
      // sees the cancellation); a server-side deadline timer per call would
      // be a second gRPC timer for the same instant.
      builder.AddChannelArgument(GRPC_ARG_ENABLE_DEADLINE_CHECKS, 0);
      auto server = builder.BuildAndStart();
      if (server == nullptr) {
        return absl::InternalError(
            absl::StrCat(where, ": embedded mock did not start"));
      }
      channel = server->InProcessChannel(grpc::ChannelArguments());
      mocks_[p.id()] = std::move(mock);
      mock_servers_.push_back(std::move(server));
    } else {
      grpc::ChannelArguments args;
      // No retry inside gRPC, transparent ones included: failover is the
      // gateway's, and without them a failed pick proves that nothing left
      // (NeverReachedTransport).
      args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
      channel = grpc::CreateCustomChannel(
          p.address(), grpc::InsecureChannelCredentials(), args);
    }
    AdapterEnv env{&p, channel, provider_calls_.get(), resolve};
    auto adapter = kind->second->adapter->Create(env);
    // Adapter errors name the provider themselves (providers[<id>]...).
    if (!adapter.ok()) return Prefixed("config", adapter.status());
    (*adapters)[p.id()] = std::move(*adapter);
  }
  return absl::OkStatus();
}

absl::Status GatewayApp::OpenLedger(const AppOptions& options) {
  if (options.ledger != nullptr) {
    ledger_ = options.ledger;
    return absl::OkStatus();
  }
  const cfg::LedgerSettings& l = loaded_.config.ledger();
  mkdir(options.state_dir.c_str(), 0700);
  if (const auto& key = l.checkpoint_private_key_file();
      !key.empty() && !std::ifstream(key).good()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "config: ledger.checkpoint_private_key_file: cannot read ", key));
  }
  FileLedgerOptions lo = FileLedgerOptions::FromConfig(l);
  lo.dir = options.state_dir + "/ledger";
  lo.now = options.now;
  lo.on_batch = [metrics = metrics_.get()](size_t records, absl::Duration) {
    metrics->LedgerBatch(records);
  };
  lo.on_prune = [log = log_](const PruneEvent& event) {
    if (!event.blocked.ok()) {
      log->Warning("ledger_prune_blocked")
          .Str("cause", event.blocked.message())
          .Str("detail",
               "that segment and the later ones stay; idgate-audit verify "
               "names the damage");
      return;
    }
    log->Info("ledger_pruned")
        .Int("segments", static_cast<int64_t>(event.segments_removed))
        .Int("first_segment_kept",
             static_cast<int64_t>(event.first_segment_kept))
        .Int("last_sequence", static_cast<int64_t>(event.last_sequence))
        .Str("before", absl::FormatTime(event.before, absl::UTCTimeZone()));
  };
  if (lo.retention < kMinimumLegalRetention) {
    log_->Warning("ledger_retention_short")
        .Double("retention_seconds", absl::ToDoubleSeconds(lo.retention))
        .Double("minimum_seconds",
                absl::ToDoubleSeconds(kMinimumLegalRetention))
        .Str("detail", "records must be kept at least five years");
  }
  if (lo.checkpoint_private_key_file.empty()) {
    log_->Warning("ledger_pruning_off")
        .Str("detail",
             "no ledger.checkpoint_private_key_file to sign prune anchors: "
             "no record is removed, whatever ledger.retention says");
  }
  auto ledger = FileLedger::Open(lo);
  if (!ledger.ok()) return ledger.status();
  file_ledger_ = ledger->get();
  recovery_ = &file_ledger_->recovery_report();
  ledger_ = std::shared_ptr<Ledger>(std::move(*ledger));
  metrics_->WatchLedger([ledger = file_ledger_, now = options.now] {
    const FileLedger::Stats stats = ledger->stats();
    Metrics::LedgerSize size;
    size.bytes = stats.bytes;
    size.segments = stats.segments;
    if (stats.oldest_record_time.has_value()) {
      size.oldest_record_age = now() - *stats.oldest_record_time;
    }
    size.prunes = stats.prunes;
    return size;
  });
  const RecoveryReport& r = *recovery_;
  log_->Info("ledger_opened")
      .Str("dir", lo.dir)
      .Int("last_sequence", static_cast<int64_t>(r.last_sequence))
      .Int("records_verified", static_cast<int64_t>(r.records_verified))
      .Bool("checkpoint_verified", r.last_checkpoint_signature_verified)
      .Int("pruned_through_sequence",
           static_cast<int64_t>(r.pruned_through_sequence));
  if (r.interrupted_prune_segments_removed > 0) {
    log_->Warning("ledger_prune_finished")
        .Int("segments",
             static_cast<int64_t>(r.interrupted_prune_segments_removed))
        .Str("detail", "a prune interrupted after its anchor was written");
  }
  if (r.torn_tail_bytes > 0) {
    log_->Warning("ledger_torn_tail")
        .Str("segment", r.torn_tail_segment)
        .Int("bytes", static_cast<int64_t>(r.torn_tail_bytes))
        .Str("reason", r.torn_tail_reason);
  }
  for (const auto& intent : r.possibly_disclosed) {
    log_->Warning("ledger_possibly_disclosed")
        .Str("disclosure_id", intent.disclosure_id)
        .Int("sequence", static_cast<int64_t>(intent.sequence))
        .Str("provider", intent.provider);
  }
  return absl::OkStatus();
}

absl::Status GatewayApp::AssembleGateway(
    const AppOptions& options,
    std::map<std::string, std::unique_ptr<Adapter>> adapters) {
  const cfg::GatewayConfig& c = loaded_.config;
  std::vector<SubjectKeySpec> specs;
  for (int i = 0; i < c.ledger().subject_keys_size(); ++i) {
    const auto& k = c.ledger().subject_keys(i);
    if (!std::ifstream(k.file()).good()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "config: ledger.subject_keys[", i, "].file: cannot read ", k.file()));
    }
    specs.push_back({k.version(), k.file()});
  }
  auto keys = SubjectKeyring::Load(specs);
  if (!keys.ok()) return keys.status();

  GatewayInputs in;
  auto shared = SharedState();
  if (!shared.ok()) return shared.status();
  in.admission = std::move(*shared);  // null: in memory
  in.adapters = std::move(adapters);
  in.ledger = ledger_.get();
  in.subject_keys = std::make_unique<SubjectKeyring>(std::move(*keys));
  in.events = metrics_.get();
  in.now = options.now;
  in.uniform = [] {
    thread_local absl::BitGen gen;
    return absl::Uniform<double>(gen, 0.0, 1.0);
  };
  in.new_disclosure_id = NewDisclosureId;
  auto parts = GatewayParts::Assemble(c, std::move(in));
  if (!parts.ok()) return parts.status();
  parts_ = std::move(*parts);
  authenticator_ = std::make_unique<CallerAuthenticator>(c.callers());
  return absl::OkStatus();
}

// The Redis client and the admission state on it, when the config names
// one; null otherwise (the gateway keeps its own state in memory).
absl::StatusOr<std::unique_ptr<AdmissionStore>> GatewayApp::SharedState() {
  const cfg::GatewayConfig& c = loaded_.config;
  if (!c.shared_state().has_redis()) return nullptr;
  const cfg::RedisSettings& r = c.shared_state().redis();
  RedisClient::Options o;
  const size_t colon = r.address().rfind(':');
  o.host = r.address().substr(0, colon);
  if (o.host.size() > 2 && o.host.front() == '[') {
    o.host = o.host.substr(1, o.host.size() - 2);  // [IPv6]
  }
  if (!absl::SimpleAtoi(r.address().substr(colon + 1), &o.port)) {
    return absl::InvalidArgumentError(
        "config: shared_state.redis.address: bad port");
  }
  if (!r.password_file().empty()) {
    auto password = ReadFileToString(r.password_file());
    if (!password.ok()) {
      return Prefixed("config: shared_state.redis.password_file",
                      password.status());
    }
    o.password = std::string(absl::StripTrailingAsciiWhitespace(*password));
  }
  o.database = r.database();
  o.connect_timeout = ToDuration(r.connect_timeout());
  o.command_timeout = ToDuration(r.command_timeout());
  o.connections = static_cast<int>(r.connections());
  Metrics* metrics = metrics_.get();
  JsonLog* log = log_;
  o.on_command = [metrics](absl::Duration latency, absl::string_view kind) {
    metrics->SharedStateCommand(latency, kind);
  };
  const std::string address = r.address();
  o.on_availability = [log, address](bool available, absl::string_view cause) {
    if (available) {
      log->Info("shared_state_available").Str("address", address);
    } else {
      log->Warning("shared_state_unavailable")
          .Str("address", address)
          .Str("cause", std::string(cause))
          .Str("detail",
               "idempotency and subject limits fail closed until it is back");
    }
  };
  auto client = RedisClient::Start(std::move(o));
  if (!client.ok()) return client.status();
  redis_ = std::move(*client);

  RedisAdmissionStore::Options so;
  so.key_prefix = r.key_prefix();
  so.answer_ttl = ToDuration(c.idempotency().ttl());
  so.callers = c.callers();
  so.subject_limits = c.subject_limits();
  so.expected_replicas = r.expected_replicas();
  so.on_fallback = [metrics] { metrics->SharedStateFallback(); };
  return std::make_unique<RedisAdmissionStore>(*redis_, std::move(so));
}

// I8 across a restart: a request that reached, or may have reached, its
// provider before the restart is not sent again when its caller retries.
// Its answer is gone with the old process; the ledger has the disclosure.
void GatewayApp::RestoreIdempotency() {
  if (recovery_ == nullptr) return;
  const absl::Status sent_before = WithReason(
      absl::FailedPreconditionError(
          "this request_id reached a provider before the gateway restarted "
          "and is not sent again; use a new request_id to verify again"),
      "REQUEST_ID_USED_BEFORE_RESTART");
  for (const DisclosedRequest& request : recovery_->disclosed_requests) {
    parts_->admission().Remember(request.caller, request.request_id,
                                 sent_before, request.time);
  }
  log_->Info("idempotency_restored")
      .Int("request_ids",
           static_cast<int64_t>(recovery_->disclosed_requests.size()));
}

absl::Status GatewayApp::StartServer(const AppOptions& options) {
  const cfg::GatewayConfig& c = loaded_.config;
  const std::string metrics_listen = options.metrics_listen_address.empty()
                                         ? c.metrics_listen_address()
                                         : options.metrics_listen_address;
  if (options.serve_metrics && !metrics_listen.empty()) {
    auto exposer = ServeMetrics(metrics_listen, *metrics_);
    if (!exposer.ok()) return exposer.status();
    exposer_ = std::move(*exposer);
  }

  JsonLog* log = log_;
  Metrics* metrics = metrics_.get();
  CallObserver extra = options.call_observer;
  service_ = std::make_unique<VerificationServiceImpl>(
      parts_->gateway(), *authenticator_,
      [log, metrics, extra](const CallRecord& r) {
        metrics->CallFinished(r);
        log->Info("verify")
            .Str("request_id", r.request_id)
            .Str("caller", r.caller)
            .Str("check", cfg::Check_Name(r.check))
            .Str("purpose", r.purpose)
            .Strs("providers", r.providers)
            .Str("verdict", ::idgate::v1::Verdict_Name(r.verdict))
            .Str("grpc_code", absl::StatusCodeToString(
                                  static_cast<absl::StatusCode>(r.code)))
            .Bool("replayed", r.replayed)
            .Double("duration_seconds", absl::ToDoubleSeconds(r.duration))
            .Strs("disclosure_ids", r.disclosure_ids);
        if (extra) extra(r);
      });

  // TLS files are re-read while the server runs (app/server_tls.h).
  auto tls = ServerTls::Start(c.tls(), log_);
  if (!tls.ok()) return tls.status();
  tls_ = std::move(*tls);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const std::string listen = options.listen_address.empty()
                                 ? c.listen_address()
                                 : options.listen_address;
  builder.AddListeningPort(listen, tls_->credentials(), &port_);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(c.server().max_receive_message_bytes()));
  if (const auto age = ToDuration(c.server().max_connection_age());
      age > absl::ZeroDuration()) {
    // Long-lived HTTP/2 connections are closed gracefully so that clients
    // spread over new replicas after scaling.
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_MS,
        static_cast<int>(absl::ToInt64Milliseconds(age)));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               static_cast<int>(absl::ToInt64Milliseconds(
                                   ToDuration(c.server().drain_timeout()))));
  }
  // No server-side deadline timer: the flow bounds its own work by the
  // caller's deadline (read from the call), and a caller whose deadline
  // passes cancels the call itself, which reaches the flow as OnCancel.
  // Debian's libgrpc checks every timer against a global debug table, so a
  // timer per call showed up under load (10,000 in flight: 8% of CPU).
  builder.AddChannelArgument(GRPC_ARG_ENABLE_DEADLINE_CHECKS, 0);
  builder.RegisterService(service_.get());
  if (file_ledger_ != nullptr) {
    mirror_service_ = std::make_unique<LedgerMirrorServiceImpl>(
        options.state_dir + "/ledger", c.ledger().name(), *authenticator_);
    builder.RegisterService(mirror_service_.get());
  }
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen));
  }

  if (c.callers().development_mode()) {
    log_->Warning("development_mode")
        .Str(
            "detail",
            "DEVELOPMENT MODE: callers are identified by the x-idgate-caller "
            "metadata without a certificate. Never enable this in production.");
  }
  log_->Info("started")
      .Str("listen", listen)
      .Int("port", port_)
      .Bool("tls", !c.tls().cert_file().empty())
      .Bool("mtls", !c.tls().client_ca_file().empty())
      .Int("providers", c.providers_size())
      .Int("metrics_port", metrics_port())
      .Str("policy_version", parts_->gateway().policy->version());
  healthy_ = true;
  RefreshHealth();
  return absl::OkStatus();
}

void GatewayApp::RefreshHealth() {
  auto* health = server_->GetHealthCheckService();
  const bool ok = ledger_->healthy();
  if (!ok && healthy_) {
    log_->Error("ledger_failed")
        .Str("cause", file_ledger_ != nullptr
                          ? std::string(file_ledger_->failure().message())
                          : "")
        .Str("detail", "disclosures fail closed until restart");
  }
  healthy_ = ok;
  health->SetServingStatus(ok);
  health->SetServingStatus("idgate.v1.VerificationService", ok);
}

void GatewayApp::Shutdown(absl::Duration drain) {
  if (server_ == nullptr) return;
  log_->Info("draining").Double("drain_seconds", absl::ToDoubleSeconds(drain));
  // Health first, so load balancers stop sending before the port closes.
  server_->GetHealthCheckService()->Shutdown();
  DrainServer(*server_, absl::Now() + drain,
              [this] { return service_->in_flight() == 0; });
  server_.reset();
  for (auto& mock : mock_servers_)
    mock->Shutdown(absl::ToChronoTime(absl::Now()));
  if (file_ledger_ != nullptr) {
    if (auto st = file_ledger_->Close(); !st.ok()) {
      log_->Error("ledger_close_failed")
          .Str("error", std::string(st.message()));
    }
  }
  // The last answers still on their way to the shared state.
  if (redis_ != nullptr && !redis_->WaitIdle(absl::Seconds(1))) {
    log_->Warning("shared_state_not_flushed")
        .Str("detail",
             "answers not stored: their retries get "
             "REQUEST_ID_INTERRUPTED after the claim's lease");
  }
  StopMetrics(std::move(exposer_));  // last
  log_->Info("stopped");
}

GatewayApp::~GatewayApp() { Shutdown(absl::ZeroDuration()); }

int GatewayApp::metrics_port() const {
  if (exposer_ == nullptr) return 0;
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

const MockProvider* GatewayApp::mock(const std::string& provider_id) const {
  auto it = mocks_.find(provider_id);
  return it == mocks_.end() ? nullptr : it->second.get();
}

}  // namespace idgate
