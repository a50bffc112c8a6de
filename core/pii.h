#pragma once

// The personal-data vocabulary the whole tree shares: which field of a
// person (PiiField), in which form (PiiForm: plain, SHA-256, SM3), and the
// minimized subject, the only view of a person an adapter ever gets.

#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "idgate/v1/pii.pb.h"

namespace idgate {

using PiiField = ::idgate::v1::PiiField;
using PiiForm = ::idgate::v1::PiiForm;
using FieldForm = std::pair<PiiField, PiiForm>;

// The normalized plain values of one request's personal fields.
using PersonalValues = std::map<PiiField, std::string>;

// The fields the disclosure policy allows one provider for one purpose,
// already in the allowed form: a SHA-256 policy means the plain value is
// simply not in here. Read-only once built.
class MinimizedSubject {
 public:
  MinimizedSubject() = default;

  // The allowed pairs of `values`, hashes computed here. The server builds
  // every subject it hands an adapter this way.
  static MinimizedSubject Minimize(const PersonalValues& values,
                                   const std::set<FieldForm>& allowed);

  // Tests of adapters build subjects directly.
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
  std::map<FieldForm, std::string> values_;
};

}  // namespace idgate
