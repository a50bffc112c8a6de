#include "server/config/config_loader.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace idgate {
namespace {

using ::google::protobuf::Duration;
using ::google::protobuf::util::TimeUtil;
namespace cfg = ::idgate::config::v1;

absl::Status Bad(const std::string& path, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("config: ", path, ": ", problem));
}

void DefaultDuration(Duration* d, int64_t millis) {
  if (d->seconds() == 0 && d->nanos() == 0) {
    *d = TimeUtil::MillisecondsToDuration(millis);
  }
}

absl::Status CheckPositive(const Duration& d, const std::string& path) {
  if (d.seconds() < 0 || d.nanos() < 0 ||
      (d.seconds() == 0 && d.nanos() == 0)) {
    return Bad(path, "must be positive");
  }
  return absl::OkStatus();
}

absl::Status CheckNonNegative(const Duration& d, const std::string& path) {
  // "-0.5s" is seconds 0, nanos -500000000: both parts count.
  if (d.seconds() < 0 || d.nanos() < 0)
    return Bad(path, "must not be negative");
  return absl::OkStatus();
}

// gRPC takes some durations as int milliseconds (channel args): larger
// values would wrap around to negative ones.
constexpr int64_t kMaxIntMillisSeconds = std::numeric_limits<int>::max() / 1000;

absl::Status CheckIntMillis(const Duration& d, const std::string& path) {
  if (d.seconds() > kMaxIntMillisSeconds) {
    return Bad(path,
               absl::StrCat("must be at most ", kMaxIntMillisSeconds, "s"));
  }
  return absl::OkStatus();
}

