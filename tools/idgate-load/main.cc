// idgate-load: a gRPC load generator for idgate that reads ghz config files.
//
//   idgate-load --config=loadtest/carrier.json [overrides]
//   [--expect-verdict=VERDICT_MATCH]
//
// Overrides (ghz's flags, same meaning): --host, --call, --protoset,
// -c/--concurrency, -n/--total, -z/--duration, -x/--max-duration, -r/--rps,
// --connections, -t/--timeout, --connect-timeout, --duration-stop, --skipFirst,
// -O/--format, -o/--output,
// --name, --insecure; a bare argument is the host, as in ghz.
//
//   idgate-load --config=FILE --write-h2load-body=OUT [--request-number=N]
//     writes request N as a gRPC frame (5-byte prefix + message) for h2load -d.
//
// Exit status: 0 when every counted call returned OK (and the expected
// verdict), 1 when any failed, 2 on a usage or config error.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "tools/idgate-load/load_config.h"
#include "tools/idgate-load/report.h"
#include "tools/idgate-load/request_factory.h"
#include "tools/idgate-load/runner.h"

namespace {

using idgate::load::LoadConfig;
namespace v1 = ::idgate::v1;

constexpr char kUsage[] =
    "usage: idgate-load --config=FILE [--host=H:P] [-c N] [-n N] [-z 10s] [-x "
    "10s] [-r RPS]\n"
    "                   [--connections=N] [-t 20s] [--connect-timeout=10s] "
    "[--duration-stop=close|ignore|wait]\n"
    "                   [--skipFirst=N] [-O summary|json|pretty] [-o FILE] "
    "[--name=S] [--insecure]\n"
    "                   [--protoset=FILE] [--expect-verdict=VERDICT_MATCH]\n"
    "       idgate-load --config=FILE --write-h2load-body=OUT "
    "[--request-number=N]\n";

int Fail(const std::string& message) {
  std::fprintf(stderr, "idgate-load: %s\n", message.c_str());
  return 2;
}

// A message's fields and nested types, without json_name (which protoc
// writes into descriptor sets but not into generated code).
std::string Shape(const google::protobuf::Descriptor* d) {
  google::protobuf::DescriptorProto p;
  d->CopyTo(&p);
  std::vector<google::protobuf::DescriptorProto*> todo = {&p};
  while (!todo.empty()) {
    auto* m = todo.back();
    todo.pop_back();
    for (auto& f : *m->mutable_field()) f.clear_json_name();
    for (auto& n : *m->mutable_nested_type()) todo.push_back(&n);
  }
  return p.SerializeAsString();
}

// The protoset must declare the call with the request and response types
// compiled into idgate-load, or ghz and idgate-load would disagree.
absl::Status CheckProtoset(const LoadConfig& c) {
  std::ifstream in(c.protoset, std::ios::binary);
  google::protobuf::FileDescriptorSet set;
  if (!in || !set.ParseFromIstream(&in)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "protoset ", c.protoset, ": cannot read a FileDescriptorSet"));
  }
  google::protobuf::DescriptorPool pool;
  for (const auto& file : set.file()) {
    if (pool.BuildFile(file) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("protoset ", c.protoset, ": cannot load ", file.name(),
                       " (built without --include_imports?)"));
    }
  }
  const auto* method =
      pool.FindMethodByName(absl::StrReplaceAll(c.call, {{"/", "."}}));
  if (method == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("protoset ", c.protoset, " does not declare ", c.call));
  }
  if (method->input_type()->full_name() !=
          v1::VerifyRequest::descriptor()->full_name() ||
      method->output_type()->full_name() !=
          v1::VerifyResponse::descriptor()->full_name()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "protoset ", c.protoset, ": ", c.call, " has other types"));
  }
  if (Shape(method->input_type()) != Shape(v1::VerifyRequest::descriptor())) {
    std::fprintf(stderr,
                 "idgate-load: warning: %s declares another VerifyRequest than "
                 "this binary "
                 "(rebuild one of them)\n",
                 c.protoset.c_str());
  }
  return absl::OkStatus();
}

