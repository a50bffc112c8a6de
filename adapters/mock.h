#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/pii.h"
#include "grpcpp/grpcpp.h"
#include "idgate/config/v1/config.pb.h"

namespace idgate {

class IdentityBook;  // adapters/mock_support/identity_book.h

// What a mock received, so tests can compare it with the ledger.
struct MockStats {
  uint64_t requests = 0;
  uint64_t billed = 0;
  // Calls received and not finished yet (waiting out their latency, or hung).
  uint64_t in_flight = 0;
  // How many requests carried each (field, form), from the pii annotations.
  std::map<FieldForm, uint64_t> fields_received;
};

// Everything a mock needs; injected so tests are deterministic.
struct MockEnv {
  const IdentityBook* book = nullptr;
  ::idgate::config::v1::MockBehaviour behaviour;
  // PEM public key that verifies signed requests (CFCA, Alipay); empty for
  // providers that do not sign.
  std::string verify_public_key_pem;
  uint64_t seed = 1;
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

// A realistic simulator of one provider, served over gRPC (in-process for an
// embedded mock, or by idgate-mock-providers). Latency is simulated on a
// DelayQueue, never by sleeping a thread per call.
class MockProvider {
 public:
  virtual ~MockProvider() = default;
  virtual grpc::Service* service() = 0;
  virtual MockStats stats() const = 0;
};

class MockFactory {
 public:
  virtual ~MockFactory() = default;
  // Same key as the adapter: the full name of the adapter config message.
  virtual std::string config_type() const = 0;
  virtual std::unique_ptr<MockProvider> Create(const MockEnv& env) const = 0;
};

}  // namespace idgate
