#pragma once

#include <memory>
#include <string>

#include "adapters/mock.h"
#include "adapters/typed_factory.h"
#include "idgate/config/v1/config.pb.h"

namespace idgate {

// The bank four-factor mock: answers idgate.provider.v1.BankService from
// the identity book's cards and their states, validating formats and billing
// like a card issuer (see bank.proto).
std::unique_ptr<MockProvider> MakeBankMock(const MockEnv& env);

class BankMockFactory final
    : public TypedMockFactory<::idgate::config::v1::BankAdapterConfig> {
 public:
  std::unique_ptr<MockProvider> Create(const MockEnv& env) const override;
};

}  // namespace idgate
