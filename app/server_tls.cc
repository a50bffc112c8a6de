#include "app/server_tls.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "core/status.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "openssl/bio.h"
#include "openssl/bn.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/x509.h"

namespace idgate {
namespace {

namespace cfg = ::idgate::config::v1;

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

// Encrypted keys are refused rather than prompted for (gRPC cannot use
// them either).
int NoPassword(char*, int, int, void*) { return 0; }

BioPtr MemoryBio(absl::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())),
                BIO_free);
}

// Every certificate in `pem`, in order. A block that does not parse (a file
// cut short, a damaged line) fails the whole file, so does a file without
// any certificate.
absl::StatusOr<std::vector<X509Ptr>> ParseCertificates(absl::string_view pem) {
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return absl::ResourceExhaustedError("out of memory");
  std::vector<X509Ptr> certs;
  ERR_clear_error();
  while (X509* cert =
             PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr)) {
    certs.emplace_back(cert, X509_free);
  }
  // Reading stops at the end of the text ("no start line") or at a block
  // it cannot read.
  const unsigned long error = ERR_peek_last_error();
  ERR_clear_error();
  if (ERR_GET_LIB(error) != ERR_LIB_PEM ||
      ERR_GET_REASON(error) != PEM_R_NO_START_LINE) {
    return absl::InvalidArgumentError(
        "a PEM certificate does not parse (a truncated or damaged file?)");
  }
  if (certs.empty()) return absl::InvalidArgumentError("no PEM certificate");
  return certs;
}

absl::StatusOr<KeyPtr> ParseKey(absl::string_view pem) {
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return absl::ResourceExhaustedError("out of memory");
  ERR_clear_error();
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr),
             EVP_PKEY_free);
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        "no unencrypted PEM private key that parses (a truncated or damaged "
        "file?)");
  }
  return key;
}

