#include "tests/integration/harness.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "server/ledger/segment_format.h"

namespace idgate::testing {

namespace v1 = ::idgate::v1;

TestPerson AdultMatch() {
  return {"测试甲", "110101199003070134", "13800000001", "6222020000000000018"};
}
TestPerson Minor() {
  return {"郑小测", "370102201205201010", "13600000010", "6222020000000000109"};
}
TestPerson CardLost() {
  return {"钱测试", "510104197911030570", "13900000005", "6217000000000000053"};
}
TestPerson LivenessFail() {
  return {"吴测试", "32010219910909093X", "15800000009", "6217000000000000095"};
}

std::string ReadTestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string NextRequestId() {
  static std::atomic<int> next{0};
  return absl::StrCat("test-", getpid(), "-", next.fetch_add(1));
}

std::vector<LedgerRecord> ReadLedger(const std::string& dir) {
  std::vector<std::string> segments;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (ParseSegmentFileName(entry.path().filename().string()))
      segments.push_back(entry.path());
  }
  std::sort(segments.begin(), segments.end());
  std::vector<LedgerRecord> records;
  for (const auto& path : segments) {
    const std::string bytes = ReadTestFile(path);
    for (const auto& frame : ScanFrames(bytes).frames) {
      auto record = DecodeRecord(frame.payload);
      if (record.ok()) records.push_back(std::move(*record));
    }
  }
  return records;
}

std::string ReadAllFiles(const std::string& dir) {
  std::string all;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) all += ReadTestFile(entry.path());
  }
  return all;
}

namespace {

v1::VerifyRequest Base(const std::string& request_id) {
  v1::VerifyRequest r;
  r.set_request_id(request_id);
  r.set_purpose("esign.signer_identity");
  auto* consent = r.mutable_consent();
  consent->set_consent_id("consent-" + request_id);
  *consent->mutable_granted_at() =
      google::protobuf::util::TimeUtil::GetCurrentTime();
  *consent->mutable_granted_at() -=
      google::protobuf::util::TimeUtil::SecondsToDuration(60);
  consent->add_scopes(v1::CONSENT_SCOPE_IDENTITY);
  return r;
}

}  // namespace

v1::VerifyRequest CarrierRequest(const TestPerson& p,
                                 const std::string& request_id) {
  v1::VerifyRequest r = Base(request_id);
  auto* c = r.mutable_carrier_three_factor();
  c->set_name(p.name);
  c->set_id_number(p.id_number);
  c->set_mobile(p.mobile);
  return r;
}

v1::VerifyRequest BankRequest(const TestPerson& p,
                              const std::string& request_id) {
  v1::VerifyRequest r = Base(request_id);
  r.mutable_consent()->add_scopes(v1::CONSENT_SCOPE_FINANCIAL_ACCOUNT);
  auto* c = r.mutable_bank_four_factor();
  c->set_name(p.name);
  c->set_id_number(p.id_number);
  c->set_bank_card_number(p.card);
  c->set_mobile(p.mobile);
  return r;
}

v1::VerifyRequest FaceRequest(const TestPerson& p,
                              const std::string& face_image,
                              const std::string& request_id) {
  v1::VerifyRequest r = Base(request_id);
  r.mutable_consent()->add_scopes(v1::CONSENT_SCOPE_BIOMETRIC);
  auto* c = r.mutable_face_verification();
  c->set_name(p.name);
  c->set_id_number(p.id_number);
  c->set_face_image(face_image);
  return r;
}

GatewayHarness::GatewayHarness(ConfigEdit edit, std::shared_ptr<Ledger> ledger,
                               bool serve_metrics)
    : log_(LogLevel::kDebug, [this](const std::string& line) {
        absl::MutexLock lock(&mu_);
        logs_ += line;
      }) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "idgate-test-XXXXXX").string();
  state_dir_ = mkdtemp(tmpl.data());
  auto config = LoadConfigFile("config/dev.json");
  if (!config.ok()) {
    start_status_ = config.status();
    return;
  }
  if (edit) edit(config->config);
  AppOptions options;
  options.listen_address = "127.0.0.1:0";
  options.metrics_listen_address = "127.0.0.1:0";
  options.serve_metrics = serve_metrics;
  options.state_dir = state_dir_;
  options.ledger = std::move(ledger);
  options.log = &log_;
  app_ = GatewayApp::Start(std::move(*config), std::move(options));
  start_status_ = app_.status();
  if (app_.ok()) {
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*app_)->port()),
                                   grpc::InsecureChannelCredentials());
  }
}

GatewayHarness::~GatewayHarness() {
  Stop(absl::ZeroDuration());
  std::error_code ignored;
  std::filesystem::remove_all(state_dir_, ignored);
}

void GatewayHarness::Stop(absl::Duration drain) {
  if (app_.ok() && *app_ != nullptr) (*app_)->Shutdown(drain);
}

grpc::Status GatewayHarness::Verify(const v1::VerifyRequest& request,
                                    v1::VerifyResponse* response,
                                    const std::string& caller,
                                    absl::Duration timeout) {
  auto stub = v1::VerificationService::NewStub(channel_);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  if (!caller.empty()) context.AddMetadata("x-idgate-caller", caller);
  return stub->Verify(&context, request, response);
}

std::string GatewayHarness::logs() const {
  absl::MutexLock lock(&mu_);
  return logs_;
}

}  // namespace idgate::testing
