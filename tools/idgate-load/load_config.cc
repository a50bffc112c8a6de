#include "tools/idgate-load/load_config.h"

#include <cmath>
#include <limits>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file.h"
#include "google/protobuf/util/json_util.h"

namespace idgate::load {
namespace {

using google::protobuf::Value;

// ghz keys that are deliberately not implemented, with the reason shown.
const std::map<std::string, std::string>& Unsupported() {
  static const auto* m = new std::map<std::string, std::string>{
      {"qps", "the pre-0.60 ghz name of \"rps\"; write \"rps\""},
      {"skipTLS",
       "certificate verification cannot be skipped; give \"cacert\" (and "
       "\"cname\")"},
      {"binary-file",
       "a fixed binary message has one request_id, so every call after the "
       "first is an "
       "idempotent replay; use \"data\" with {{.RequestNumber}}"},
      {"binary", "see binary-file"},
      {"stream-interval", "Verify is unary"},
      {"stream-call-duration", "Verify is unary"},
      {"stream-call-count", "Verify is unary"},
      {"stream-dynamic-messages", "Verify is unary"},
      {"reflect-metadata",
       "server reflection is not used: the types are compiled in"},
      {"cpus", "a Go runtime setting"},
      {"enable-compression", "not implemented"},
      {"load-schedule", "only constant load (\"rps\") is implemented"},
      {"load-start", "only constant load (\"rps\") is implemented"},
      {"load-end", "only constant load (\"rps\") is implemented"},
      {"load-step", "only constant load (\"rps\") is implemented"},
      {"load-step-duration", "only constant load (\"rps\") is implemented"},
      {"load-max-duration", "only constant load (\"rps\") is implemented"},
      {"concurrency-schedule", "only constant concurrency is implemented"},
      {"concurrency-start", "only constant concurrency is implemented"},
      {"concurrency-end", "only constant concurrency is implemented"},
      {"concurrency-step", "only constant concurrency is implemented"},
      {"concurrency-step-duration", "only constant concurrency is implemented"},
      {"concurrency-max-duration", "only constant concurrency is implemented"},
      {"count-errors", "errors are always counted and reported apart"},
      {"lb-strategy", "one host only"},
      {"max-recv-message-size", "not implemented"},
      {"max-send-message-size", "not implemented"},
      {"debug", "not implemented"},
      {"async", "not implemented"},
  };
  return *m;
}

const std::set<std::string>& Supported() {
  static const auto* s = new std::set<std::string>{
      "call",         "host",          "proto",     "protoset",
      "import-paths", "insecure",      "cacert",    "cert",
      "key",          "cname",         "authority", "total",
      "concurrency",  "connections",   "rps",       "duration",
      "max-duration", "duration-stop", "timeout",   "connect-timeout",
      "keepalive",    "skipFirst",     "data",      "data-file",
      "metadata",     "metadata-file", "format",    "output",
      "name",         "tags"};
  return *s;
}

absl::Status Bad(const std::string& key, const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat("config key \"", key, "\": ", what));
}

absl::StatusOr<std::string> String(const std::string& key, const Value& v) {
  if (v.kind_case() != Value::kStringValue)
    return Bad(key, "expected a string");
  return v.string_value();
}

absl::StatusOr<uint64_t> Count(const std::string& key, const Value& v) {
  if (v.kind_case() != Value::kNumberValue || v.number_value() < 0 ||
      v.number_value() != std::floor(v.number_value()) ||
      v.number_value() > 1e15) {
    return Bad(key, "expected a non-negative integer");
  }
  return static_cast<uint64_t>(v.number_value());
}

absl::StatusOr<absl::Duration> DurationOf(const std::string& key,
                                          const Value& v) {
  if (v.kind_case() == Value::kNumberValue && v.number_value() >= 0) {
    return absl::Seconds(v.number_value());  // ghz before 0.60 wrote seconds
  }
  if (v.kind_case() != Value::kStringValue)
    return Bad(key, "expected a duration such as \"10s\"");
  auto d = ParseGoDuration(v.string_value());
  if (!d.ok()) return Bad(key, std::string(d.status().message()));
  return *d;
}

absl::StatusOr<std::string> ReadFile(const std::string& key,
                                     const std::string& path) {
  auto content = ReadFileToString(path);
  if (!content.ok()) return Bad(key, std::string(content.status().message()));
  return content;
}

absl::StatusOr<Value> ParseJsonValue(const std::string& key,
                                     const std::string& json) {
  Value v;
  auto st = google::protobuf::util::JsonStringToMessage(json, &v);
  if (!st.ok())
    return Bad(key, absl::StrCat("invalid JSON: ", std::string(st.message())));
  return v;
}

absl::Status SetData(const std::string& key, const Value& v, LoadConfig& c) {
  if (v.kind_case() == Value::kListValue) {
    if (v.list_value().values_size() == 0)
      return Bad(key, "the data array must not be empty");
    for (const auto& e : v.list_value().values()) {
      if (e.kind_case() != Value::kStructValue)
        return Bad(key, "every array element must be an object");
    }
  } else if (v.kind_case() != Value::kStructValue) {
    return Bad(key, "expected an object or an array of objects");
  }
  c.data = v;
  c.has_data = true;
  return absl::OkStatus();
}

absl::Status SetStringMap(
    const std::string& key, const Value& v,
    std::vector<std::pair<std::string, std::string>>& out) {
  if (v.kind_case() != Value::kStructValue)
    return Bad(key, "expected an object of strings");
  out.clear();
  for (const auto& [k, val] : v.struct_value().fields()) {
    if (val.kind_case() != Value::kStringValue) {
      return Bad(absl::StrCat(key, ".", k), "expected a string");
    }
    out.emplace_back(k, val.string_value());
  }
  return absl::OkStatus();
}

}  // namespace

