#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/adapter.h"
#include "adapters/mock.h"

namespace idgate {

// The time as adapters see it; injected so that tests can fix it.
using Clock = std::function<absl::Time()>;

// An AdapterFactory for one typed adapter config, `Config`: the provider's
// `adapter` Any is unpacked and checked here, once, and every error it or
// the subclass reports carries the provider's path in the gateway config:
//
//   providers[<id>].adapter: not a idgate.config.v1.CarrierAdapterConfig
//   providers[<id>].adapter.app_id: must be set
//   providers[<id>]: no channel or call queue
template <typename Config>
class TypedAdapterFactory : public AdapterFactory {
 public:
  // `now` is the adapters' clock: it stamps requests and tells whether a
  // call's deadline has already passed.
  explicit TypedAdapterFactory(Clock now = absl::Now) : now_(std::move(now)) {}

  std::string config_type() const final {
    return Config::descriptor()->full_name();
  }

  absl::StatusOr<std::unique_ptr<Adapter>> Create(
      const AdapterEnv& env) const final {
    if (env.provider == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(config_type(), ": no provider config"));
    }
    const std::string path =
        absl::StrCat("providers[", env.provider->id(), "]");
    Config config;
    if (!env.provider->adapter().UnpackTo(&config)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".adapter: not a ", config_type()));
    }
    if (absl::Status checked = CheckConfig(config); !checked.ok()) {
      return InAdapterConfig(path, checked);
    }
    if (env.channel == nullptr || env.call_queue == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": no channel or call queue"));
    }
    absl::StatusOr<std::unique_ptr<Adapter>> adapter = CreateTyped(config, env);
    if (!adapter.ok()) return InAdapterConfig(path, adapter.status());
    return adapter;
  }

 protected:
  // The first problem of `config`, worded "<field>: <problem>" with the
  // field's path inside the adapter config ("app_id: must be set").
  virtual absl::Status CheckConfig(const Config& config) const = 0;

  // The adapter for a checked `config`; `env` has a channel and a call
  // queue. Errors are worded as CheckConfig's.
  virtual absl::StatusOr<std::unique_ptr<Adapter>> CreateTyped(
      const Config& config, const AdapterEnv& env) const = 0;

  const Clock& clock() const { return now_; }

 private:
  static absl::Status InAdapterConfig(const std::string& path,
                                      const absl::Status& status) {
    return absl::Status(status.code(),
                        absl::StrCat(path, ".adapter.", status.message()));
  }

  const Clock now_;
};

// A config file named in an adapter config, resolved as AdapterEnv says
// (relative to the config file); empty stays empty.
inline std::string ResolveConfigPath(const AdapterEnv& env,
                                     const std::string& path) {
  if (path.empty() || !env.resolve_path) return path;
  return env.resolve_path(path);
}

// The MockFactory matching TypedAdapterFactory<Config>: keyed by the same
// config message, so that an adapter and its mock cannot disagree.
template <typename Config>
class TypedMockFactory : public MockFactory {
 public:
  std::string config_type() const final {
    return Config::descriptor()->full_name();
  }
};

}  // namespace idgate
