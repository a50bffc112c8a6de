#include "tools/idgate-load/request_factory.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"
#include "google/protobuf/util/json_util.h"

namespace idgate::load {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Value;

struct Found {
  std::vector<std::string> path;
  std::string text;
};

void CollectTemplated(const Value& v, std::vector<std::string>& path,
                      std::vector<Found>& out) {
  switch (v.kind_case()) {
    case Value::kStringValue:
      if (absl::StrContains(v.string_value(), "{{"))
        out.push_back({path, v.string_value()});
      break;
    case Value::kStructValue:
      for (const auto& [k, child] : v.struct_value().fields()) {
        path.push_back(k);
        CollectTemplated(child, path, out);
        path.pop_back();
      }
      break;
    case Value::kListValue:
      for (int i = 0; i < v.list_value().values_size(); ++i) {
        path.push_back(absl::StrCat("#", i));
        CollectTemplated(v.list_value().values(i), path, out);
        path.pop_back();
      }
      break;
    default:
      break;
  }
}

Value* At(Value& root, const std::vector<std::string>& path) {
  Value* v = &root;
  for (const std::string& step : path) {
    if (step[0] == '#') {
      v = v->mutable_list_value()->mutable_values(std::stoi(step.substr(1)));
    } else {
      v = &(*v->mutable_struct_value()->mutable_fields())[step];
    }
  }
  return v;
}

const FieldDescriptor* FieldByJsonKey(const Descriptor* d,
                                      const std::string& key) {
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->name() == key || f->json_name() == key) return f;
  }
  return nullptr;
}

// The chain of singular fields from VerifyRequest to a singular string
// field, or empty when the value needs the general path.
std::vector<const FieldDescriptor*> StringFieldChain(
    const std::vector<std::string>& path) {
  std::vector<const FieldDescriptor*> chain;
  const Descriptor* d = ::idgate::v1::VerifyRequest::descriptor();
  for (size_t i = 0; i < path.size(); ++i) {
    if (d == nullptr || path[i][0] == '#') return {};
    const FieldDescriptor* f = FieldByJsonKey(d, path[i]);
    if (f == nullptr || f->is_repeated()) return {};
    const bool last = i + 1 == path.size();
    if (last) {
      if (f->type() != FieldDescriptor::TYPE_STRING) return {};
    } else {
      // Well-known types have their own JSON forms.
      if (f->type() != FieldDescriptor::TYPE_MESSAGE ||
          absl::StartsWith(f->message_type()->full_name(),
                           "google.protobuf.")) {
        return {};
      }
      d = f->message_type();
    }
    chain.push_back(f);
  }
  return chain;
}

absl::Status ParseRequest(const Value& data, ::idgate::v1::VerifyRequest* out) {
  std::string json;
  if (auto st = google::protobuf::util::MessageToJsonString(data, &json);
      !st.ok()) {
    return absl::InternalError(std::string(st.message()));
  }
  out->Clear();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (auto st = google::protobuf::util::JsonStringToMessage(json, out, options);
      !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "data is not an idgate.v1.VerifyRequest: ", std::string(st.message())));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<RequestFactory>> RequestFactory::Create(
    const Value& data, MethodVars method) {
  std::unique_ptr<RequestFactory> f(new RequestFactory());
  f->method_ = std::move(method);
  if (data.kind_case() == Value::kListValue) {
    for (int i = 0; i < data.list_value().values_size(); ++i) {
      auto e = f->Compile(data.list_value().values(i));
      if (!e.ok()) {
        return absl::Status(
            e.status().code(),
            absl::StrCat("data[", i, "]: ", e.status().message()));
      }
      f->elements_.push_back(std::move(*e));
    }
  } else {
    auto e = f->Compile(data);
    if (!e.ok()) return Prefixed("data", e.status());
    f->elements_.push_back(std::move(*e));
  }
  if (f->elements_.empty()) return absl::InvalidArgumentError("data: empty");
  return f;
}

absl::StatusOr<RequestFactory::Element> RequestFactory::Compile(
    const Value& element) const {
  Element e;
  e.data = element;
  std::vector<Found> found;
  std::vector<std::string> path;
  CollectTemplated(element, path, found);
  Value blanked = element;
  for (Found& f : found) {
    auto t = CallTemplate::Parse(f.text);
    if (!t.ok())
      return absl::InvalidArgumentError(
          absl::StrCat(absl::StrJoin(f.path, "."), ": ", t.status().message()));
    Leaf leaf{f.path, std::move(*t), StringFieldChain(f.path)};
    if (leaf.fields.empty()) e.fast = false;
    At(blanked, f.path)->set_string_value("");
    e.leaves.push_back(std::move(leaf));
  }
  if (e.fast) {
    if (auto st = ParseRequest(blanked, &e.base); !st.ok()) return st;
  }
  // Render one call now so a template that yields bad JSON for its field
  // (say, a timestamp) fails before any traffic.
  CallVars probe{0, "w0", absl::Now(), ""};
  ::idgate::v1::VerifyRequest sample;
  if (auto st = BuildElement(e, probe, &sample); !st.ok()) return st;
  return e;
}

absl::Status RequestFactory::BuildElement(
    const Element& e, CallVars& vars, ::idgate::v1::VerifyRequest* out) const {
  if (e.fast) {
    out->CopyFrom(e.base);
    for (const Leaf& leaf : e.leaves) {
      google::protobuf::Message* m = out;
      for (size_t i = 0; i + 1 < leaf.fields.size(); ++i) {
        m = m->GetReflection()->MutableMessage(m, leaf.fields[i]);
      }
      m->GetReflection()->SetString(m, leaf.fields.back(),
                                    leaf.tmpl.Render(vars, method_));
    }
    return absl::OkStatus();
  }
  Value data = e.data;
  for (const Leaf& leaf : e.leaves)
    At(data, leaf.json_path)->set_string_value(leaf.tmpl.Render(vars, method_));
  return ParseRequest(data, out);
}

absl::Status RequestFactory::Build(CallVars& vars,
                                   ::idgate::v1::VerifyRequest* out) const {
  const Element& e =
      elements_[static_cast<uint64_t>(vars.request_number) % elements_.size()];
  return BuildElement(e, vars, out);
}

bool RequestFactory::fast() const {
  for (const auto& e : elements_) {
    if (!e.fast) return false;
  }
  return true;
}

}  // namespace idgate::load
