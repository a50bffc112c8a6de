// Server certificates renewed without a restart (issue 25, item 5), through
// the real server: the gateway reads tls.* from a directory laid out as the
// kubelet lays out a mounted Secret (tls.crt -> ..data/tls.crt, ..data ->
// a generation directory, replaced by one rename), and every check makes a
// new TLS handshake and looks at the certificate the server presented.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "app/server_tls.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace idgate::testing {
namespace {

namespace cfg = ::idgate::config::v1;
using ::testing::HasSubstr;

// `d` stretched by $IDGATE_TIME_SCALE (the sanitizer builds set it).
absl::Duration Scaled(absl::Duration d) {
  const char* scale = std::getenv("IDGATE_TIME_SCALE");
  return scale == nullptr ? d : d * std::max(1.0, std::atof(scale));
}

// Each generation's files in a new directory, then ..data swapped to it by
// rename: readers see the old generation or the new one, as with the
// kubelet's atomic writer.
class SecretVolume {
 public:
  explicit SecretVolume(std::string dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
  }

  void Publish(const std::map<std::string, std::string>& files) {
    const std::string generation = absl::StrCat("..gen-", ++generations_);
    std::filesystem::create_directory(dir_ + "/" + generation);
    for (const auto& [name, content] : files) {
      std::ofstream(dir_ + "/" + generation + "/" + name, std::ios::binary)
          << content;
    }
    const std::string link = dir_ + "/..data_tmp";
    std::filesystem::remove(link);
    std::filesystem::create_directory_symlink(generation, link);
    std::filesystem::rename(link, dir_ + "/..data");
    for (const auto& [name, content] : files) {
      const std::string path = dir_ + "/" + name;
      if (!std::filesystem::is_symlink(path)) {
        std::filesystem::create_symlink("..data/" + name, path);
      }
    }
  }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
  int generations_ = 0;
};

// Two unrelated sets of scripts/dev-certs.sh certificates, each with its own
// CA: the gateway starts on "old" and is renewed to "new".
class TlsReload : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string((std::filesystem::temp_directory_path() /
                            absl::StrCat("idgate-tls-reload-", getpid()))
                               .string());
    for (const char* set : {"old", "new"}) {
      ASSERT_EQ(std::system(absl::StrCat("scripts/dev-certs.sh ", *dir_, "/",
                                         set, " esign-platform >/dev/null")
                                .c_str()),
                0);
    }
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  static std::string Cert(const std::string& set, const std::string& file) {
    return ReadTestFile(*dir_ + "/" + set + "/" + file);
  }

  // The Secret of a set: server certificate, its key, the client CA.
  static std::map<std::string, std::string> Secret(const std::string& set) {
    return {{"tls.crt", Cert(set, "server.pem")},
            {"tls.key", Cert(set, "server.key")},
            {"ca.crt", Cert(set, "ca.pem")}};
  }

  void StartGateway(const std::map<std::string, std::string>& secret,
                    bool mutual = true) {
    volume_ = std::make_unique<SecretVolume>(
        absl::StrCat(*dir_, "/volume-", ++volumes_));
    volume_->Publish(secret);
    SecretVolume* volume = volume_.get();
    gw_ = std::make_unique<GatewayHarness>(
        [volume, mutual](cfg::GatewayConfig& c) {
          c.mutable_tls()->set_cert_file(volume->path("tls.crt"));
          c.mutable_tls()->set_key_file(volume->path("tls.key"));
          if (mutual)
            c.mutable_tls()->set_client_ca_file(volume->path("ca.crt"));
        });
    ASSERT_TRUE(gw_->start_status().ok()) << gw_->start_status();
  }

  struct Handshake {
    grpc::Status status;
    std::string server_cert;  // PEM, as the client received it
  };

