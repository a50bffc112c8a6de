#pragma once

#include <memory>
#include <string>

#include "adapters/mock.h"
#include "adapters/typed_factory.h"
#include "idgate/config/v1/config.pb.h"

namespace idgate {
namespace cfca {

// A CFCA-like face comparison service answering from the identity book.
// In order: signature (refused with "4001" when missing or invalid; with no
// usable public key every request is refused), behaviour (busy → "3001"
// engine timeout or "3002" busy, daily limit → "4003"), request format
// ("4002"), then the authority's answer: unknown ID number or no ID photo →
// "2002", name differs → "2001", "#LIVENESS:FAIL" in image or video → "2004"
// (liveness is checked before comparing, as the engine refuses spoofs before
// matching), face digest differs → "2003" with a low similarity, else
// "2000" with a high one. Messages are fixed texts, never input values.
class CfcaMockFactory final
    : public TypedMockFactory<::idgate::config::v1::CfcaAdapterConfig> {
 public:
  std::unique_ptr<MockProvider> Create(const MockEnv& env) const override;
};

}  // namespace cfca
}  // namespace idgate
