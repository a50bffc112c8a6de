#include "core/pii.h"

#include "core/digest.h"

namespace idgate {

MinimizedSubject MinimizedSubject::Minimize(
    const PersonalValues& values, const std::set<FieldForm>& allowed) {
  MinimizedSubject subject;
  for (const auto& [field, form] : allowed) {
    auto it = values.find(field);
    if (it == values.end() || it->second.empty()) continue;
    switch (form) {
      case ::idgate::v1::PII_FORM_PLAIN:
        subject.values_[{field, form}] = it->second;
        break;
      case ::idgate::v1::PII_FORM_SHA256:
        subject.values_[{field, form}] = Sha256Hex(it->second);
        break;
      case ::idgate::v1::PII_FORM_SM3:
        subject.values_[{field, form}] = Sm3Hex(it->second);
        break;
      default:
        break;  // An unspecified form grants nothing.
    }
  }
  return subject;
}

}  // namespace idgate
