#include "tools/idgate-mock-providers/mock_providers.h"

#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "adapters/registry.h"
#include "core/file.h"
#include "core/status.h"
#include "google/protobuf/util/json_util.h"

namespace idgate {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     absl::string_view field) {
  auto content = ReadFileToString(path);
  if (!content.ok()) return Prefixed(field, content.status());
  return content;
}

std::string Resolve(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || dir.empty()) return path;
  return absl::StrCat(dir, "/", path);
}

}  // namespace

std::string ProviderKindName(absl::string_view config_type) {
  const size_t dot = config_type.rfind('.');
  absl::string_view name = dot == absl::string_view::npos
                               ? config_type
                               : config_type.substr(dot + 1);
  absl::ConsumeSuffix(&name, "AdapterConfig");
  return absl::AsciiStrToLower(name);
}

absl::StatusOr<::idgate::mock::v1::MockServerConfig> LoadMockServerConfig(
    const std::string& path) {
  auto json = ReadFile(path, "--config");
  if (!json.ok()) return json.status();
  ::idgate::mock::v1::MockServerConfig config;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status =
      google::protobuf::util::JsonStringToMessage(*json, &config, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", std::string(status.message())));
  }
  return config;
}

absl::StatusOr<std::unique_ptr<MockProviders>> StartMockProviders(
    const ::idgate::mock::v1::MockServerConfig& config,
    const std::string& config_dir, const std::string& listen_address) {
  if (listen_address.empty()) {
    return absl::InvalidArgumentError(
        "listen_address: not set (or pass --listen)");
  }
  auto providers = std::make_unique<MockProviders>();
  if (config.identity_book_file().empty()) {
    return absl::InvalidArgumentError("identity_book_file: not set");
  }
  auto book =
      IdentityBook::LoadFile(Resolve(config_dir, config.identity_book_file()));
  if (!book.ok()) {
    return Prefixed("identity_book_file", book.status());
  }
  providers->book = std::move(*book);

  std::vector<ProviderKind> kinds = BuiltinProviderKinds();
  std::set<std::string> known;
  for (const ProviderKind& kind : kinds) {
    known.insert(ProviderKindName(kind.mock->config_type()));
  }
  for (const auto& [key, unused] : config.behaviours()) {
    if (!known.count(key)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "behaviours[", key,
          "]: unknown provider kind; known: ", absl::StrJoin(known, ", ")));
    }
  }
  for (const auto& [key, unused] : config.verify_public_key_files()) {
    if (!known.count(key)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "verify_public_key_files[", key,
          "]: unknown provider kind; known: ", absl::StrJoin(known, ", ")));
    }
  }

  std::vector<std::unique_ptr<MockProvider>> mocks;
  for (size_t i = 0; i < kinds.size(); ++i) {
    const std::string name = ProviderKindName(kinds[i].mock->config_type());
    MockEnv env;
    env.book = providers->book.get();
    if (auto it = config.behaviours().find(name);
        it != config.behaviours().end()) {
      env.behaviour = it->second;
    }
    if (auto it = config.verify_public_key_files().find(name);
        it != config.verify_public_key_files().end()) {
      const std::string field =
          absl::StrCat("verify_public_key_files[", name, "]");
      auto pem = ReadFile(Resolve(config_dir, it->second), field);
      if (!pem.ok()) return pem.status();
      env.verify_public_key_pem = std::move(*pem);
    }
    // Distinct streams per kind, all fixed by the one seed.
    env.seed = config.seed() + i;
    mocks.push_back(kinds[i].mock->Create(env));
    providers->kinds.push_back(name);
  }
  auto host = MockHost::Start(std::move(mocks), listen_address);
  if (!host.ok()) return host.status();
  providers->host = std::move(*host);
  return providers;
}

}  // namespace idgate