  // A health check over a new connection (a channel of its own, not shared
  // with earlier ones), trusting only `trust_set`'s CA and presenting the
  // client certificate of `client_set` (none when empty).
  Handshake Connect(const std::string& trust_set,
                    const std::string& client_set = "") {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = Cert(trust_set, "ca.pem");
    if (!client_set.empty()) {
      ssl.pem_cert_chain = Cert(client_set, "caller-esign-platform.pem");
      ssl.pem_private_key = Cert(client_set, "caller-esign-platform.key");
    }
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel =
        grpc::CreateCustomChannel(absl::StrCat("localhost:", gw_->app().port()),
                                  grpc::SslCredentials(ssl), args);
    auto stub = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    Handshake out;
    out.status = stub->Check(&context, request, &response);
    if (auto auth = context.auth_context(); auth != nullptr) {
      for (const auto& value : auth->FindPropertyValues("x509_pem_cert")) {
        out.server_cert.assign(value.data(), value.size());
      }
    }
    return out;
  }

  // Whether `pem` is the server certificate of `set` (PEM text compared
  // without line breaks).
  static bool IsServerCert(const std::string& pem, const std::string& set) {
    const auto bare = [](std::string s) {
      s.erase(std::remove_if(s.begin(), s.end(),
                             [](unsigned char c) { return std::isspace(c); }),
              s.end());
      return s;
    };
    return !pem.empty() && bare(pem) == bare(Cert(set, "server.pem"));
  }

