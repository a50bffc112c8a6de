#pragma once

#include <memory>
#include <string>

#include "adapters/mock.h"
#include "adapters/typed_factory.h"
#include "idgate/config/v1/config.pb.h"

namespace idgate {
namespace alipay {

// An Alipay-like face certification gateway answering from the identity
// book. In order: signature (missing → "40001" isv.missing-signature,
// invalid → "40002" isv.invalid-signature; with no usable public key every
// request is refused), behaviour (busy → "20000", daily limit → "40004"
// TOO_MANY_ATTEMPTS_TODAY), parameters ("40001" isv.missing-parameter /
// "40002" isv.invalid-parameter), then "10000" with passed "T", or "F" and
// a sub-code: unknown ID number or no ID photo → NO_RECORD, name differs →
// NAME_ID_MISMATCH, "#LIVENESS:FAIL" in the image → LIVENESS_RISK (checked
// before comparing), face digest differs → FACE_MISMATCH with a low score.
// Messages are fixed texts, never input values.
class AlipayMockFactory final
    : public TypedMockFactory<::idgate::config::v1::AlipayAdapterConfig> {
 public:
  std::unique_ptr<MockProvider> Create(const MockEnv& env) const override;
};

}  // namespace alipay
}  // namespace idgate
