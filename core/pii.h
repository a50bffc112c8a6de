#pragma once

#include <map>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "idgate/v1/pii.pb.h"

namespace idgate {

using PiiField = ::idgate::v1::PiiField;
using PiiForm = ::idgate::v1::PiiForm;
using FieldForm = std::pair<PiiField, PiiForm>;

// The only view of a person an adapter ever gets: the fields the disclosure
// policy allows this provider for this purpose, already in the allowed form
// (a SHA-256 policy means the plain value is simply not in here). Built by
// the server's SubjectMinimizer; read-only for adapters.
class MinimizedSubject {
 public:
  MinimizedSubject() = default;

  // Tests of adapters build subjects directly; the server only ever uses
  // SubjectMinimizer, which applies the policy.
  static MinimizedSubject ForTesting(std::map<FieldForm, std::string> values) {
    MinimizedSubject subject;
    subject.values_ = std::move(values);
    return subject;
  }

  // The value of `field` in `form`, or nullopt when it was not granted.
  absl::optional<absl::string_view> Get(PiiField field, PiiForm form) const {
    auto it = values_.find({field, form});
    if (it == values_.end()) return absl::nullopt;
    return absl::string_view(it->second);
  }

  const std::map<FieldForm, std::string>& values() const { return values_; }

 private:
  friend class SubjectMinimizer;
  std::map<FieldForm, std::string> values_;
};

}  // namespace idgate
