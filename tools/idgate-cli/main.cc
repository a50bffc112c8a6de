// idgate-cli: runs one Verify call and prints the response as JSON.
//
//   idgate-cli [options] verify carrier --name N --id-number ID --mobile M
//   idgate-cli [options] verify bank --name N --id-number ID --card C --mobile
//   M idgate-cli [options] verify face --name N --id-number ID --face-image
//   FILE
//                                    [--liveness-video FILE]
//
//   idgate-cli [options] health [--service NAME]
//     exits 0 only when grpc.health.v1 says SERVING (probes, helm test)
//
// Options: --target host:port (127.0.0.1:50051), --caller ID (development
// mode), --purpose P (esign.signer_identity), --request-id ID (random),
// --consent-id ID, --scopes identity,biometric,financial (what the check
// needs), --recipients a,b, --timeout-ms N (10000), --ca FILE --cert FILE
// --key FILE (mTLS), --authority NAME (TLS server name when the target is
// an address, e.g. a probe connecting to 127.0.0.1).
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
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

constexpr char kUsage[] =
    "usage: idgate-cli [--target host:port] [--caller ID] [--purpose P] "
    "verify carrier|bank|face --name N --id-number ID ...\n"
    "       idgate-cli [--target host:port] health [--service NAME]\n";

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

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt = {
      {"target", "127.0.0.1:50051"},
      {"caller", "esign-platform"},
      {"purpose", "esign.signer_identity"},
      {"timeout_ms", "10000"}};
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      positional.push_back(arg);
      continue;
    }
    std::string key = arg.substr(2), value;
    if (auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      std::fprintf(stderr, "--%s needs a value\n%s", key.c_str(), kUsage);
      return 2;
    }
    for (char& c : key) c = c == '-' ? '_' : c;
    opt[key] = value;
  }
  const bool health = positional.size() == 1 && positional[0] == "health";
  if (!health && (positional.size() != 2 || positional[0] != "verify")) {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }

  std::shared_ptr<grpc::ChannelCredentials> creds =
      grpc::InsecureChannelCredentials();
  if (opt.count("ca")) {
    grpc::SslCredentialsOptions ssl;
    if (!ReadFile(opt["ca"], &ssl.pem_root_certs) ||
        (opt.count("cert") && !ReadFile(opt["cert"], &ssl.pem_cert_chain)) ||
        (opt.count("key") && !ReadFile(opt["key"], &ssl.pem_private_key))) {
      std::fprintf(stderr, "--ca/--cert/--key: cannot read a file\n");
      return 2;
    }
    creds = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  if (opt.count("authority")) args.SetSslTargetNameOverride(opt["authority"]);
  auto channel = grpc::CreateCustomChannel(opt["target"], creds, args);
  int64_t timeout_ms = 0;
  if (!absl::SimpleAtoi(opt["timeout_ms"], &timeout_ms) || timeout_ms <= 0) {
    std::fprintf(stderr, "--timeout-ms: expected a positive number\n");
    return 2;
  }
  const auto deadline =
      std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms);

  if (health) {
    auto stub = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(deadline);
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(opt["service"]);
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = stub->Check(&context, request, &response);
    if (!status.ok()) {
      PrintError(status);
      return 1;
    }
    std::printf("%s\n",
                grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
                    response.status())
                    .c_str());
    return response.status() == grpc::health::v1::HealthCheckResponse::SERVING
               ? 0
               : 1;
  }
  const std::string check = positional[1];

  v1::VerifyRequest request;
  absl::BitGen gen;
  request.set_request_id(
      opt.count("request_id")
          ? opt["request_id"]
          : absl::StrCat("cli-", absl::Uniform<uint64_t>(gen)));
  request.set_purpose(opt["purpose"]);
  auto* consent = request.mutable_consent();
  consent->set_consent_id(
      opt.count("consent_id")
          ? opt["consent_id"]
          : absl::StrCat("cli-consent-", absl::Uniform<uint32_t>(gen)));
  *consent->mutable_granted_at() =
      google::protobuf::util::TimeUtil::GetCurrentTime();
  std::string scopes = opt.count("scopes") ? opt["scopes"]
                       : check == "bank"   ? "identity,financial"
                       : check == "face"   ? "identity,biometric"
                                           : "identity";
  for (absl::string_view s : absl::StrSplit(scopes, ',', absl::SkipEmpty())) {
    if (s == "identity")
      consent->add_scopes(v1::CONSENT_SCOPE_IDENTITY);
    else if (s == "biometric")
      consent->add_scopes(v1::CONSENT_SCOPE_BIOMETRIC);
    else if (s == "financial")
      consent->add_scopes(v1::CONSENT_SCOPE_FINANCIAL_ACCOUNT);
    else {
      std::fprintf(stderr, "--scopes: unknown scope\n");
      return 2;
    }
  }
  if (opt.count("recipients")) {
    for (absl::string_view r :
         absl::StrSplit(opt["recipients"], ',', absl::SkipEmpty())) {
      consent->add_recipients(std::string(r));
    }
  }

  if (check == "carrier") {
    auto* c = request.mutable_carrier_three_factor();
    c->set_name(opt["name"]);
    c->set_id_number(opt["id_number"]);
    c->set_mobile(opt["mobile"]);
  } else if (check == "bank") {
    auto* c = request.mutable_bank_four_factor();
    c->set_name(opt["name"]);
    c->set_id_number(opt["id_number"]);
    c->set_bank_card_number(opt["card"]);
    c->set_mobile(opt["mobile"]);
  } else if (check == "face") {
    auto* c = request.mutable_face_verification();
    c->set_name(opt["name"]);
    c->set_id_number(opt["id_number"]);
    std::string bytes;
    if (opt.count("face_image")) {
      if (!ReadFile(opt["face_image"], &bytes)) {
        std::fprintf(stderr, "--face-image: cannot read the file\n");
        return 2;
      }
      c->set_face_image(bytes);
    }
    if (opt.count("liveness_video")) {
      if (!ReadFile(opt["liveness_video"], &bytes)) {
        std::fprintf(stderr, "--liveness-video: cannot read the file\n");
        return 2;
      }
      c->set_liveness_video(bytes);
    }
  } else {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }

  auto stub = v1::VerificationService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(deadline);
  if (!opt["caller"].empty())
    context.AddMetadata("x-idgate-caller", opt["caller"]);
  v1::VerifyResponse response;
  grpc::Status status = stub->Verify(&context, request, &response);
  if (!status.ok()) {
    PrintError(status);
    return 1;
  }
  std::printf("%s", ToJson(response).c_str());
  return 0;
}
