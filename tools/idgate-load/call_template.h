#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace idgate::load {

// The per-call values ghz exposes to templates ({{.RequestNumber}} etc.).
struct CallVars {
  int64_t request_number = 0;
  std::string worker_id;
  absl::Time now;
  // One UUIDv4 per call ({{.UUID}}); made on first use.
  std::string uuid;
};

// Static values of the method (ghz's FullyQualifiedName, MethodName, ...).
struct MethodVars {
  std::string fully_qualified_name = "idgate.v1.VerificationService.Verify";
  std::string method_name = "Verify";
  std::string service_name = "VerificationService";
  std::string input_name = "VerifyRequest";
  std::string output_name = "VerifyResponse";
};

// A subset of ghz's Go text/template call data: the text between "{{" and
// "}}" must be one of
//   .RequestNumber .WorkerID .UUID .Timestamp .TimestampUnix
//   .TimestampUnixMilli .TimestampUnixNano .FullyQualifiedName .MethodName
//   .ServiceName .InputName .OutputName .IsClientStreaming .IsServerStreaming
//   newUUID   randomString N   randomInt MIN MAX
// (spaces inside the braces are allowed). Anything else is refused when the
// config is read; ghz would instead send the text unexpanded.
class CallTemplate {
 public:
  static absl::StatusOr<CallTemplate> Parse(absl::string_view text);

  bool constant() const {
    return parts_.size() <= 1 && (parts_.empty() || parts_[0].kind == kLiteral);
  }
  std::string Render(CallVars& call, const MethodVars& method) const;

  // All supported actions, for error messages and --help.
  static const char* SupportedActions();

 private:
  enum Kind {
    kLiteral,
    kRequestNumber,
    kWorkerId,
    kUuid,
    kTimestamp,
    kTimestampUnix,
    kTimestampUnixMilli,
    kTimestampUnixNano,
    kFullyQualifiedName,
    kMethodName,
    kServiceName,
    kInputName,
    kOutputName,
    kIsClientStreaming,
    kIsServerStreaming,
    kNewUuid,
    kRandomString,
    kRandomInt,
  };
  struct Part {
    Kind kind = kLiteral;
    std::string text;
    int64_t a = 0, b = 0;
  };
  std::vector<Part> parts_;
};

// A random (version 4) UUID in its 36-character text form.
std::string NewUuid();

}  // namespace idgate::load
