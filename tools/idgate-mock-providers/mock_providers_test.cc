#include "tools/idgate-mock-providers/mock_providers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "idgate/provider/v1/bank.grpc.pb.h"
#include "idgate/provider/v1/carrier.grpc.pb.h"

namespace idgate {
namespace {

using ::testing::HasSubstr;

const std::string kConfigDir = IDGATE_SOURCE_DIR "/config";

grpc::ByteBuffer Bytes(const std::string& data) {
  grpc::Slice slice(data);
  return grpc::ByteBuffer(&slice, 1);
}

std::string String(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string out;
  for (const auto& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

// grpc.health.v1.Health/Check for the whole server, by hand-encoded bytes
// (the health protos are not installed): "\x08\x01" is status SERVING.
std::string HealthCheck(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  const grpc::ByteBuffer request = Bytes("");
  grpc::ByteBuffer response;
  absl::Notification done;
  grpc::Status result;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response, [&](grpc::Status status) {
                   result = status;
                   done.Notify();
                 });
  done.WaitForNotification();
  return result.ok() ? String(response) : "error";
}

// One ServerReflectionInfo exchange asking list_services (field 7).
std::string ListServices(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  auto call = stub.PrepareCall(
      &context,
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok;
  auto step = [&](int expected) {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(tag, reinterpret_cast<void*>(expected));
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  if (!step(1)) return "";
  call->Write(Bytes(std::string("\x3a\x00", 2)), reinterpret_cast<void*>(2));
  if (!step(2)) return "";
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  const bool read = step(3);
  call->WritesDone(reinterpret_cast<void*>(4));
  step(4);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  cq.Shutdown();
  return read ? String(response) : "";
}

class MockProvidersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  }
};

TEST(ProviderKindNameTest, ShortNames) {
  EXPECT_EQ(ProviderKindName("idgate.config.v1.CarrierAdapterConfig"),
            "carrier");
  EXPECT_EQ(ProviderKindName("idgate.config.v1.AlipayAdapterConfig"), "alipay");
  EXPECT_EQ(ProviderKindName("Bank"), "bank");
}

TEST_F(MockProvidersTest, ExampleConfigServesEveryKindOverTcp) {
  auto config = LoadMockServerConfig(kConfigDir + "/mock-providers.json");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->listen_address().empty());
  EXPECT_TRUE(config->behaviours().count("carrier"));
  // Answers below must not depend on random faults.
  config->clear_behaviours();
  auto providers = StartMockProviders(*config, kConfigDir, "127.0.0.1:0");
  ASSERT_TRUE(providers.ok()) << providers.status();
  ASSERT_GT((*providers)->host->port(), 0);
  EXPECT_THAT((*providers)->kinds,
              ::testing::IsSupersetOf({"carrier", "bank"}));

  auto channel = grpc::CreateChannel(
      "127.0.0.1:" + std::to_string((*providers)->host->port()),
      grpc::InsecureChannelCredentials());
  EXPECT_EQ(HealthCheck(channel), "\x08\x01");
  const std::string services = ListServices(channel);
  EXPECT_THAT(services, HasSubstr("idgate.provider.v1.CarrierService"));
  EXPECT_THAT(services, HasSubstr("idgate.provider.v1.BankService"));
  EXPECT_THAT(services, HasSubstr("grpc.health.v1.Health"));

  const auto* adult = (*providers)->book->FindByLabel("adult-match");
  ASSERT_NE(adult, nullptr);
  {
    auto stub = ::idgate::provider::v1::CarrierService::NewStub(channel);
    ::idgate::provider::v1::CheckThreeFactorRequest request;
    request.set_app_id("a");
    request.set_order_no("o");
    request.set_hash_mode(::idgate::provider::v1::CARRIER_HASH_MODE_PLAIN);
    request.set_name(adult->name());
    request.set_id_number(adult->id_number());
    request.set_mobile(adult->mobiles(0).number());
    ::idgate::provider::v1::CheckThreeFactorResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub->CheckThreeFactor(&context, request, &response).ok());
    EXPECT_EQ(response.code(), "0");
  }
  {
    auto stub = ::idgate::provider::v1::BankService::NewStub(channel);
    ::idgate::provider::v1::CheckFourFactorRequest request;
    request.set_merchant_id("m");
    request.set_order_no("o");
    request.set_cert_type(::idgate::provider::v1::BANK_CERT_TYPE_RESIDENT_ID);
    request.set_name(adult->name());
    request.set_id_number(adult->id_number());
    request.set_card_number(adult->cards(0).number());
    request.set_mobile(adult->cards(0).reserved_mobile());
    ::idgate::provider::v1::CheckFourFactorResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub->CheckFourFactor(&context, request, &response).ok());
    EXPECT_EQ(response.resp_code(), "0000");
  }
  EXPECT_EQ((*providers)->host->mock(0).stats().requests +
                (*providers)->host->mock(1).stats().requests,
            2u);
}

