#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"

namespace idgate::load {

// The ghz config keys idgate-load understands, with ghz's meaning and
// defaults (https://ghz.sh/docs/options). Keys ghz has but idgate-load does
// not implement are refused, never silently ignored.
struct LoadConfig {
  std::string call;   // "idgate.v1.VerificationService.Verify" or ".../Verify"
  std::string host;   // host:port
  std::string proto;  // accepted, not read: the message types are compiled in
  std::string protoset;  // when set: checked to declare `call` with our types
  std::vector<std::string> import_paths;  // accepted with "proto", not read

  bool insecure = false;  // ghz default: TLS
  std::string cacert, cert, key, cname, authority;

  uint64_t total = 200;
  uint32_t concurrency = 50;
  uint32_t connections = 1;
  double rps = 0;  // 0: as fast as `concurrency` allows
  absl::Duration duration = absl::ZeroDuration();  // ghz -z: total ignored
  absl::Duration max_duration =
      absl::ZeroDuration();                    // ghz -x: total respected
  std::string duration_stop = "close";         // close | ignore | wait
  absl::Duration timeout = absl::Seconds(20);  // per call; 0 = none
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration keepalive = absl::ZeroDuration();
  uint64_t skip_first = 0;

  // An object, or an array of objects used round robin (ghz, unary calls).
  google::protobuf::Value data;
  bool has_data = false;
  std::vector<std::pair<std::string, std::string>> metadata;

  std::string format = "summary";  // summary | json | pretty
  std::string output;              // file; empty: stdout
  std::string name;
  std::map<std::string, std::string> tags;
};

// Parses a ghz JSON config. Relative file paths (protoset, data-file,
// metadata-file, cacert, cert, key) are taken from the current directory,
// as ghz does.
absl::StatusOr<LoadConfig> ParseLoadConfig(const std::string& json);
absl::StatusOr<LoadConfig> LoadConfigFile(const std::string& path);

// Checks the combination (call, counts, formats); run after overrides.
absl::Status ValidateLoadConfig(const LoadConfig& config);

// Go duration syntax as ghz writes it: "10s", "1m30s", "250ms", "0".
absl::StatusOr<absl::Duration> ParseGoDuration(const std::string& text);

// Keys idgate-load accepts, for the error message and --help.
const char* SupportedKeys();

}  // namespace idgate::load
