#pragma once

#include <memory>
#include <vector>

#include "adapters/adapter.h"
#include "adapters/mock.h"

namespace idgate {

// A built-in provider kind: its adapter and the mock that simulates it.
struct ProviderKind {
  std::unique_ptr<AdapterFactory> adapter;
  std::unique_ptr<MockFactory> mock;
};

// Every built-in provider kind. Explicit on purpose: static self-registration
// is silently dropped when linking static libraries. A new provider is one
// folder plus one line here.
std::vector<ProviderKind> BuiltinProviderKinds();

}  // namespace idgate