const char* SupportedKeys() {
  static const std::string* keys =
      new std::string(absl::StrJoin(Supported(), ", "));
  return keys->c_str();
}

absl::StatusOr<absl::Duration> ParseGoDuration(const std::string& text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration() ||
      d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text,
        "\" is not a duration such as \"10s\", \"1m30s\" or \"250ms\""));
  }
  return d;
}

absl::StatusOr<LoadConfig> ParseLoadConfig(const std::string& json) {
  google::protobuf::Struct root;
  if (auto st = google::protobuf::util::JsonStringToMessage(json, &root);
      !st.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: invalid JSON: ", std::string(st.message())));
  }
  LoadConfig c;
  for (const auto& [key, v] : root.fields()) {
    if (auto u = Unsupported().find(key); u != Unsupported().end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "config key \"", key,
          "\" is a ghz option idgate-load does not support: ", u->second));
    }
    if (!Supported().count(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("config key \"", key,
                       "\" is not a ghz option idgate-load knows; "
                       "supported keys: ",
                       SupportedKeys()));
    }
  }
  auto get = [&](const char* key) -> const Value* {
    auto it = root.fields().find(key);
    return it == root.fields().end() ? nullptr : &it->second;
  };
  const std::pair<const char*, std::string*> strings[] = {
      {"call", &c.call},
      {"host", &c.host},
      {"proto", &c.proto},
      {"protoset", &c.protoset},
      {"cacert", &c.cacert},
      {"cert", &c.cert},
      {"key", &c.key},
      {"cname", &c.cname},
      {"authority", &c.authority},
      {"duration-stop", &c.duration_stop},
      {"format", &c.format},
      {"output", &c.output},
      {"name", &c.name}};
  for (const auto& [key, field] : strings) {
    if (const Value* v = get(key)) {
      auto s = String(key, *v);
      if (!s.ok()) return s.status();
      *field = *s;
    }
  }
  uint64_t concurrency = c.concurrency, connections = c.connections;
  const std::pair<const char*, uint64_t*> counts[] = {
      {"total", &c.total},
      {"concurrency", &concurrency},
      {"connections", &connections},
      {"skipFirst", &c.skip_first}};
  for (const auto& [key, field] : counts) {
    if (const Value* v = get(key)) {
      auto n = Count(key, *v);
      if (!n.ok()) return n.status();
      *field = *n;
    }
  }
  if (concurrency > std::numeric_limits<uint32_t>::max() ||
      connections > std::numeric_limits<uint32_t>::max()) {
    return Bad("concurrency", "too large");
  }
  c.concurrency = static_cast<uint32_t>(concurrency);
  c.connections = static_cast<uint32_t>(connections);
  const std::pair<const char*, absl::Duration*> durations[] = {
      {"duration", &c.duration},
      {"max-duration", &c.max_duration},
      {"timeout", &c.timeout},
      {"connect-timeout", &c.connect_timeout},
      {"keepalive", &c.keepalive}};
  for (const auto& [key, field] : durations) {
    if (const Value* v = get(key)) {
      auto d = DurationOf(key, *v);
      if (!d.ok()) return d.status();
      *field = *d;
    }
  }
  if (const Value* v = get("rps")) {
    auto n = Count("rps", *v);
    if (!n.ok()) return n.status();
    c.rps = static_cast<double>(*n);
  }
  if (const Value* v = get("insecure")) {
    if (v->kind_case() != Value::kBoolValue)
      return Bad("insecure", "expected true or false");
    c.insecure = v->bool_value();
  }
  if (const Value* v = get("import-paths")) {
    if (v->kind_case() != Value::kListValue)
      return Bad("import-paths", "expected an array of strings");
    for (const auto& p : v->list_value().values()) {
      auto s = String("import-paths", p);
      if (!s.ok()) return s.status();
      c.import_paths.push_back(*s);
    }
  }
  if (get("data") != nullptr && get("data-file") != nullptr) {
    return Bad("data-file", "give \"data\" or \"data-file\", not both");
  }
  if (const Value* v = get("data")) {
    if (auto st = SetData("data", *v, c); !st.ok()) return st;
  }
  if (const Value* v = get("data-file")) {
    auto path = String("data-file", *v);
    if (!path.ok()) return path.status();
    auto text = ReadFile("data-file", *path);
    if (!text.ok()) return text.status();
    auto value = ParseJsonValue("data-file", *text);
    if (!value.ok()) return value.status();
    if (auto st = SetData("data-file", *value, c); !st.ok()) return st;
  }
  if (get("metadata") != nullptr && get("metadata-file") != nullptr) {
    return Bad("metadata-file",
               "give \"metadata\" or \"metadata-file\", not both");
  }
  if (const Value* v = get("metadata")) {
    if (auto st = SetStringMap("metadata", *v, c.metadata); !st.ok()) return st;
  }
  if (const Value* v = get("metadata-file")) {
    auto path = String("metadata-file", *v);
    if (!path.ok()) return path.status();
    auto text = ReadFile("metadata-file", *path);
    if (!text.ok()) return text.status();
    auto value = ParseJsonValue("metadata-file", *text);
    if (!value.ok()) return value.status();
    if (auto st = SetStringMap("metadata-file", *value, c.metadata); !st.ok())
      return st;
  }
  if (const Value* v = get("tags")) {
    std::vector<std::pair<std::string, std::string>> tags;
    if (auto st = SetStringMap("tags", *v, tags); !st.ok()) return st;
    c.tags.insert(tags.begin(), tags.end());
  }
  return c;
}

