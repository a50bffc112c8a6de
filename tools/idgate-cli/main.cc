// idgate-cli: runs one Verify call and prints the response as JSON, or asks
// grpc.health.v1 whether the gateway is serving.
//
//   idgate-cli [options] verify carrier --name N --id-number ID --mobile M
//   idgate-cli [options] verify bank --name N --id-number ID --card C
//                                    --mobile M
//   idgate-cli [options] verify face --name N --id-number ID --face-image F
//                                    [--liveness-video FILE]
//   idgate-cli [options] health [--service NAME]
//
// `idgate-cli --help` and `idgate-cli <command> --help` list every option
// with its meaning and default. The connection and request options are
// accepted before the command and after it (the Helm chart's probes put
// them after `health`). Exit status: 0 done (health: SERVING), 1 the call
// failed or the gateway is not serving, 2 a usage error (an unknown
// command or flag, a flag without its value, a file that cannot be read).
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "idgate/v1/verification.grpc.pb.h"

namespace {

namespace v1 = ::idgate::v1;

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;

// Every option; empty means "not given" where the option has no default.
struct Options {
  // Connection.
  std::string target = "127.0.0.1:50051";
  int64_t timeout_ms = 10000;
  std::string ca, cert, key, authority;
  // The request (verify).
  std::string caller = "esign-platform";
  std::string purpose = "esign.signer_identity";
  std::string request_id, consent_id, scopes, recipients;
  // The person (verify <check>).
  std::string name, id_number, mobile, card, face_image, liveness_video;
  // health.
  std::string service;
};

// The connection options, on every command that connects.
void AddConnectionOptions(CLI::App* app, Options* o) {
  constexpr char kGroup[] = "Connection";
  app->add_option("--target", o->target, "The gateway, host:port")
      ->group(kGroup);
  app->add_option("--timeout-ms", o->timeout_ms,
                  "Deadline of the call, in milliseconds")
      ->check(CLI::PositiveNumber)
      ->group(kGroup);
  app->add_option("--ca", o->ca,
                  "CA certificates (PEM) to trust; turns TLS on "
                  "(default: plaintext)")
      ->group(kGroup);
  app->add_option("--cert", o->cert,
                  "Client certificate (PEM) for mTLS; with --ca")
      ->group(kGroup);
  app->add_option("--key", o->key, "Private key (PEM) of --cert")
      ->group(kGroup);
  app->add_option("--authority", o->authority,
                  "TLS server name to expect (when --target is an address)")
      ->group(kGroup);
}

// What the request says besides the person, on verify and its checks.
void AddRequestOptions(CLI::App* app, Options* o) {
  constexpr char kGroup[] = "Request";
  app->add_option("--caller", o->caller,
                  "Caller id as x-idgate-caller metadata (development mode; "
                  "empty: none)")
      ->group(kGroup);
  app->add_option("--purpose", o->purpose, "Purpose of the check")
      ->group(kGroup);
  app->add_option("--request-id", o->request_id,
                  "Idempotency key (default: a random cli-<n>)")
      ->group(kGroup);
  app->add_option("--consent-id", o->consent_id,
                  "Id of the person's consent (default: a random "
                  "cli-consent-<n>)")
      ->group(kGroup);
  app->add_option("--scopes", o->scopes,
                  "Consented scopes: identity,biometric,financial (default: "
                  "what the check needs)")
      ->group(kGroup);
  app->add_option("--recipients", o->recipients,
                  "Consented recipients, comma-separated provider ids "
                  "(default: none)")
      ->group(kGroup);
}

CLI::Option* AddPersonOption(CLI::App* app, const std::string& name,
                             std::string* value, const std::string& meaning) {
  return app->add_option(name, *value, meaning)->group("Person");
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream s;
  s << in.rdbuf();
  *out = s.str();
  return true;
}

std::string ToJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.always_print_primitive_fields = true;
  o.preserve_proto_field_names = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

// Prints a failed call: code, message and the decoded details.
void PrintError(const grpc::Status& status) {
  std::fprintf(stderr, "error: %d %s\n", static_cast<int>(status.error_code()),
               status.error_message().c_str());
  google::rpc::Status details;
  if (status.error_details().empty() ||
      !details.ParseFromString(status.error_details()))
    return;
  for (const auto& any : details.details()) {
    v1::BadRequest bad;
    v1::ErrorReason reason;
    if (any.UnpackTo(&bad)) {
      std::fprintf(stderr, "%s", ToJson(bad).c_str());
    } else if (any.UnpackTo(&reason)) {
      std::fprintf(stderr, "%s", ToJson(reason).c_str());
    }
  }
}

int UsageError(const std::string& message, const std::string& command) {
  std::fprintf(stderr, "idgate-cli: %s\nRun '%s --help' for the options.\n",
               message.c_str(), command.c_str());
  return kUsage;
}

// The command line as far as it was parsed ("idgate-cli verify carrier"),
// for pointing at the right --help.
std::string ParsedCommand(const CLI::App& app) {
  std::string command = app.get_name();
  const CLI::App* at = &app;
  while (true) {
    const std::vector<CLI::App*> subs = at->get_subcommands();
    if (subs.empty()) return command;
    at = subs.front();
    absl::StrAppend(&command, " ", at->get_name());
  }
}

// "--caller=" means an empty value, as it did before this parser: CLI11
// would take the next argument as its value instead.
std::vector<std::string> ReversedArgs(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = argc - 1; i >= 1; --i) {
    std::string arg = argv[i];
    if (arg.size() > 3 && arg.rfind("--", 0) == 0 && arg.back() == '=' &&
        arg.find('=') == arg.size() - 1) {
      args.emplace_back();
      arg.pop_back();
    }
    args.push_back(std::move(arg));
  }
  return args;
}

