#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/mock_support/identity_book.h"
#include "adapters/mock_support/mock_host.h"
#include "idgate/mock/v1/mock_server.pb.h"

namespace idgate {

// Short name of a provider kind, used as the key of the config's maps:
// "idgate.config.v1.CarrierAdapterConfig" -> "carrier".
std::string ProviderKindName(absl::string_view config_type);

// Reads proto3 JSON with unknown fields rejected.
absl::StatusOr<::idgate::mock::v1::MockServerConfig> LoadMockServerConfig(
    const std::string& path);

// Every built-in mock provider, serving on one port.
struct MockProviders {
  std::unique_ptr<IdentityBook> book;
  // Declared after the book, which its mocks read: destroyed first.
  std::unique_ptr<MockHost> host;
  // Kind names in the order of host->mock(i).
  std::vector<std::string> kinds;
};

// Builds one mock per kind of BuiltinProviderKinds() from `config` and
// starts serving on `listen_address`. Relative paths resolve against
// `config_dir`. Errors name the offending config field.
absl::StatusOr<std::unique_ptr<MockProviders>> StartMockProviders(
    const ::idgate::mock::v1::MockServerConfig& config,
    const std::string& config_dir, const std::string& listen_address);

}  // namespace idgate
