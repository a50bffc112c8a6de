#pragma once

#include <map>
#include <set>
#include <string>

#include "adapters/subject.h"

namespace idgate {

// The normalized plain values of one request's personal fields.
using PersonalValues = std::map<PiiField, std::string>;

// Builds the only view of the person an adapter gets: the allowed pairs, in
// the allowed form (hashes computed here, so a hash-only provider never has
// the plain value within reach).
class SubjectMinimizer {
 public:
  static MinimizedSubject Build(const PersonalValues& values,
                                const std::set<FieldForm>& allowed);
};

}  // namespace idgate