// "host:port" (port 0-65535; IPv6 hosts in brackets) or a gRPC "unix:" URI.
absl::Status CheckListenAddress(const std::string& address,
                                const std::string& path) {
  if (absl::StartsWith(address, "unix:")) return absl::OkStatus();
  const size_t colon = address.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || colon + 1 == address.size() ||
      !std::all_of(address.begin() + colon + 1, address.end(),
                   [](char c) {
                     return absl::ascii_isdigit(static_cast<unsigned char>(c));
                   }) ||
      !absl::SimpleAtoi(absl::string_view(address).substr(colon + 1), &port) ||
      port > 65535) {
    return Bad(path, "must be host:port with a port from 0 to 65535");
  }
  for (char c : address) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) {
      return Bad(path, "must not contain spaces or control characters");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckFraction(double v, const std::string& path) {
  if (!(v >= 0 && v <= 1)) return Bad(path, "must be within [0, 1]");
  return absl::OkStatus();
}

void FillDefaults(GatewayConfig& c) {
  auto* s = c.mutable_server();
  DefaultDuration(s->mutable_default_deadline(), 10'000);
  DefaultDuration(s->mutable_drain_timeout(), 20'000);
  if (s->max_receive_message_bytes() == 0)
    s->set_max_receive_message_bytes(16 << 20);
  if (s->max_concurrent_calls() == 0) s->set_max_concurrent_calls(20'000);
  for (auto& p : *c.mutable_providers()) {
    DefaultDuration(p.mutable_timeout(), 3'000);
    if (p.max_in_flight() == 0) p.set_max_in_flight(1000);
    auto* cb = p.mutable_circuit_breaker();
    if (cb->consecutive_failures() == 0) cb->set_consecutive_failures(5);
    DefaultDuration(cb->mutable_base_ejection_time(), 1'000);
    DefaultDuration(cb->mutable_max_ejection_time(), 30'000);
  }
  for (auto& r : *c.mutable_routes()) {
    for (auto& t : *r.mutable_targets()) {
      if (t.weight() == 0) t.set_weight(1);
    }
  }
  auto* l = c.mutable_ledger();
  if (l->checkpoint_every_records() == 0)
    l->set_checkpoint_every_records(10'000);
  DefaultDuration(l->mutable_checkpoint_interval(), 60'000);
  if (l->segment_max_bytes() == 0) l->set_segment_max_bytes(64ull << 20);
  if (l->max_batch_records() == 0) l->set_max_batch_records(4096);
  if (l->max_pending_records() == 0) l->set_max_pending_records(65536);
  // Five years and a day: records are kept at least five years (seed policy
  // 000 §五.二), and five calendar years last at most 1827 days.
  DefaultDuration(l->mutable_retention(), 1828LL * 24 * 3600 * 1000);
  if (l->name().empty()) {
    // The pod's name in the chart's StatefulSet: stable across restarts.
    char host[256] = {};
    const bool named = gethostname(host, sizeof(host) - 1) == 0 && host[0];
    l->set_name(named ? host : "idgate");
  }
  auto* v = c.mutable_validation();
  if (v->max_face_image_bytes() == 0) v->set_max_face_image_bytes(2 << 20);
  if (v->max_liveness_video_bytes() == 0)
    v->set_max_liveness_video_bytes(8 << 20);
  auto* i = c.mutable_idempotency();
  DefaultDuration(i->mutable_ttl(), 24 * 3600 * 1000);
  if (i->max_entries() == 0) i->set_max_entries(100'000);
  if (c.shared_state().has_redis()) {
    auto* r = c.mutable_shared_state()->mutable_redis();
    if (r->key_prefix().empty()) r->set_key_prefix("idgate:");
    DefaultDuration(r->mutable_connect_timeout(), 1'000);
    DefaultDuration(r->mutable_command_timeout(), 200);
    if (r->connections() == 0) r->set_connections(2);
    if (r->expected_replicas() == 0) r->set_expected_replicas(1);
  }
}

void ResolvePaths(GatewayConfig& c, const std::string& base) {
  auto fix = [&](std::string* p) {
    if (!p->empty()) *p = ResolvePath(base, *p);
  };
  for (auto& k : *c.mutable_ledger()->mutable_subject_keys())
    fix(k.mutable_file());
  fix(c.mutable_ledger()->mutable_checkpoint_private_key_file());
  fix(c.mutable_tls()->mutable_cert_file());
  fix(c.mutable_tls()->mutable_key_file());
  fix(c.mutable_tls()->mutable_client_ca_file());
  fix(c.mutable_mocks()->mutable_identity_book_file());
  if (c.shared_state().has_redis()) {
    fix(c.mutable_shared_state()->mutable_redis()->mutable_password_file());
  }
  for (auto& [id, file] :
       *c.mutable_mocks()->mutable_verify_public_key_files()) {
    fix(&file);
  }
}

absl::Status CheckConfig(const GatewayConfig& c) {
  if (c.listen_address().empty()) return Bad("listen_address", "required");
  if (auto st = CheckListenAddress(c.listen_address(), "listen_address");
      !st.ok())
    return st;
  if (!c.metrics_listen_address().empty()) {
    if (auto st = CheckListenAddress(c.metrics_listen_address(),
                                     "metrics_listen_address");
        !st.ok()) {
      return st;
    }
  }
  const auto& s = c.server();
  if (auto st = CheckPositive(s.default_deadline(), "server.default_deadline");
      !st.ok())
    return st;
  if (auto st = CheckPositive(s.drain_timeout(), "server.drain_timeout");
      !st.ok())
    return st;
  // Also the grace period of max_connection_age, an int of milliseconds.
  if (auto st = CheckIntMillis(s.drain_timeout(), "server.drain_timeout");
      !st.ok())
    return st;
  if (auto st =
          CheckNonNegative(s.max_connection_age(), "server.max_connection_age");
      !st.ok())
    return st;
  if (auto st =
          CheckIntMillis(s.max_connection_age(), "server.max_connection_age");
      !st.ok())
    return st;
  // gRPC takes an int: 2^31 and above would wrap to "unlimited".
  if (s.max_receive_message_bytes() >
      static_cast<uint32_t>(std::numeric_limits<int>::max())) {
    return Bad(
        "server.max_receive_message_bytes",
        absl::StrCat("must be at most ", std::numeric_limits<int>::max()));
  }

  std::set<std::string> purposes;
  for (int i = 0; i < c.purposes_size(); ++i) {
    const std::string path = absl::StrCat("purposes[", i, "].id");
    if (c.purposes(i).id().empty()) return Bad(path, "required");
    if (!purposes.insert(c.purposes(i).id()).second)
      return Bad(path, "duplicate");
  }

  std::set<std::string> callers;
  for (int i = 0; i < c.callers().callers_size(); ++i) {
    const auto& caller = c.callers().callers(i);
    const std::string path = absl::StrCat("callers.callers[", i, "]");
    if (caller.id().empty()) return Bad(path + ".id", "required");
    if (!callers.insert(caller.id()).second)
      return Bad(path + ".id", "duplicate");
    for (int j = 0; j < caller.purposes_size(); ++j) {
      if (!purposes.count(caller.purposes(j))) {
        return Bad(absl::StrCat(path, ".purposes[", j, "]"), "unknown purpose");
      }
    }
    for (int j = 0; j < caller.checks_size(); ++j) {
      if (caller.checks(j) == cfg::CHECK_UNSPECIFIED) {
        return Bad(absl::StrCat(path, ".checks[", j, "]"), "must be set");
      }
    }
    // NaN compares false with everything: test for the good range.
    if (!(caller.rate_per_second() >= 0) ||
        std::isinf(caller.rate_per_second())) {
      return Bad(path + ".rate_per_second",
                 "must be a finite number, not negative");
    }
    if (caller.rate_per_second() > 0 && caller.burst() == 0) {
      return Bad(path + ".burst", "required with rate_per_second");
    }
  }

  std::set<std::string> providers;
  for (int i = 0; i < c.providers_size(); ++i) {
    const auto& p = c.providers(i);
    const std::string path = absl::StrCat("providers[", i, "]");
    if (p.id().empty()) return Bad(path + ".id", "required");
    if (!providers.insert(p.id()).second) return Bad(path + ".id", "duplicate");
    if (p.recipient().empty()) return Bad(path + ".recipient", "required");
    if (p.adapter().type_url().empty())
      return Bad(path + ".adapter", "required");
    if (p.endpoint_case() == cfg::Provider::ENDPOINT_NOT_SET) {
      return Bad(path, "one of embedded_mock or address is required");
    }
    if (auto st = CheckPositive(p.timeout(), path + ".timeout"); !st.ok())
      return st;
    const auto& cb = p.circuit_breaker();
    if (auto st =
            CheckNonNegative(cb.base_ejection_time(),
                             path + ".circuit_breaker.base_ejection_time");
        !st.ok()) {
      return st;
    }
    if (auto st = CheckNonNegative(cb.max_ejection_time(),
                                   path + ".circuit_breaker.max_ejection_time");
        !st.ok()) {
      return st;
    }
    if (p.has_embedded_mock()) {
      const auto& m = p.embedded_mock();
      if (auto st =
              CheckFraction(m.error_rate(), path + ".embedded_mock.error_rate");
          !st.ok())
        return st;
      if (auto st =
              CheckFraction(m.busy_rate(), path + ".embedded_mock.busy_rate");
          !st.ok())
        return st;
      if (auto st = CheckFraction(m.tail_probability(),
                                  path + ".embedded_mock.tail_probability");
          !st.ok())
        return st;
      for (const auto& [d, name] :
           {std::make_pair(&m.latency_mean(), ".latency_mean"),
            std::make_pair(&m.latency_stddev(), ".latency_stddev"),
            std::make_pair(&m.tail_latency(), ".tail_latency")}) {
        if (auto st = CheckNonNegative(*d, path + ".embedded_mock" + name);
            !st.ok())
          return st;
      }
    }
  }

  std::set<cfg::Check> routed;
  for (int i = 0; i < c.routes_size(); ++i) {
    const auto& r = c.routes(i);
    const std::string path = absl::StrCat("routes[", i, "]");
    if (r.check() == cfg::CHECK_UNSPECIFIED)
      return Bad(path + ".check", "required");
    if (!routed.insert(r.check()).second)
      return Bad(path + ".check", "duplicate route for this check");
    if (r.targets_size() == 0)
      return Bad(path + ".targets", "at least one target is required");
    for (int j = 0; j < r.targets_size(); ++j) {
      if (!providers.count(r.targets(j).provider())) {
        return Bad(absl::StrCat(path, ".targets[", j, "].provider"),
                   "unknown provider");
      }
    }
  }

  for (int i = 0; i < c.disclosure_rules_size(); ++i) {
    const auto& rule = c.disclosure_rules(i);
    const std::string path = absl::StrCat("disclosure_rules[", i, "]");
    if (!providers.count(rule.provider()))
      return Bad(path + ".provider", "unknown provider");
    if (rule.purposes_size() == 0)
      return Bad(path + ".purposes", "at least one purpose is required");
    for (int j = 0; j < rule.purposes_size(); ++j) {
      if (!purposes.count(rule.purposes(j))) {
        return Bad(absl::StrCat(path, ".purposes[", j, "]"), "unknown purpose");
      }
    }
    for (int j = 0; j < rule.fields_size(); ++j) {
      const std::string fpath = absl::StrCat(path, ".fields[", j, "]");
      if (rule.fields(j).field() == ::idgate::v1::PII_FIELD_UNSPECIFIED)
        return Bad(fpath + ".field", "must be set");
      if (rule.fields(j).form() == ::idgate::v1::PII_FORM_UNSPECIFIED)
        return Bad(fpath + ".form", "must be set");
    }
  }

  const auto& l = c.ledger();
  if (l.subject_keys_size() == 0)
    return Bad("ledger.subject_keys", "at least one key is required");
  std::set<uint32_t> versions;
  for (int i = 0; i < l.subject_keys_size(); ++i) {
    const std::string path = absl::StrCat("ledger.subject_keys[", i, "]");
    if (l.subject_keys(i).version() == 0)
      return Bad(path + ".version", "must be positive");
    if (!versions.insert(l.subject_keys(i).version()).second)
      return Bad(path + ".version", "duplicate");
    if (l.subject_keys(i).file().empty())
      return Bad(path + ".file", "required");
  }
  if (auto st =
          CheckPositive(l.checkpoint_interval(), "ledger.checkpoint_interval");
      !st.ok())
    return st;
  if (auto st = CheckPositive(l.retention(), "ledger.retention"); !st.ok())
    return st;
  if (!IsPlainFileName(l.name()))
    return Bad("ledger.name", "must be 1 to 64 of [A-Za-z0-9._-], not . or ..");

  const auto& t = c.tls();
  if (t.cert_file().empty() != t.key_file().empty()) {
    return Bad("tls", "cert_file and key_file go together");
  }
  if (!t.client_ca_file().empty() && t.cert_file().empty()) {
    return Bad("tls.client_ca_file", "requires cert_file and key_file");
  }
  if (auto st = CheckPositive(c.idempotency().ttl(), "idempotency.ttl");
      !st.ok())
    return st;
  if (c.shared_state().has_redis()) {
    const auto& r = c.shared_state().redis();
    const std::string path = "shared_state.redis";
    if (r.address().empty()) return Bad(path + ".address", "required");
    if (absl::StartsWith(r.address(), "unix:") ||
        absl::EndsWith(r.address(), ":0")) {
      return Bad(path + ".address", "must be host:port with a port");
    }
    if (auto st = CheckListenAddress(r.address(), path + ".address"); !st.ok())
      return st;
    for (const auto& [d, name] :
         {std::pair{&r.connect_timeout(), "connect_timeout"},
          std::pair{&r.command_timeout(), "command_timeout"}}) {
      if (auto st = CheckPositive(*d, absl::StrCat(path, ".", name)); !st.ok())
        return st;
      if (auto st = CheckIntMillis(*d, absl::StrCat(path, ".", name)); !st.ok())
        return st;
    }
    if (r.connections() > 64) {
      return Bad(path + ".connections", "must be at most 64");
    }
    if (r.database() > 1000) {
      return Bad(path + ".database", "must be at most 1000");
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string ResolvePath(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  return absl::StrCat(base_dir, "/", path);
}

absl::StatusOr<GatewayConfig> ParseConfigJson(const std::string& json) {
  GatewayConfig config;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  google::protobuf::util::Status status;
#if PROTOBUF_USE_EXCEPTIONS
  try {
#endif
    status =
        google::protobuf::util::JsonStringToMessage(json, &config, options);
#if PROTOBUF_USE_EXCEPTIONS
  } catch (const google::protobuf::FatalException& e) {
    // protobuf 3.21 fails an internal CHECK (and throws) on some inputs,
    // e.g. a google.protobuf.Any nested in the adapter Any whose type it
    // cannot resolve: a bad config, not a reason to abort (found by
    // tests/fuzz/config_fuzzer.cc, corpus/config/regression_nested_any).
    return absl::InvalidArgumentError(absl::StrCat(
        "config: not a valid GatewayConfig (the JSON parser gave up: ",
        e.message(), ")"));
  }
#endif
  if (!status.ok()) {
    // protobuf's message already carries the field path, e.g.
    // "(providers[1].timeout): invalid value ...".
    return absl::InvalidArgumentError(
        absl::StrCat("config: ", std::string(status.message())));
  }
  return config;
}

absl::StatusOr<LoadedConfig> ParseConfig(const std::string& json,
                                         const std::string& base_dir) {
  absl::StatusOr<GatewayConfig> config = ParseConfigJson(json);
  if (!config.ok()) return config.status();
  LoadedConfig loaded{std::move(*config), base_dir};
  FillDefaults(loaded.config);
  ResolvePaths(loaded.config, base_dir);
  if (auto st = CheckConfig(loaded.config); !st.ok()) return st;
  return loaded;
}

absl::StatusOr<LoadedConfig> LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::NotFoundError(absl::StrCat("config: cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string dir = ".";
  if (auto slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
  }
  return ParseConfig(buffer.str(), dir);
}

}  // namespace idgate
