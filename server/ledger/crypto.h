#pragma once

// Digests, HMAC and Ed25519 through OpenSSL 3's EVP interface only (the
// low-level SHA256_/HMAC_ functions are deprecated in OpenSSL 3).

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/digest.h"

typedef struct evp_pkey_st EVP_PKEY;
typedef struct evp_mac_ctx_st EVP_MAC_CTX;

namespace idgate {

// Raw 32-byte SHA-256 digest.
std::string Sha256(absl::string_view data);

namespace internal {
struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* key) const;
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;
struct EvpMacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const;
};
}  // namespace internal

// An HMAC-SHA256 key set up once. Setting up (fetching the algorithm,
// absorbing the key) cost more than the MAC itself when done per call
// (EVP_Q_mac: 2.2 µs). Copying the keyed context per MAC still costs four
// allocations (0.7-1 µs); a context that has served a MAC is reset with the
// key it holds (0.2 µs), so Mac() takes one from a small pool instead.
// Thread-safe: one key serves many threads, each using its own context.
class HmacSha256Key {
 public:
  // Fails on an empty key or an OpenSSL error.
  static absl::StatusOr<HmacSha256Key> Create(absl::string_view key);

  // Raw 32-byte MAC. Fails only on an OpenSSL (allocation) error.
  absl::StatusOr<std::string> Mac(absl::string_view data) const;

 private:
  using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, internal::EvpMacCtxDeleter>;
  // Contexts not in use; at most one per thread that ran Mac() at once.
  // std::mutex rather than absl::Mutex: Debian's prebuilt Abseil is not
  // instrumented, so ThreadSanitizer cannot see absl::Mutex synchronize.
  struct Pool {
    std::mutex mu;
    std::vector<MacCtxPtr> idle;  // guarded by mu
  };

  MacCtxPtr keyed_;
  std::unique_ptr<Pool> pool_;
};

// Raw 32-byte HMAC-SHA256. Fails only on an empty key or an OpenSSL error.
absl::StatusOr<std::string> HmacSha256(absl::string_view key,
                                       absl::string_view data);

// An Ed25519 public key; immutable, safe to share between threads.
class Ed25519PublicKey {
 public:
  static absl::StatusOr<Ed25519PublicKey> FromPem(absl::string_view pem);
  static absl::StatusOr<Ed25519PublicKey> FromPemFile(const std::string& path);
  static absl::StatusOr<Ed25519PublicKey> FromRaw(absl::string_view raw);

  // True when `signature` (raw 64 bytes) is a valid signature of `message`.
  bool Verify(absl::string_view message, absl::string_view signature) const;

  // Raw 32-byte key.
  const std::string& raw() const { return raw_; }
  // Lowercase hex SHA-256 of the raw key: names the key in checkpoints.
  std::string KeyId() const { return Sha256Hex(raw_); }

 private:
  Ed25519PublicKey(internal::EvpPkeyPtr key, std::string raw)
      : key_(std::move(key)), raw_(std::move(raw)) {}

  std::shared_ptr<EVP_PKEY> key_;
  std::string raw_;
};

// An Ed25519 private key; move-only.
class Ed25519PrivateKey {
 public:
  static absl::StatusOr<Ed25519PrivateKey> FromPem(absl::string_view pem);
  static absl::StatusOr<Ed25519PrivateKey> FromPemFile(const std::string& path);
  // `seed` is the 32-byte private key of RFC 8032.
  static absl::StatusOr<Ed25519PrivateKey> FromRaw(absl::string_view seed);
  // A fresh random key (tests, benchmarks, key generation).
  static absl::StatusOr<Ed25519PrivateKey> Generate();

  // Raw 64-byte signature.
  absl::StatusOr<std::string> Sign(absl::string_view message) const;

  absl::StatusOr<Ed25519PublicKey> PublicKey() const;
  // PKCS#8 PEM of the private key and SubjectPublicKeyInfo PEM of the public.
  absl::StatusOr<std::string> PrivateKeyPem() const;
  absl::StatusOr<std::string> PublicKeyPem() const;

 private:
  explicit Ed25519PrivateKey(internal::EvpPkeyPtr key) : key_(std::move(key)) {}

  internal::EvpPkeyPtr key_;
};

}  // namespace idgate
