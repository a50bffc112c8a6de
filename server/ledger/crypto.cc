#include "server/ledger/crypto.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "core/status.h"

namespace idgate {
namespace internal {

void EvpPkeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

}  // namespace internal

namespace {

using internal::EvpPkeyPtr;

constexpr size_t kEd25519KeyBytes = 32;
constexpr size_t kEd25519SignatureBytes = 64;

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

// The OpenSSL error queue is per thread; drain it so a later call does not
// report a stale error, and keep the first entry for the message.
std::string TakeOpenSslError() {
  unsigned long code = ERR_get_error();
  std::string message = "unknown error";
  if (code != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    message = buffer;
  }
  ERR_clear_error();
  return message;
}

absl::Status OpenSslError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", TakeOpenSslError()));
}

// A digest of in-memory data only fails when OpenSSL cannot allocate or its
// default provider is missing: nothing a caller could handle.
[[noreturn]] void DieOpenSsl(const char* what) {
  std::fprintf(stderr, "FATAL: %s: %s\n", what, TakeOpenSslError().c_str());
  std::abort();
}

// Fetched once: OpenSSL 3 re-fetches EVP_sha256() on every digest, which
// costs about half as much as hashing a ledger record. Never freed.
const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) DieOpenSsl("EVP_MD_fetch(SHA256)");
    return fetched;
  }();
  return md;
}

bool IsEd25519(const EVP_PKEY* key) { return EVP_PKEY_is_a(key, "ED25519"); }

absl::StatusOr<std::string> RawPublicKey(EVP_PKEY* key) {
  unsigned char raw[kEd25519KeyBytes];
  size_t length = sizeof(raw);
  if (EVP_PKEY_get_raw_public_key(key, raw, &length) != 1 ||
      length != kEd25519KeyBytes) {
    return OpenSslError("EVP_PKEY_get_raw_public_key");
  }
  return std::string(reinterpret_cast<char*>(raw), length);
}

absl::StatusOr<std::string> BioContents(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  if (length < 0 || data == nullptr) return OpenSslError("BIO_get_mem_data");
  return std::string(data, static_cast<size_t>(length));
}

}  // namespace

std::string Sha256(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, Sha256Md(),
                 nullptr) != 1) {
    DieOpenSsl("EVP_Digest(SHA-256)");
  }
  return std::string(reinterpret_cast<char*>(digest), length);
}

void internal::EvpMacCtxDeleter::operator()(EVP_MAC_CTX* ctx) const {
  EVP_MAC_CTX_free(ctx);  // wipes the key
}

absl::StatusOr<HmacSha256Key> HmacSha256Key::Create(absl::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError("empty HMAC key");
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (hmac == nullptr) return OpenSslError("EVP_MAC_fetch(HMAC)");
  HmacSha256Key result;
  result.pool_ = std::make_unique<Pool>();
  result.keyed_.reset(EVP_MAC_CTX_new(hmac));
  EVP_MAC_free(hmac);  // the context holds its own reference
  if (result.keyed_ == nullptr) return OpenSslError("EVP_MAC_CTX_new");
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(result.keyed_.get(),
                   reinterpret_cast<const unsigned char*>(key.data()),
                   key.size(), params) != 1) {
    return OpenSslError("EVP_MAC_init(HMAC-SHA256)");
  }
  return result;
}

absl::StatusOr<std::string> HmacSha256Key::Mac(absl::string_view data) const {
  MacCtxPtr ctx;
  {
    std::lock_guard<std::mutex> lock(pool_->mu);
    if (!pool_->idle.empty()) {
      ctx = std::move(pool_->idle.back());
      pool_->idle.pop_back();
    }
  }
  bool ready;
  if (ctx != nullptr) {
    ready = EVP_MAC_init(ctx.get(), nullptr, 0, nullptr) ==
            1;  // restarts with its key
  } else {
    ctx.reset(EVP_MAC_CTX_dup(keyed_.get()));
    ready = ctx != nullptr;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t length = 0;
  if (!ready ||
      EVP_MAC_update(ctx.get(),
                     reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), mac, &length, sizeof(mac)) != 1) {
    return OpenSslError("HMAC-SHA256");
  }
  {
    std::lock_guard<std::mutex> lock(pool_->mu);
    pool_->idle.push_back(std::move(ctx));
  }
  return std::string(reinterpret_cast<char*>(mac), length);
}

absl::StatusOr<std::string> HmacSha256(absl::string_view key,
                                       absl::string_view data) {
  absl::StatusOr<HmacSha256Key> prepared = HmacSha256Key::Create(key);
  if (!prepared.ok()) return prepared.status();
  return prepared->Mac(data);
}

// --- Ed25519PublicKey ---