bool ParseVerdict(std::string text, int* out) {
  if (text.rfind("VERDICT_", 0) != 0) text = "VERDICT_" + text;
  v1::Verdict v;
  if (!v1::Verdict_Parse(text, &v)) return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  // gRPC's locks are absl::Mutex, and Debian's absl (built without NDEBUG)
  // checks every acquisition for lock-order cycles under one global lock:
  // CPU the load generator would take from the server it measures.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::map<std::string, std::string> opt;
  std::string positional_host;
  static const std::map<std::string, std::string> kShort = {
      {"c", "concurrency"},  {"n", "total"}, {"z", "duration"},
      {"x", "max-duration"}, {"r", "rps"},   {"t", "timeout"},
      {"O", "format"},       {"o", "output"}};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::printf("%s\nSupported config keys: %s\nTemplates: %s\n", kUsage,
                  idgate::load::SupportedKeys(),
                  idgate::load::CallTemplate::SupportedActions());
      return 0;
    }
    if (arg.empty() || arg[0] != '-') {
      positional_host = arg;
      continue;
    }
    std::string key = arg.substr(arg.rfind("--", 0) == 0 ? 2 : 1), value;
    if (auto it = kShort.find(key); it != kShort.end()) key = it->second;
    if (auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
      if (auto it = kShort.find(key); it != kShort.end()) key = it->second;
    } else if (key == "insecure") {
      value = "true";
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return Fail(absl::StrCat("--", key, " needs a value\n", kUsage));
    }
    opt[key] = value;
  }
  static const std::set<std::string> kFlags = {
      "config",        "host",        "call",           "protoset",
      "concurrency",   "total",       "duration",       "max-duration",
      "rps",           "connections", "timeout",        "connect-timeout",
      "duration-stop", "skipFirst",   "format",         "output",
      "name",          "insecure",    "expect-verdict", "write-h2load-body",
      "request-number"};
  for (const auto& [key, value] : opt) {
    if (!kFlags.count(key))
      return Fail(absl::StrCat("unknown flag --", key, "\n", kUsage));
  }
  if (!opt.count("config"))
    return Fail(absl::StrCat("--config is required\n", kUsage));
  auto loaded = idgate::load::LoadConfigFile(opt["config"]);
  if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
  LoadConfig config = std::move(*loaded);

  // Command-line overrides.
  auto count = [&](const char* key, auto* field) -> bool {
    if (!opt.count(key)) return true;
    uint64_t n;
    if (!absl::SimpleAtoi(opt[key], &n)) return false;
    *field = static_cast<std::remove_pointer_t<decltype(field)>>(n);
    return true;
  };
  auto duration = [&](const char* key, absl::Duration* field) -> bool {
    if (!opt.count(key)) return true;
    auto d = idgate::load::ParseGoDuration(opt[key]);
    if (!d.ok()) return false;
    *field = *d;
    return true;
  };
  if (!positional_host.empty()) config.host = positional_host;
  if (opt.count("host")) config.host = opt["host"];
  if (opt.count("call")) config.call = opt["call"];
  if (opt.count("protoset")) config.protoset = opt["protoset"];
  if (opt.count("format")) config.format = opt["format"];
  if (opt.count("output")) config.output = opt["output"];
  if (opt.count("name")) config.name = opt["name"];
  if (opt.count("duration-stop")) config.duration_stop = opt["duration-stop"];
  if (opt.count("insecure")) config.insecure = opt["insecure"] != "false";
  uint64_t rps = static_cast<uint64_t>(config.rps);
  if (!count("total", &config.total) ||
      !count("concurrency", &config.concurrency) ||
      !count("connections", &config.connections) ||
      !count("skipFirst", &config.skip_first) || !count("rps", &rps)) {
    return Fail(
        "a count flag (-n, -c, --connections, --skipFirst, -r) is not a "
        "non-negative integer");
  }
  config.rps = static_cast<double>(rps);
  if (!duration("duration", &config.duration) ||
      !duration("max-duration", &config.max_duration) ||
      !duration("timeout", &config.timeout) ||
      !duration("connect-timeout", &config.connect_timeout)) {
    return Fail("a duration flag (-z, -x, -t) is not a duration such as 10s");
  }
  if (auto st = idgate::load::ValidateLoadConfig(config); !st.ok())
    return Fail(std::string(st.message()));
  if (!config.protoset.empty()) {
    if (auto st = CheckProtoset(config); !st.ok())
      return Fail(std::string(st.message()));
  }
  for (const auto& [key, value] : config.metadata) {
    if (auto t = idgate::load::CallTemplate::Parse(value); !t.ok()) {
      return Fail(absl::StrCat("metadata ", key, ": ", t.status().message()));
    }
  }
  int expect_verdict = -1;
  if (opt.count("expect-verdict") &&
      !ParseVerdict(opt["expect-verdict"], &expect_verdict)) {
    return Fail("--expect-verdict: not a Verdict name such as VERDICT_MATCH");
  }
  auto factory = idgate::load::RequestFactory::Create(config.data);
  if (!factory.ok()) return Fail(std::string(factory.status().message()));

  if (opt.count("write-h2load-body")) {
    uint64_t number = 0;
    if (!count("request-number", &number))
      return Fail("--request-number: not a number");
    idgate::load::CallVars vars{static_cast<int64_t>(number), "w0", absl::Now(),
                                ""};
    v1::VerifyRequest request;
    if (auto st = (*factory)->Build(vars, &request); !st.ok())
      return Fail(std::string(st.message()));
    const std::string message = request.SerializeAsString();
    std::string frame(5, '\0');  // gRPC length-prefixed message: uncompressed
    const uint32_t n = static_cast<uint32_t>(message.size());
    frame[1] = static_cast<char>(n >> 24);
    frame[2] = static_cast<char>(n >> 16);
    frame[3] = static_cast<char>(n >> 8);
    frame[4] = static_cast<char>(n);
    frame += message;
    std::ofstream out(opt["write-h2load-body"], std::ios::binary);
    if (!out.write(frame.data(), static_cast<std::streamsize>(frame.size()))) {
      return Fail("--write-h2load-body: cannot write");
    }
    std::fprintf(stderr,
                 "idgate-load: wrote request %lu (request_id %s), %zu bytes\n",
                 static_cast<unsigned long>(number),
                 request.request_id().c_str(), frame.size());
    return 0;
  }

  idgate::load::Runner runner(config, **factory, expect_verdict);
  if (auto st = runner.Connect(); !st.ok())
    return Fail(std::string(st.message()));
  const idgate::load::RunResult result = runner.Run();

  const std::string report =
      config.format == "summary"
          ? idgate::load::SummaryReport(config, result)
          : idgate::load::JsonReport(config, result, config.format == "pretty");
  if (config.output.empty()) {
    std::fwrite(report.data(), 1, report.size(), stdout);
  } else {
    std::ofstream out(config.output, std::ios::binary);
    if (!out.write(report.data(),
                   static_cast<std::streamsize>(report.size()))) {
      return Fail(absl::StrCat("cannot write ", config.output));
    }
  }
  std::fflush(stdout);
  const int status =
      result.count > 0 && result.failures() == 0 && result.unfinished == 0 ? 0
                                                                           : 1;
  // Calls that never ended still reference the runner: do not destroy it.
  if (result.unfinished > 0) std::_Exit(status);
  return status;
}
