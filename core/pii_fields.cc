#include "core/pii_fields.h"

#include "idgate/v1/pii.pb.h"

namespace idgate {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool IsText(const FieldDescriptor* field) {
  return field->type() == FieldDescriptor::TYPE_STRING ||
         field->type() == FieldDescriptor::TYPE_BYTES;
}

// Records what one set field discloses.
void Classify(const FieldDescriptor* field, PiiFieldsFound& found) {
  const auto& options = field->options();
  if (!options.HasExtension(::idgate::v1::pii)) {
    found.unclassified.push_back(field->full_name());
    return;
  }
  const auto& pii = options.GetExtension(::idgate::v1::pii);
  if (pii.has_personal()) {
    found.pairs.insert({pii.personal().field(), pii.personal().form()});
  } else if (!pii.not_personal()) {
    // `not_personal: false` classifies nothing.
    found.unclassified.push_back(field->full_name());
  }
}

void Walk(const Message& message, PiiFieldsFound& found) {
  const Reflection& reflection = *message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  // ListFields returns exactly the fields that go on the wire: present
  // ones, non-empty repeated ones and proto3 implicit-presence ones that
  // differ from their default (an empty string is not listed, so no value
  // needs reading, let alone copying as GetString would).
  reflection.ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (IsText(field)) {
      Classify(field, found);
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      // Maps are repeated entry messages with key and value fields.
      if (field->is_repeated()) {
        for (int i = 0; i < reflection.FieldSize(message, field); ++i) {
          Walk(reflection.GetRepeatedMessage(message, field, i), found);
        }
      } else {
        Walk(reflection.GetMessage(message, field), found);
      }
    }
  }
  // Unknown fields could smuggle bytes past the classification.
  if (!reflection.GetUnknownFields(message).empty()) {
    found.unclassified.push_back(message.GetDescriptor()->full_name() +
                                 ".<unknown fields>");
  }
}

void WalkDescriptor(const Descriptor* descriptor,
                    std::set<const Descriptor*>& seen,
                    std::vector<std::string>& out) {
  if (!seen.insert(descriptor).second) return;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (IsText(field)) {
      const auto& options = field->options();
      const bool classified =
          options.HasExtension(::idgate::v1::pii) &&
          (options.GetExtension(::idgate::v1::pii).has_personal() ||
           options.GetExtension(::idgate::v1::pii).not_personal());
      if (!classified) out.push_back(field->full_name());
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      WalkDescriptor(field->message_type(), seen, out);
    }
  }
}

}  // namespace

PiiFieldsFound CollectPiiFields(const Message& message) {
  PiiFieldsFound found;
  Walk(message, found);
  return found;
}

std::vector<std::string> UnclassifiedFields(const Descriptor* descriptor) {
  std::set<const Descriptor*> seen;
  std::vector<std::string> out;
  WalkDescriptor(descriptor, seen, out);
  return out;
}

}  // namespace idgate
