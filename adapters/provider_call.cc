#include "adapters/provider_call.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace idgate {

ProviderCallQueue::ProviderCallQueue() {
  const unsigned threads =
      std::clamp(std::thread::hardware_concurrency() / 2, 2u, 16u);
  for (unsigned i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      void* tag = nullptr;
      bool ok = false;
      while (cq_.Next(&tag, &ok)) static_cast<Tag*>(tag)->Complete(ok);
    });
  }
}

ProviderCallQueue::~ProviderCallQueue() {
  // Next returns false only once every call on the queue has ended.
  cq_.Shutdown();
  for (std::thread& thread : threads_) thread.join();
}

ProviderOutcome TransportFailure(absl::string_view provider_kind,
                                 const grpc::Status& status) {
  ProviderOutcome outcome;
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      outcome.status = absl::UnavailableError(
          absl::StrCat(provider_kind, ": provider unavailable"));
      outcome.retryable = true;
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      outcome.status = absl::DeadlineExceededError(
          absl::StrCat(provider_kind, ": provider did not answer in time"));
      outcome.retryable = true;
      break;
    case grpc::StatusCode::CANCELLED:
      outcome.status =
          absl::CancelledError(absl::StrCat(provider_kind, ": call cancelled"));
      break;
    default:
      outcome.status = absl::InternalError(
          absl::StrCat(provider_kind, ": transport error ",
                       static_cast<int>(status.error_code())));
      break;
  }
  return outcome;
}

bool NeverReachedTransport(const grpc::Status& status, absl::string_view peer) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE ||
      !absl::StartsWith(status.error_message(),
                        "failed to connect to all addresses")) {
    return false;
  }
  // A transport sets the call's peer to its endpoint (chttp2: "ipv4:...",
  // "ipv6:...", "unix:..."); a call that never had one reports the target.
  for (absl::string_view scheme :
       {"ipv4:", "ipv6:", "unix:", "unix-abstract:"}) {
    if (absl::StartsWith(peer, scheme)) return false;
  }
  return true;
}

absl::StatusOr<std::vector<absl::string_view>> RequiredValues(
    const MinimizedSubject& subject, const std::vector<FieldForm>& required,
    absl::string_view provider_kind) {
  std::vector<absl::string_view> values;
  values.reserve(required.size());
  for (const auto& [field, form] : required) {
    auto value = subject.Get(field, form);
    if (!value.has_value() || value->empty()) {
      return absl::InternalError(absl::StrCat(
          provider_kind, ": subject lacks ", ::idgate::v1::PiiField_Name(field),
          " in ", ::idgate::v1::PiiForm_Name(form)));
    }
    values.push_back(*value);
  }
  return values;
}

}  // namespace idgate