std::shared_ptr<grpc::Channel> Connect(const Options& o, std::string* error) {
  std::shared_ptr<grpc::ChannelCredentials> creds =
      grpc::InsecureChannelCredentials();
  if (!o.ca.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!ReadFile(o.ca, &ssl.pem_root_certs) ||
        (!o.cert.empty() && !ReadFile(o.cert, &ssl.pem_cert_chain)) ||
        (!o.key.empty() && !ReadFile(o.key, &ssl.pem_private_key))) {
      *error = "--ca/--cert/--key: cannot read a file";
      return nullptr;
    }
    creds = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  if (!o.authority.empty()) args.SetSslTargetNameOverride(o.authority);
  return grpc::CreateCustomChannel(o.target, creds, args);
}

std::chrono::system_clock::time_point Deadline(const Options& o) {
  return std::chrono::system_clock::now() +
         std::chrono::milliseconds(o.timeout_ms);
}

int RunHealth(const Options& o) {
  std::string error;
  auto channel = Connect(o, &error);
  if (channel == nullptr) return UsageError(error, "idgate-cli health");
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(Deadline(o));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(o.service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    PrintError(status);
    return kFailed;
  }
  std::printf("%s\n", grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
                          response.status())
                          .c_str());
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING
             ? kOk
             : kFailed;
}

