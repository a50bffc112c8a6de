#include "adapters/registry.h"

#include <set>

#include "gtest/gtest.h"

namespace idgate {
namespace {

TEST(RegistryTest, ListsEachKindOnceWithAMatchingMock) {
  const std::vector<ProviderKind> kinds = BuiltinProviderKinds();
  std::set<std::string> types;
  for (const ProviderKind& kind : kinds) {
    ASSERT_NE(kind.adapter, nullptr);
    ASSERT_NE(kind.mock, nullptr);
    EXPECT_EQ(kind.adapter->config_type(), kind.mock->config_type());
    EXPECT_TRUE(types.insert(kind.adapter->config_type()).second)
        << kind.adapter->config_type();
    auto mock = kind.mock->Create(MockEnv());
    ASSERT_NE(mock, nullptr);
    EXPECT_NE(mock->service(), nullptr);
    EXPECT_EQ(mock->stats().requests, 0u);
  }
  EXPECT_TRUE(types.count("idgate.config.v1.CarrierAdapterConfig"));
  EXPECT_TRUE(types.count("idgate.config.v1.BankAdapterConfig"));
  EXPECT_TRUE(types.count("idgate.config.v1.CfcaAdapterConfig"));
  EXPECT_TRUE(types.count("idgate.config.v1.AlipayAdapterConfig"));
}

}  // namespace
}  // namespace idgate
