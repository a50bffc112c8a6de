#include "server/policy/egress_guard.h"

#include "absl/strings/str_cat.h"
#include "core/pii_fields.h"

namespace idgate {

absl::StatusOr<std::set<FieldForm>> InspectEgress(
    const google::protobuf::Message& request,
    const std::set<FieldForm>& allowed, absl::string_view provider) {
  PiiFieldsFound found = CollectPiiFields(request);
  if (!found.unclassified.empty()) {
    return absl::InternalError(absl::StrCat(
        "egress guard: request to ", provider, " sets unclassified field ",
        found.unclassified.front(), "; nothing sent"));
  }
  for (const FieldForm& pair : found.pairs) {
    if (!allowed.count(pair)) {
      return absl::InternalError(
          absl::StrCat("egress guard: request to ", provider, " carries ",
                       ::idgate::v1::PiiField_Name(pair.first), "/",
                       ::idgate::v1::PiiForm_Name(pair.second),
                       ", which the policy does not allow; nothing sent"));
    }
  }
  return std::move(found.pairs);
}

}  // namespace idgate
