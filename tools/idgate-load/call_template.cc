#include "tools/idgate-load/call_template.h"

#include <vector>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace idgate::load {
namespace {

absl::BitGen& Gen() {
  thread_local absl::BitGen gen;
  return gen;
}

constexpr char kCharset[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

}  // namespace

std::string NewUuid() {
  uint8_t b[16];
  const uint64_t hi = absl::Uniform<uint64_t>(Gen()),
                 lo = absl::Uniform<uint64_t>(Gen());
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<uint8_t>(hi >> (8 * i));
    b[8 + i] = static_cast<uint8_t>(lo >> (8 * i));
  }
  b[6] = (b[6] & 0x0f) | 0x40;  // version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant
  return absl::StrFormat(
      "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
      b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
      b[12], b[13], b[14], b[15]);
}

const char* CallTemplate::SupportedActions() {
  return ".RequestNumber .WorkerID .UUID .Timestamp .TimestampUnix "
         ".TimestampUnixMilli "
         ".TimestampUnixNano .FullyQualifiedName .MethodName .ServiceName "
         ".InputName "
         ".OutputName .IsClientStreaming .IsServerStreaming newUUID "
         "\"randomString N\" "
         "\"randomInt MIN MAX\"";
}

absl::StatusOr<CallTemplate> CallTemplate::Parse(absl::string_view text) {
  CallTemplate t;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == absl::string_view::npos) {
      t.parts_.push_back({kLiteral, std::string(text.substr(pos))});
      break;
    }
    if (open > pos)
      t.parts_.push_back({kLiteral, std::string(text.substr(pos, open - pos))});
    const size_t close = text.find("}}", open + 2);
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("template \"", text, "\": \"{{\" without \"}}\""));
    }
    absl::string_view action =
        absl::StripAsciiWhitespace(text.substr(open + 2, close - open - 2));
    std::vector<absl::string_view> words =
        absl::StrSplit(action, ' ', absl::SkipWhitespace());
    Part part;
    static const std::pair<const char*, Kind> kFields[] = {
        {".RequestNumber", kRequestNumber},
        {".WorkerID", kWorkerId},
        {".UUID", kUuid},
        {".Timestamp", kTimestamp},
        {".TimestampUnix", kTimestampUnix},
        {".TimestampUnixMilli", kTimestampUnixMilli},
        {".TimestampUnixNano", kTimestampUnixNano},
        {".FullyQualifiedName", kFullyQualifiedName},
        {".MethodName", kMethodName},
        {".ServiceName", kServiceName},
        {".InputName", kInputName},
        {".OutputName", kOutputName},
        {".IsClientStreaming", kIsClientStreaming},
        {".IsServerStreaming", kIsServerStreaming},
        {"newUUID", kNewUuid},
    };
    bool known = false;
    if (words.size() == 1) {
      for (const auto& [name, kind] : kFields) {
        if (words[0] == name) {
          part.kind = kind;
          known = true;
        }
      }
    } else if (words.size() == 2 && words[0] == "randomString" &&
               absl::SimpleAtoi(words[1], &part.a)) {
      part.kind = kRandomString;
      known = part.a <= 4096;
    } else if (words.size() == 3 && words[0] == "randomInt" &&
               absl::SimpleAtoi(words[1], &part.a) &&
               absl::SimpleAtoi(words[2], &part.b)) {
      part.kind = kRandomInt;
      known = part.a < part.b;
    }
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          "template action \"{{", action,
          "}}\" is not supported; idgate-load supports ", SupportedActions()));
    }
    t.parts_.push_back(std::move(part));
    pos = close + 2;
  }
  return t;
}

std::string CallTemplate::Render(CallVars& call,
                                 const MethodVars& method) const {
  std::string out;
  for (const Part& p : parts_) {
    switch (p.kind) {
      case kLiteral:
        out += p.text;
        break;
      case kRequestNumber:
        absl::StrAppend(&out, call.request_number);
        break;
      case kWorkerId:
        out += call.worker_id;
        break;
      case kUuid:
        if (call.uuid.empty()) call.uuid = NewUuid();
        out += call.uuid;
        break;
      case kTimestamp:
        out +=
            absl::FormatTime(absl::RFC3339_sec, call.now, absl::UTCTimeZone());
        break;
      case kTimestampUnix:
        absl::StrAppend(&out, absl::ToUnixSeconds(call.now));
        break;
      case kTimestampUnixMilli:
        absl::StrAppend(&out, absl::ToUnixMillis(call.now));
        break;
      case kTimestampUnixNano:
        absl::StrAppend(&out, absl::ToUnixNanos(call.now));
        break;
      case kFullyQualifiedName:
        out += method.fully_qualified_name;
        break;
      case kMethodName:
        out += method.method_name;
        break;
      case kServiceName:
        out += method.service_name;
        break;
      case kInputName:
        out += method.input_name;
        break;
      case kOutputName:
        out += method.output_name;
        break;
      case kIsClientStreaming:
      case kIsServerStreaming:
        out += "false";
        break;
      case kNewUuid:
        out += NewUuid();
        break;
      case kRandomString: {
        // ghz: a length <= 0 means a random length of 2 to 16.
        const int64_t n = p.a > 0 ? p.a
                                  : absl::Uniform<int64_t>(absl::IntervalClosed,
                                                           Gen(), 2, 16);
        for (int64_t i = 0; i < n; ++i) {
          out += kCharset[absl::Uniform<size_t>(Gen(), 0, sizeof kCharset - 1)];
        }
        break;
      }
      case kRandomInt:
        absl::StrAppend(&out, absl::Uniform<int64_t>(Gen(), p.a, p.b));
        break;
    }
  }
  return out;
}

}  // namespace idgate::load