  // Connects until the server presents `set`'s certificate; how long that
  // took, or nullopt after `limit`.
  std::optional<absl::Duration> WaitForServerCert(const std::string& set,
                                                  absl::Duration limit) {
    const absl::Time start = absl::Now();
    while (absl::Now() - start < limit) {
      Handshake h = Connect(set, set);
      if (h.status.ok() && IsServerCert(h.server_cert, set)) {
        return absl::Now() - start;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    return std::nullopt;
  }

  void ExpectStillServesOld() {
    Handshake h = Connect("old", "old");
    EXPECT_TRUE(h.status.ok()) << h.status.error_message();
    EXPECT_TRUE(IsServerCert(h.server_cert, "old"));
    EXPECT_FALSE(Connect("new", "new").status.ok());
  }

  // Waits (at most 15 s) until the log says `text`, then long enough for
  // gRPC's provider, which looks every kRefreshInterval, to have loaded
  // whatever it was going to load.
  void WaitForLogThenSettle(const std::string& text) {
    const absl::Time start = absl::Now();
    while (!absl::StrContains(gw_->logs(), text) &&
           absl::Now() - start < Scaled(absl::Seconds(15))) {
      absl::SleepFor(absl::Milliseconds(100));
    }
    EXPECT_THAT(gw_->logs(), HasSubstr(text));
    absl::SleepFor(2 * ServerTls::kRefreshInterval + absl::Milliseconds(500));
  }

  static std::string* dir_;
  static int volumes_;
  std::unique_ptr<SecretVolume> volume_;
  std::unique_ptr<GatewayHarness> gw_;
};
std::string* TlsReload::dir_ = nullptr;
int TlsReload::volumes_ = 0;

TEST_F(TlsReload, RenewedCertificateIsServedWithoutRestart) {
  StartGateway(Secret("old"));
  Handshake before = Connect("old", "old");
  ASSERT_TRUE(before.status.ok()) << before.status.error_message();
  ASSERT_TRUE(IsServerCert(before.server_cert, "old"));

  volume_->Publish(Secret("new"));
  // Two refresh intervals at most (the watcher's, then gRPC's provider's);
  // the limit leaves room for a loaded machine.
  std::optional<absl::Duration> took =
      WaitForServerCert("new", Scaled(absl::Seconds(15)));
  ASSERT_TRUE(took.has_value()) << "the new certificate was not served\n"
                                << gw_->logs();
  RecordProperty("seconds_to_serve_renewal",
                 absl::StrCat(absl::ToDoubleSeconds(*took)));
  EXPECT_LT(*took, 2 * ServerTls::kRefreshInterval + Scaled(absl::Seconds(3)));
  // The client CA was renewed with it: a client certificate of the old CA
  // is refused now, and a client that trusts only the old CA too.
  EXPECT_FALSE(Connect("new", "old").status.ok());
  EXPECT_FALSE(Connect("old", "old").status.ok());
  EXPECT_THAT(gw_->logs(), HasSubstr("\"event\":\"tls_reloaded\""));
}

TEST_F(TlsReload, HalfWrittenOrMismatchedFilesAreNeverLoaded) {
  StartGateway(Secret("old"));
  ASSERT_TRUE(Connect("old", "old").status.ok());

  // The new certificate cut short, as a copy caught half-way would be.
  std::map<std::string, std::string> truncated = Secret("old");
  const std::string new_cert = Cert("new", "server.pem");
  truncated["tls.crt"] = new_cert.substr(0, new_cert.size() / 2);
  truncated["tls.key"] = Cert("new", "server.key");
  volume_->Publish(truncated);
  WaitForLogThenSettle("tls.cert_file: a PEM certificate does not parse");
  ExpectStillServesOld();

  // A whole certificate with the key of another one (the key file renewed
  // before the certificate).
  std::map<std::string, std::string> mismatched = Secret("old");
  mismatched["tls.crt"] = new_cert;
  volume_->Publish(mismatched);
  WaitForLogThenSettle("tls.key_file: not the key of the certificate");
  ExpectStillServesOld();
  EXPECT_THAT(gw_->logs(), ::testing::Not(HasSubstr("tls_reloaded")));

  // Then the whole renewal arrives, and is served.
  volume_->Publish(Secret("new"));
  EXPECT_TRUE(WaitForServerCert("new", Scaled(absl::Seconds(15))).has_value())
      << gw_->logs();
}

TEST_F(TlsReload, WithoutClientCaNoClientCertificateIsAskedForAndRenewalsWork) {
  StartGateway(Secret("old"), /*mutual=*/false);
  Handshake h = Connect("old");
  ASSERT_TRUE(h.status.ok()) << h.status.error_message();
  EXPECT_TRUE(IsServerCert(h.server_cert, "old"));
  volume_->Publish(Secret("new"));
  const absl::Time start = absl::Now();
  bool renewed = false;
  while (!renewed && absl::Now() - start < Scaled(absl::Seconds(15))) {
    Handshake after = Connect("new");
    renewed = after.status.ok() && IsServerCert(after.server_cert, "new");
    if (!renewed) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(renewed) << gw_->logs();
}

// Start-up still refuses files that are not whole, matching PEM, naming the
// config field (as for a missing file: tests/faults/config_faults_test.cc).
TEST_F(TlsReload, StartRefusesABadCertificateKeyOrClientCaNamingTheField) {
  const std::string new_cert = Cert("new", "server.pem");
  struct Case {
    std::string file, content, names;
  };
  const Case cases[] = {
      {"tls.crt", new_cert.substr(0, new_cert.size() - 40),
       "config: tls.cert_file: a PEM certificate does not parse"},
      {"tls.crt", "not a certificate\n", "config: tls.cert_file: no PEM"},
      {"tls.key", Cert("new", "server.key"),
       "config: tls.key_file: not the key of the certificate"},
      {"tls.key", "", "config: tls.key_file: no unencrypted PEM private key"},
      {"ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n",
       "config: tls.client_ca_file: a PEM certificate does not parse"},
      {"ca.crt", "", "config: tls.client_ca_file: the file is empty"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.names);
    std::map<std::string, std::string> secret = Secret("old");
    secret[c.file] = c.content;
    SecretVolume volume(absl::StrCat(*dir_, "/volume-", ++volumes_));
    volume.Publish(secret);
    GatewayHarness gw([&volume](cfg::GatewayConfig& config) {
      config.mutable_tls()->set_cert_file(volume.path("tls.crt"));
      config.mutable_tls()->set_key_file(volume.path("tls.key"));
      config.mutable_tls()->set_client_ca_file(volume.path("ca.crt"));
    });
    EXPECT_FALSE(gw.start_status().ok());
    EXPECT_THAT(std::string(gw.start_status().message()), HasSubstr(c.names));
  }
}

}  // namespace
}  // namespace idgate::testing
