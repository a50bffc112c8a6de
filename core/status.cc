#include "core/status.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "idgate/v1/verification.pb.h"

namespace idgate {

absl::Status WithReason(absl::Status status, absl::string_view reason) {
  ::idgate::v1::ErrorReason detail;
  detail.set_reason(std::string(reason));
  status.SetPayload(kErrorReasonTypeUrl,
                    absl::Cord(detail.SerializeAsString()));
  return status;
}

std::string ReasonOf(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorReasonTypeUrl);
  ::idgate::v1::ErrorReason detail;
  if (!payload.has_value() || !detail.ParseFromString(std::string(*payload))) {
    return "";
  }
  return detail.reason();
}

absl::Status Prefixed(absl::string_view prefix, const absl::Status& status) {
  if (status.ok()) return status;
  absl::Status out(status.code(), absl::StrCat(prefix, ": ", status.message()));
  status.ForEachPayload(
      [&out](absl::string_view type_url, const absl::Cord& payload) {
        out.SetPayload(type_url, payload);
      });
  return out;
}

}  // namespace idgate
