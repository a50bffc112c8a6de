#pragma once

#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/pii.h"
#include "google/protobuf/message.h"

namespace idgate {

// The last check before a request leaves: walks the outgoing provider
// message and returns the (field, form) pairs it really carries. Fails with
// INTERNAL, and nothing may be sent, when it carries a pair outside `allowed`
// or a set field with no pii classification. The ledger records the
// returned set, so it states what was sent, not what the code meant to send.
absl::StatusOr<std::set<FieldForm>> InspectEgress(
    const google::protobuf::Message& request,
    const std::set<FieldForm>& allowed, absl::string_view provider);

}  // namespace idgate