TEST_F(MockProvidersTest, ConfigErrorsNameTheField) {
  ::idgate::mock::v1::MockServerConfig config;
  config.set_identity_book_file("testdata/identities.json");
  (*config.mutable_behaviours())["carier"].set_hang(true);
  auto typo = StartMockProviders(config, kConfigDir, "127.0.0.1:0");
  EXPECT_EQ(typo.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(typo.status().message()),
              HasSubstr("behaviours[carier]"));

  config.clear_behaviours();
  config.set_identity_book_file("testdata/missing.json");
  auto missing = StartMockProviders(config, kConfigDir, "127.0.0.1:0");
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("identity_book_file"));

  config.set_identity_book_file("testdata/identities.json");
  (*config.mutable_verify_public_key_files())["bank"] = "nope.pem";
  auto key = StartMockProviders(config, kConfigDir, "127.0.0.1:0");
  EXPECT_THAT(std::string(key.status().message()),
              HasSubstr("verify_public_key_files[bank]"));

  EXPECT_FALSE(StartMockProviders(config, kConfigDir, "").ok());
}

TEST(LoadMockServerConfigTest, RejectsUnknownFields) {
  const std::string path = ::testing::TempDir() + "/mock-config.json";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(R"({"listenAddress": "x:1", "listen_port": 5})", f);
  std::fclose(f);
  EXPECT_EQ(LoadMockServerConfig(path).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadMockServerConfig(path + ".none").status().code(),
            absl::StatusCode::kNotFound);
}

// The real binary: starts from the example config, answers health, and
// exits 0 soon after SIGTERM.
TEST(MockProvidersBinaryTest, ServesAndShutsDownOnSigterm) {
  int err[2];
  ASSERT_EQ(pipe(err), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(err[1], 2);
    close(err[0]);
    const std::string config =
        "--config=" + kConfigDir + "/mock-providers.json";
    execl(IDGATE_MOCK_PROVIDERS_BIN, IDGATE_MOCK_PROVIDERS_BIN, config.c_str(),
          "--listen=127.0.0.1:0", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(err[1]);
  FILE* in = fdopen(err[0], "r");
  char line[512] = {0};
  int port = 0;
  while (port == 0 && std::fgets(line, sizeof(line), in) != nullptr) {
    if (const char* p = std::strstr(line, "on port ")) port = std::atoi(p + 8);
  }
  ASSERT_GT(port, 0) << "no port announced; last line: " << line;
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                     grpc::InsecureChannelCredentials());
  EXPECT_EQ(HealthCheck(channel), "\x08\x01");

  // `channel` stays open and idle, and a second connection speaks HTTP/2
  // but never reads. They used to hold the drain until their client
  // answered the GOAWAY's PING: an idle gRPC client within 5 s (when its
  // backup poller runs), this one never, so the whole --drain_seconds.
  const int silent = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(silent, reinterpret_cast<const sockaddr*>(&address),
                    sizeof(address)),
            0);
  // The client preface and an empty SETTINGS frame.
  const std::string preface = std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") +
                              std::string("\0\0\0\x04\0\0\0\0\0", 9);
  ASSERT_EQ(write(silent, preface.data(), preface.size()),
            static_cast<ssize_t>(preface.size()));
  absl::SleepFor(absl::Milliseconds(100));

  const absl::Time start = absl::Now();
  kill(pid, SIGTERM);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0 &&
         absl::Now() - start < absl::Seconds(20)) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const absl::Duration took = absl::Now() - start;
  std::string rest;
  while (std::fgets(line, sizeof(line), in) != nullptr) rest += line;
  std::fclose(in);
  ASSERT_TRUE(WIFEXITED(status)) << "did not exit after SIGTERM";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  close(silent);
  EXPECT_LT(took, absl::Seconds(3)) << rest;  // --drain_seconds is 5
  EXPECT_NE(rest.find("drained"), std::string::npos) << rest;
  EXPECT_NE(rest.find("stopped"), std::string::npos) << rest;
}

}  // namespace
}  // namespace idgate