// Serial number (hex) and end of validity of a certificate, for the log.
std::string SerialHex(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (bn == nullptr) return "";
  char* hex = BN_bn2hex(bn);
  std::string out = hex == nullptr ? "" : hex;
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::string NotAfter(X509* cert) {
  struct tm tm = {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return "";
  return absl::FormatTime(absl::RFC3339_sec,
                          absl::FromTM(tm, absl::UTCTimeZone()),
                          absl::UTCTimeZone());
}

// Replaces `path` with `data` by rename, so that a reader sees the old file
// or the new one, never a part. `mtime` (seconds) differs for every write:
// the provider re-reads when a file's modification time changed while it
// read, and its clock has a resolution of one second.
absl::Status WriteAtomically(const std::string& path, absl::string_view data,
                             int64_t mtime) {
  const std::string temp = path + ".new";
  const int fd =
      ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("create ", temp));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      return ErrnoStatus(error, absl::StrCat("write ", temp));
    }
    done += static_cast<size_t>(n);
  }
  const struct timespec times[2] = {{static_cast<time_t>(mtime), 0},
                                    {static_cast<time_t>(mtime), 0}};
  if (::futimens(fd, times) != 0 || ::close(fd) != 0) {
    return ErrnoStatus(errno, absl::StrCat("finish ", temp));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return ErrnoStatus(errno, absl::StrCat("rename to ", path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TlsMaterial> ReadTlsFiles(const cfg::TlsSettings& tls) {
  TlsMaterial m;
  auto key = ReadFileToString(tls.key_file());
  if (!key.ok()) return Prefixed("tls.key_file", key.status());
  m.private_key = std::move(*key);
  auto cert = ReadFileToString(tls.cert_file());
  if (!cert.ok()) return Prefixed("tls.cert_file", cert.status());
  m.cert_chain = std::move(*cert);
  if (!tls.client_ca_file().empty()) {
    auto ca = ReadFileToString(tls.client_ca_file());
    if (!ca.ok()) return Prefixed("tls.client_ca_file", ca.status());
    // Empty would mean "no mTLS" below; with the field set it is an error.
    if (ca->empty()) {
      return absl::InvalidArgumentError(
          "tls.client_ca_file: the file is empty");
    }
    m.client_ca = std::move(*ca);
  }
  return m;
}

absl::Status CheckTlsMaterial(const TlsMaterial& m) {
  absl::StatusOr<KeyPtr> key = ParseKey(m.private_key);
  if (!key.ok()) return Prefixed("tls.key_file", key.status());
  absl::StatusOr<std::vector<X509Ptr>> chain = ParseCertificates(m.cert_chain);
  if (!chain.ok()) return Prefixed("tls.cert_file", chain.status());
  if (X509_check_private_key(chain->front().get(), key->get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "tls.key_file: not the key of the certificate in tls.cert_file");
  }
  if (!m.client_ca.empty()) {
    absl::StatusOr<std::vector<X509Ptr>> ca = ParseCertificates(m.client_ca);
    if (!ca.ok()) return Prefixed("tls.client_ca_file", ca.status());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ServerTls>> ServerTls::Start(
    const cfg::TlsSettings& tls, const JsonLog* log) {
  std::unique_ptr<ServerTls> out(new ServerTls());
  if (tls.cert_file().empty()) {
    out->credentials_ = grpc::InsecureServerCredentials();
    return out;
  }
  out->settings_ = tls;
  out->log_ = log;
  absl::StatusOr<TlsMaterial> material = ReadTlsFiles(tls);
  const absl::Status checked =
      material.ok() ? CheckTlsMaterial(*material) : material.status();
  if (!checked.ok()) return Prefixed("config", checked);
  out->last_read_ = *material;

  const char* tmp = std::getenv("TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                                 "/idgate-tls-XXXXXX");
  if (::mkdtemp(dir.data()) == nullptr) {
    return ErrnoStatus(errno,
                       absl::StrCat("tls: create a private directory ", dir));
  }
  out->dir_ = dir;
  if (auto st = out->Stage(*material); !st.ok()) return Prefixed("tls", st);

  // One file holds the chain and the key (see the header).
  const std::string identity = out->dir_ + "/identity.pem";
  out->provider_ =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          identity, identity,
          tls.client_ca_file().empty() ? "" : out->dir_ + "/client-ca.pem",
          static_cast<unsigned int>(
              absl::ToInt64Seconds(ServerTls::kRefreshInterval)));
  grpc::experimental::TlsServerCredentialsOptions options(out->provider_);
  options.watch_identity_key_cert_pairs();
  if (tls.client_ca_file().empty()) {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    options.watch_root_certs();
    options.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  out->credentials_ = grpc::experimental::TlsServerCredentials(options);
  if (out->credentials_ == nullptr) {
    return absl::InternalError("tls: gRPC refused the TLS credentials");
  }
  out->watcher_ = std::thread([self = out.get()] { self->Watch(); });
  return out;
}

ServerTls::~ServerTls() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  credentials_.reset();
  provider_.reset();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

absl::Status ServerTls::Stage(const TlsMaterial& m) {
  const int64_t mtime =
      std::max(absl::ToUnixSeconds(absl::Now()), last_mtime_ + 1);
  last_mtime_ = mtime;
  std::string identity = m.cert_chain;
  if (!identity.empty() && identity.back() != '\n') identity.push_back('\n');
  identity += m.private_key;
  if (!m.client_ca.empty()) {
    if (auto st = WriteAtomically(dir_ + "/client-ca.pem", m.client_ca, mtime);
        !st.ok())
      return st;
  }
  if (auto st = WriteAtomically(dir_ + "/identity.pem", identity, mtime);
      !st.ok())
    return st;
  staged_ = m;
  return absl::OkStatus();
}

void ServerTls::Watch() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!wake_.wait_for(lock, absl::ToChronoSeconds(kRefreshInterval),
                         [this] { return stop_; })) {
    lock.unlock();
    CheckFiles();
    lock.lock();
  }
}

void ServerTls::CheckFiles() {
  absl::StatusOr<TlsMaterial> read = ReadTlsFiles(settings_);
  const bool same_as_last =
      read.ok() ? last_read_.ok() && *read == *last_read_
                : !last_read_.ok() && read.status() == last_read_.status();
  if (same_as_last) return;
  last_read_ = read;
  if (read.ok() && *read == staged_) return;  // back to what is served
  absl::Status status = read.ok() ? CheckTlsMaterial(*read) : read.status();
  const bool client_ca_changed =
      read.ok() && read->client_ca != staged_.client_ca;
  if (status.ok()) status = Stage(*read);
  if (!status.ok()) {
    if (log_ != nullptr) {
      log_->Warning("tls_reload_refused")
          .Str("error", status.message())
          .Str("detail", "the current certificate stays in use");
    }
    return;
  }
  if (log_ != nullptr) {
    absl::StatusOr<std::vector<X509Ptr>> chain =
        ParseCertificates(read->cert_chain);
    log_->Info("tls_reloaded")
        .Str("serial", chain.ok() ? SerialHex(chain->front().get()) : "")
        .Str("not_after", chain.ok() ? NotAfter(chain->front().get()) : "")
        .Bool("client_ca_changed", client_ca_changed);
  }
}

}  // namespace idgate
