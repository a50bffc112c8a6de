#pragma once

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "adapters/mock.h"
#include "adapters/typed_factory.h"
#include "idgate/config/v1/config.pb.h"

namespace idgate {

// The carrier three-factor mock: answers idgate.provider.v1.CarrierService
// from the identity book's mobiles, in plain or hashed mode, validating
// formats and billing like the real service (see carrier.proto).
std::unique_ptr<MockProvider> MakeCarrierMock(const MockEnv& env);

class CarrierMockFactory final
    : public TypedMockFactory<::idgate::config::v1::CarrierAdapterConfig> {
 public:
  std::unique_ptr<MockProvider> Create(const MockEnv& env) const override;
};

// Number segments the mock does not cover, like real three-factor services
// that cannot query satellite numbers: 1349x (CMCC satellite) and 174x
// (Tiantong satellite and emergency numbers).
bool CarrierSegmentUnsupported(absl::string_view mobile);

}  // namespace idgate
