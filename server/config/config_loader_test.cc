#include "server/config/config_loader.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace idgate {
namespace {

using ::testing::HasSubstr;

std::string DevJson() {
  std::ifstream in("config/dev.json");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Replaces the first occurrence of `from` in the dev config.
std::string DevWith(const std::string& from, const std::string& to) {
  std::string json = DevJson();
  auto pos = json.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return json.replace(pos, from.size(), to);
}

TEST(ConfigLoader, LoadsDevConfigWithDefaultsAndResolvedPaths) {
  auto loaded = LoadConfigFile("config/dev.json");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const auto& c = loaded->config;
  EXPECT_EQ(c.providers_size(), 4);
  EXPECT_EQ(c.routes_size(), 3);
  EXPECT_TRUE(c.callers().development_mode());
  EXPECT_EQ(c.ledger().subject_keys(0).file(),
            "config/dev-secrets/subject-hmac-v1.key");
  EXPECT_EQ(c.mocks().identity_book_file(), "config/testdata/identities.json");
  // A default filled in: providers carry a circuit breaker.
  EXPECT_EQ(c.providers(0).circuit_breaker().consecutive_failures(), 5u);
  EXPECT_EQ(c.idempotency().max_entries(), 100000u);
  // Ledger records are kept five years and a day.
  EXPECT_EQ(c.ledger().retention().seconds(), 1828 * 24 * 3600);
  // The ledger is named after the host: the pod's name in the chart.
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof(host) - 1), 0);
  EXPECT_EQ(c.ledger().name(), host);
}

TEST(ConfigLoader, MissingFileIsNotFound) {
  auto loaded = LoadConfigFile("config/does-not-exist.json");
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
}

TEST(ConfigLoader, UnknownFieldIsRejectedWithItsPath) {
  auto loaded = ParseConfig(DevWith(R"("id": "bank_mock",)",
                                    R"("id": "bank_mock", "colour": "red",)"),
                            "config");
  ASSERT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("providers[1]"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("colour"));
}

TEST(ConfigLoader, BadValueNamesTheFieldPath) {
  auto loaded = ParseConfig(
      DevWith(R"("timeout": "3s")", R"("timeout": "3 seconds")"), "config");
  ASSERT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("providers[1].timeout"));
}

TEST(ConfigLoader, BadEnumNamesTheFieldPath) {
  auto loaded = ParseConfig(DevWith(R"("check": "CHECK_BANK_FOUR_FACTOR")",
                                    R"("check": "CHECK_PALM")"),
                            "config");
  ASSERT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("routes[1].check"));
}

struct SemanticCase {
  std::string from, to, path;
};

class SemanticErrors : public ::testing::TestWithParam<SemanticCase> {};

TEST_P(SemanticErrors, NameThePath) {
  auto loaded = ParseConfig(DevWith(GetParam().from, GetParam().to), "config");
  ASSERT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument)
      << loaded.status();
  EXPECT_THAT(loaded.status().message(), HasSubstr(GetParam().path));
}

INSTANTIATE_TEST_SUITE_P(
    ConfigLoader, SemanticErrors,
    ::testing::Values(
        SemanticCase{R"("listenAddress": "127.0.0.1:50051",)", "",
                     "listen_address"},
        SemanticCase{R"("id": "bank_mock")", R"("id": "carrier_mock")",
                     "providers[1].id: duplicate"},
        SemanticCase{R"({"provider": "bank_mock", "priority": 1})",
                     R"({"provider": "bank_nope", "priority": 1})",
                     "routes[1].targets[0].provider: unknown provider"},
        SemanticCase{R"("provider": "carrier_mock",
      "purposes": ["esign.signer_identity")",
                     R"("provider": "carrier_mock",
      "purposes": ["esign.unknown")",
                     "disclosure_rules[0].purposes[0]: unknown purpose"},
        SemanticCase{R"("purposes": ["app.account_verification"])",
                     R"("purposes": ["app.nope"])",
                     "callers.callers[2].purposes[0]: unknown purpose"},
        SemanticCase{R"("timeout": "2s")", R"("timeout": "-2s")",
                     "providers[0].timeout: must be positive"},
        SemanticCase{R"("latencyMean": "0.010s")",
                     R"("latencyMean": "0.010s", "busyRate": 1.5)",
                     "providers[1].embedded_mock.busy_rate"},
        SemanticCase{R"({"version": 1, "file")", R"({"version": 0, "file")",
                     "ledger.subject_keys[0].version"},
        SemanticCase{R"("checkpointInterval": "30s")",
                     R"("checkpointInterval": "30s", "retention": "-1s")",
                     "ledger.retention: must be positive"},
        // A mirror's folder is named after the ledger.
        SemanticCase{R"("checkpointInterval": "30s")",
                     R"("checkpointInterval": "30s", "name": "../x")",
                     "ledger.name: must be 1 to 64 of"},
        SemanticCase{
            R"("adapter": {"@type": "type.googleapis.com/idgate.config.v1.BankAdapterConfig", "merchantId": "idgate-dev"},)",
            "", "providers[1].adapter: required"}));

}  // namespace
}  // namespace idgate
