#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "idgate/config/v1/config.pb.h"

namespace idgate {

using GatewayConfig = ::idgate::config::v1::GatewayConfig;

// A parsed, checked config with defaults filled in and every file path made
// absolute (relative paths resolve against the config file's directory).
struct LoadedConfig {
  GatewayConfig config;
  std::string base_dir;
};

// Reads proto3 JSON (unknown fields rejected), fills defaults and checks every
// value. Errors name the field path, e.g. "providers[1].timeout: ...".
absl::StatusOr<LoadedConfig> LoadConfigFile(const std::string& path);
absl::StatusOr<LoadedConfig> ParseConfig(const std::string& json,
                                         const std::string& base_dir);

// Only the JSON step of ParseConfig: no defaults, no checks. For tools that
// read a config without running it (idgate-audit).
absl::StatusOr<GatewayConfig> ParseConfigJson(const std::string& json);

// The path as the config means it: absolute stays, relative joins base_dir.
std::string ResolvePath(const std::string& base_dir, const std::string& path);

}  // namespace idgate
