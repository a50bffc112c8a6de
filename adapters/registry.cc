#include "adapters/registry.h"

#include "adapters/alipay/alipay_adapter.h"
#include "adapters/alipay/alipay_mock.h"
#include "adapters/bank/bank_adapter.h"
#include "adapters/bank/bank_mock.h"
#include "adapters/carrier/carrier_adapter.h"
#include "adapters/carrier/carrier_mock.h"
#include "adapters/cfca/cfca_adapter.h"
#include "adapters/cfca/cfca_mock.h"

namespace idgate {
namespace {

template <typename AdapterFactoryT, typename MockFactoryT>
ProviderKind Kind() {
  return ProviderKind{std::make_unique<AdapterFactoryT>(),
                      std::make_unique<MockFactoryT>()};
}

}  // namespace

std::vector<ProviderKind> BuiltinProviderKinds() {
  std::vector<ProviderKind> kinds;
  kinds.push_back(Kind<CarrierAdapterFactory, CarrierMockFactory>());
  kinds.push_back(Kind<BankAdapterFactory, BankMockFactory>());
  kinds.push_back(Kind<cfca::CfcaAdapterFactory, cfca::CfcaMockFactory>());
  kinds.push_back(
      Kind<alipay::AlipayAdapterFactory, alipay::AlipayMockFactory>());
  return kinds;
}

}  // namespace idgate
