#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/pii.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace idgate {

// The personal content of one outgoing provider message, found by walking it
// with protobuf reflection (nested messages, repeated fields and maps).
struct PiiFieldsFound {
  // Every (field, form) pair whose annotated field is set.
  std::set<FieldForm> pairs;
  // Full names of string/bytes fields that are set but carry no pii
  // classification at all: the egress guard refuses these.
  std::vector<std::string> unclassified;
};

// Walks `message` and collects the set (field, form) pairs.
PiiFieldsFound CollectPiiFields(const google::protobuf::Message& message);

// Full names of every string/bytes field reachable from `descriptor` that
// carries no pii classification. A provider protocol must return none.
std::vector<std::string> UnclassifiedFields(
    const google::protobuf::Descriptor* descriptor);

}  // namespace idgate