int RunVerify(const Options& o, const std::string& check) {
  const std::string command = "idgate-cli verify " + check;
  v1::VerifyRequest request;
  absl::BitGen gen;
  request.set_request_id(
      !o.request_id.empty()
          ? o.request_id
          : absl::StrCat("cli-", absl::Uniform<uint64_t>(gen)));
  request.set_purpose(o.purpose);
  auto* consent = request.mutable_consent();
  consent->set_consent_id(
      !o.consent_id.empty()
          ? o.consent_id
          : absl::StrCat("cli-consent-", absl::Uniform<uint32_t>(gen)));
  *consent->mutable_granted_at() =
      google::protobuf::util::TimeUtil::GetCurrentTime();
  const std::string scopes = !o.scopes.empty() ? o.scopes
                             : check == "bank" ? "identity,financial"
                             : check == "face" ? "identity,biometric"
                                               : "identity";
  for (absl::string_view s : absl::StrSplit(scopes, ',', absl::SkipEmpty())) {
    if (s == "identity") {
      consent->add_scopes(v1::CONSENT_SCOPE_IDENTITY);
    } else if (s == "biometric") {
      consent->add_scopes(v1::CONSENT_SCOPE_BIOMETRIC);
    } else if (s == "financial") {
      consent->add_scopes(v1::CONSENT_SCOPE_FINANCIAL_ACCOUNT);
    } else {
      return UsageError(absl::StrCat("--scopes: unknown scope \"", s,
                                     "\" (identity, biometric, financial)"),
                        command);
    }
  }
  for (absl::string_view r :
       absl::StrSplit(o.recipients, ',', absl::SkipEmpty())) {
    consent->add_recipients(std::string(r));
  }

  if (check == "carrier") {
    auto* c = request.mutable_carrier_three_factor();
    c->set_name(o.name);
    c->set_id_number(o.id_number);
    c->set_mobile(o.mobile);
  } else if (check == "bank") {
    auto* c = request.mutable_bank_four_factor();
    c->set_name(o.name);
    c->set_id_number(o.id_number);
    c->set_bank_card_number(o.card);
    c->set_mobile(o.mobile);
  } else {
    auto* c = request.mutable_face_verification();
    c->set_name(o.name);
    c->set_id_number(o.id_number);
    std::string bytes;
    if (!o.face_image.empty()) {
      if (!ReadFile(o.face_image, &bytes)) {
        return UsageError("--face-image: cannot read the file", command);
      }
      c->set_face_image(bytes);
    }
    if (!o.liveness_video.empty()) {
      if (!ReadFile(o.liveness_video, &bytes)) {
        return UsageError("--liveness-video: cannot read the file", command);
      }
      c->set_liveness_video(bytes);
    }
  }

  std::string error;
  auto channel = Connect(o, &error);
  if (channel == nullptr) return UsageError(error, command);
  auto stub = v1::VerificationService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(Deadline(o));
  if (!o.caller.empty()) context.AddMetadata("x-idgate-caller", o.caller);
  v1::VerifyResponse response;
  grpc::Status status = stub->Verify(&context, request, &response);
  if (!status.ok()) {
    PrintError(status);
    return kFailed;
  }
  std::printf("%s", ToJson(response).c_str());
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app(
      "Calls an idgate gateway: one identity check (verify), or its "
      "grpc.health.v1 status (health).",
      "idgate-cli");
  app.option_defaults()->always_capture_default();
  app.get_formatter()->column_width(38);
  app.footer(
      "Connection and request options may also follow the command.\n"
      "Exit status: 0 done (health: SERVING), 1 the call failed or the "
      "gateway is not serving, 2 usage error.");
  AddConnectionOptions(&app, &o);
  AddRequestOptions(&app, &o);

  CLI::App* verify = app.add_subcommand(
      "verify", "Runs one check and prints the response as JSON");
  AddConnectionOptions(verify, &o);
  AddRequestOptions(verify, &o);
  struct Check {
    const char* name;
    const char* meaning;
    CLI::App* app = nullptr;
  };
  Check checks[] = {
      {"carrier", "Carrier three-factor: name, ID number and mobile"},
      {"bank",
       "Bank four-factor: name, ID number, card and the mobile the "
       "bank holds"},
      {"face", "Face liveness and comparison with the ID photo"},
  };
  for (Check& check : checks) {
    check.app = verify->add_subcommand(check.name, check.meaning);
    AddConnectionOptions(check.app, &o);
    AddRequestOptions(check.app, &o);
    AddPersonOption(check.app, "--name", &o.name, "Name on the ID card");
    AddPersonOption(check.app, "--id-number", &o.id_number,
                    "Resident ID number (18 characters)");
    const std::string check_name = check.name;
    if (check_name == "carrier" || check_name == "bank") {
      if (check_name == "bank") {
        AddPersonOption(check.app, "--card", &o.card, "Bank card number");
      }
      AddPersonOption(check.app, "--mobile", &o.mobile,
                      check_name == "bank" ? "Mobile number the bank holds"
                                           : "Mobile number");
    } else {
      AddPersonOption(check.app, "--face-image", &o.face_image,
                      "File of the face image (JPEG or PNG)");
      AddPersonOption(check.app, "--liveness-video", &o.liveness_video,
                      "File of a liveness video (default: none)");
    }
  }

  CLI::App* health = app.add_subcommand(
      "health",
      "Asks grpc.health.v1 whether the gateway serves; exits 0 only when it "
      "says SERVING (probes, helm test)");
  AddConnectionOptions(health, &o);
  health->add_option("--service", o.service,
                     "Service to ask about (default: the whole server)");

  try {
    std::vector<std::string> args = ReversedArgs(argc, argv);
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app.exit(e);  // --help
    }
    return UsageError(e.what(), ParsedCommand(app));
  }

  if (health->parsed()) return RunHealth(o);
  if (verify->parsed()) {
    for (const Check& check : checks) {
      if (check.app->parsed()) return RunVerify(o, check.name);
    }
    return UsageError("verify: which check? carrier, bank or face",
                      "idgate-cli verify");
  }
  return UsageError("missing command: verify or health", "idgate-cli");
}
