#pragma once

// The gateway's TLS: the server certificate, its key and the client CA are
// re-read while the gateway runs, so that a renewal (cert-manager writing
// the Secret, the kubelet swapping the volume's ..data link) needs no
// restart, and a file that is not a whole, matching certificate and key is
// never loaded.
//
// gRPC's FileWatcherCertificateProvider re-reads files on a timer but loads
// whatever it reads: a truncated PEM or a key of another certificate would
// leave the server with no handshaker at all (every new connection
// refused). So the provider watches validated copies instead: every
// kRefreshInterval a thread of ours reads the configured files, checks them
// (every PEM block parses, the key matches the leaf certificate) and only
// then replaces the copies, atomically, in a private directory under
// $TMPDIR (0700; /tmp is a memory volume in the chart). The certificate
// chain and the key are one file, so the provider can never pair a new key
// with an old certificate.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/server_credentials.h"
#include "idgate/config/v1/config.pb.h"
#include "server/observability/json_log.h"

namespace grpc::experimental {
class CertificateProviderInterface;
}  // namespace grpc::experimental

namespace idgate {

// What tls.{cert,key,client_ca}_file hold.
struct TlsMaterial {
  std::string cert_chain;   // PEM, leaf first
  std::string private_key;  // PEM
  std::string client_ca;    // PEM; empty without mTLS

  bool operator==(const TlsMaterial& other) const {
    return cert_chain == other.cert_chain && private_key == other.private_key &&
           client_ca == other.client_ca;
  }
};

// Reads the files `tls` names (the key first), unchecked. Errors name the
// config field ("tls.key_file: ..."); an empty client CA file is one.
absl::StatusOr<TlsMaterial> ReadTlsFiles(
    const ::idgate::config::v1::TlsSettings& tls);

// Checks what ReadTlsFiles read: every PEM certificate block parses (a
// truncated file fails), there is at least one certificate, the key parses
// and belongs to the first certificate, the client CA (when set) holds at
// least one certificate. Errors name the config field.
absl::Status CheckTlsMaterial(const TlsMaterial& material);

class ServerTls {
 public:
  // How often the files are checked. The provider checks the copies as
  // often, so a renewal is served within 2 intervals of reaching the
  // files. Each check is a few stat() and reads of a few KiB, nothing
  // next to the kubelet's own delay (up to a minute or so) in updating a
  // mounted Secret; a short interval keeps the gateway from adding to it,
  // and keeps the tests that wait for a renewal short.
  static constexpr absl::Duration kRefreshInterval = absl::Seconds(1);

  // Plaintext when tls.cert_file is empty; otherwise TLS, with client
  // certificates required and verified against tls.client_ca_file when it
  // is set. Fails, naming the field, when a file is unreadable or invalid.
  // `log` (not owned) gets a line per renewal loaded or refused.
  static absl::StatusOr<std::unique_ptr<ServerTls>> Start(
      const ::idgate::config::v1::TlsSettings& tls, const JsonLog* log);
  // Stops watching and removes the copies. Destroy after the server.
  ~ServerTls();

  std::shared_ptr<grpc::ServerCredentials> credentials() const {
    return credentials_;
  }

 private:
  ServerTls() = default;
  // Writes `material` to the copies the provider watches.
  absl::Status Stage(const TlsMaterial& material);
  void Watch();
  void CheckFiles();

  ::idgate::config::v1::TlsSettings settings_;
  const JsonLog* log_ = nullptr;
  std::string dir_;  // the copies; empty for plaintext
  int64_t last_mtime_ = 0;
  TlsMaterial staged_;
  // What the files held at the last check (validated or not), so that a bad
  // file is reported once, not every interval.
  absl::StatusOr<TlsMaterial> last_read_;
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider_;
  std::shared_ptr<grpc::ServerCredentials> credentials_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread watcher_;
};

}  // namespace idgate