absl::StatusOr<LoadConfig> LoadConfigFile(const std::string& path) {
  auto text = ReadFile("--config", path);
  if (!text.ok()) return text.status();
  return ParseLoadConfig(*text);
}

absl::Status ValidateLoadConfig(const LoadConfig& c) {
  if (c.call != "idgate.v1.VerificationService.Verify" &&
      c.call != "idgate.v1.VerificationService/Verify") {
    return Bad("call",
               absl::StrCat("idgate-load calls only "
                            "idgate.v1.VerificationService.Verify, not \"",
                            c.call, "\""));
  }
  if (c.host.empty()) return Bad("host", "required (host:port)");
  if (!c.has_data)
    return Bad("data", "required: the VerifyRequest as proto3 JSON");
  if (c.concurrency == 0) return Bad("concurrency", "must be at least 1");
  if (c.connections == 0) return Bad("connections", "must be at least 1");
  if (c.connections > c.concurrency) {
    return Bad("connections", "must not exceed concurrency (as in ghz)");
  }
  if (c.duration == absl::ZeroDuration() && c.total == 0)
    return Bad("total", "must be at least 1");
  if (c.duration_stop != "close" && c.duration_stop != "ignore" &&
      c.duration_stop != "wait") {
    return Bad("duration-stop", "expected close, ignore or wait");
  }
  if (c.format != "summary" && c.format != "json" && c.format != "pretty") {
    return Bad("format", "idgate-load writes summary, json or pretty");
  }
  if (c.insecure && (!c.cacert.empty() || !c.cert.empty())) {
    return Bad("insecure",
               "true together with cacert/cert: choose plaintext or TLS");
  }
  if (c.cert.empty() != c.key.empty())
    return Bad("cert", "cert and key go together");
  return absl::OkStatus();
}

}  // namespace idgate::load