absl::StatusOr<Ed25519PublicKey> Ed25519PublicKey::FromPem(
    absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return OpenSslError("BIO_new_mem_buf");
  EvpPkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a PEM public key: ", TakeOpenSslError()));
  }
  if (!IsEd25519(key.get())) {
    return absl::InvalidArgumentError("public key is not Ed25519");
  }
  absl::StatusOr<std::string> raw = RawPublicKey(key.get());
  if (!raw.ok()) return raw.status();
  return Ed25519PublicKey(std::move(key), *std::move(raw));
}

absl::StatusOr<Ed25519PublicKey> Ed25519PublicKey::FromPemFile(
    const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFileToString(path);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<Ed25519PublicKey> key = FromPem(*pem);
  if (!key.ok()) {
    return Prefixed(path, key.status());
  }
  return key;
}

absl::StatusOr<Ed25519PublicKey> Ed25519PublicKey::FromRaw(
    absl::string_view raw) {
  if (raw.size() != kEd25519KeyBytes) {
    return absl::InvalidArgumentError("Ed25519 public key must be 32 bytes");
  }
  EvpPkeyPtr key(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr,
      reinterpret_cast<const unsigned char*>(raw.data()), raw.size()));
  if (key == nullptr) return OpenSslError("EVP_PKEY_new_raw_public_key");
  return Ed25519PublicKey(std::move(key), std::string(raw));
}

bool Ed25519PublicKey::Verify(absl::string_view message,
                              absl::string_view signature) const {
  if (signature.size() != kEd25519SignatureBytes) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) DieOpenSsl("EVP_MD_CTX_new");
  // Ed25519 hashes internally: no digest is given (RFC 8032 "pure" mode).
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) !=
      1) {
    TakeOpenSslError();
    return false;
  }
  int result = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
      signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
      message.size());
  if (result != 1) TakeOpenSslError();
  return result == 1;
}

// --- Ed25519PrivateKey ---

absl::StatusOr<Ed25519PrivateKey> Ed25519PrivateKey::FromPem(
    absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return OpenSslError("BIO_new_mem_buf");
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    // The OpenSSL message does not echo key material.
    return absl::InvalidArgumentError(
        absl::StrCat("not a PEM private key: ", TakeOpenSslError()));
  }
  if (!IsEd25519(key.get())) {
    return absl::InvalidArgumentError("private key is not Ed25519");
  }
  return Ed25519PrivateKey(std::move(key));
}

absl::StatusOr<Ed25519PrivateKey> Ed25519PrivateKey::FromPemFile(
    const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFileToString(path);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<Ed25519PrivateKey> key = FromPem(*pem);
  if (!key.ok()) {
    return Prefixed(path, key.status());
  }
  return key;
}

absl::StatusOr<Ed25519PrivateKey> Ed25519PrivateKey::FromRaw(
    absl::string_view seed) {
  if (seed.size() != kEd25519KeyBytes) {
    return absl::InvalidArgumentError("Ed25519 private key must be 32 bytes");
  }
  EvpPkeyPtr key(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr,
      reinterpret_cast<const unsigned char*>(seed.data()), seed.size()));
  if (key == nullptr) return OpenSslError("EVP_PKEY_new_raw_private_key");
  return Ed25519PrivateKey(std::move(key));
}

absl::StatusOr<Ed25519PrivateKey> Ed25519PrivateKey::Generate() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (key == nullptr) return OpenSslError("EVP_PKEY_Q_keygen(ED25519)");
  return Ed25519PrivateKey(std::move(key));
}

absl::StatusOr<std::string> Ed25519PrivateKey::Sign(
    absl::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return OpenSslError("EVP_MD_CTX_new");
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) !=
      1) {
    return OpenSslError("EVP_DigestSignInit");
  }
  unsigned char signature[kEd25519SignatureBytes];
  size_t length = sizeof(signature);
  if (EVP_DigestSign(ctx.get(), signature, &length,
                     reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {
    return OpenSslError("EVP_DigestSign");
  }
  return std::string(reinterpret_cast<char*>(signature), length);
}

absl::StatusOr<Ed25519PublicKey> Ed25519PrivateKey::PublicKey() const {
  absl::StatusOr<std::string> raw = RawPublicKey(key_.get());
  if (!raw.ok()) return raw.status();
  return Ed25519PublicKey::FromRaw(*raw);
}

absl::StatusOr<std::string> Ed25519PrivateKey::PrivateKeyPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr) return OpenSslError("BIO_new");
  if (PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0,
                               nullptr, nullptr) != 1) {
    return OpenSslError("PEM_write_bio_PrivateKey");
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> Ed25519PrivateKey::PublicKeyPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr) return OpenSslError("BIO_new");
  if (PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) {
    return OpenSslError("PEM_write_bio_PUBKEY");
  }
  return BioContents(bio.get());
}

}  // namespace idgate
