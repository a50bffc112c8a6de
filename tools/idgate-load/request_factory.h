#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"
#include "idgate/v1/verification.pb.h"
#include "tools/idgate-load/call_template.h"

namespace idgate::load {

// Builds the VerifyRequest of each call from ghz's `data` (proto3 JSON, an
// object or an array of objects used round robin) after template
// substitution. Bytes fields are base64, as in any proto3 JSON.
//
// Parsing JSON per call would cost the load generator more CPU than the
// server spends on some calls, and both share this machine's cores. So
// each element is parsed once; when every templated value lands in a
// singular string field (request_id, consent_id, ...), a call copies that
// message and sets those fields. Any other templated value (a number, a
// timestamp, bytes, a repeated field) takes the general path: substitute,
// then parse the JSON of that call.
class RequestFactory {
 public:
  static absl::StatusOr<std::unique_ptr<RequestFactory>> Create(
      const google::protobuf::Value& data, MethodVars method = {});

  // Thread-safe.
  absl::Status Build(CallVars& vars, ::idgate::v1::VerifyRequest* out) const;

  // True when no element needs a JSON parse per call.
  bool fast() const;

 private:
  struct Leaf {
    std::vector<std::string> json_path;  // object keys; "#N" for array index N
    CallTemplate tmpl;
    // Fast path: the field chain from VerifyRequest to the string field.
    std::vector<const google::protobuf::FieldDescriptor*> fields;
  };
  struct Element {
    google::protobuf::Value data;      // the original tree (general path)
    ::idgate::v1::VerifyRequest base;  // templated strings empty (fast path)
    std::vector<Leaf> leaves;
    bool fast = true;
  };

  RequestFactory() = default;
  absl::StatusOr<Element> Compile(const google::protobuf::Value& element) const;
  absl::Status BuildElement(const Element& e, CallVars& vars,
                            ::idgate::v1::VerifyRequest* out) const;

  MethodVars method_;
  std::vector<Element> elements_;
};

}  // namespace idgate::load
