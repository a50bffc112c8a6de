#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

// Request signing for providers that require it (CFCA, Alipay): RSA-SHA256
// ("SHA256withRSA", Alipay "RSA2") over a canonical string, base64 signature.

typedef struct evp_pkey_st EVP_PKEY;

namespace idgate {
namespace signing {

// The canonical string of `request`, Alipay style: every non-empty field
// except the top-level field named `signature_field`, as key=value pairs
// sorted by key (bytewise) and joined with '&'.
//  - Keys are field names; nested message fields are dotted paths
//    ("biz_content.identity_param.cert_no"); repeated elements append their
//    index ("tags.0").
//  - Strings are taken as is; bytes are replaced by the lowercase hex SHA-256
//    of their content, so the signature covers a multi-megabyte image
//    without copying it into the string; enums by their value name; numbers
//    in decimal.
//  - Empty strings/bytes, zero numbers and unset messages are left out, as
//    Alipay leaves out empty parameters.
// Like Alipay's, values are not escaped: every field is typed and validated
// upstream, and both ends derive the key set from the same schema.
// Fails (INVALID_ARGUMENT) on map fields and unknown fields: content that
// would travel without being signed.
absl::StatusOr<std::string> CanonicalString(
    const google::protobuf::Message& request,
    absl::string_view signature_field);

// Signs with an RSA private key. Immutable and thread-safe.
class RsaSigner {
 public:
  // Accepts a PEM RSA private key (PKCS#1 or PKCS#8, unencrypted) of at
  // least 2048 bits. Errors never quote the input.
  static absl::StatusOr<std::unique_ptr<RsaSigner>> FromPem(
      absl::string_view pem);

  // Reads the PEM file at `path`. Errors start with `config_field` (e.g.
  // "providers[alipay].adapter.signing_key_file") and never quote the file.
  static absl::StatusOr<std::unique_ptr<RsaSigner>> FromFile(
      const std::string& path, absl::string_view config_field);

  ~RsaSigner();
  RsaSigner(const RsaSigner&) = delete;
  RsaSigner& operator=(const RsaSigner&) = delete;

  // Base64 (standard alphabet, padded) RSA-SHA256 PKCS#1 v1.5 signature.
  absl::StatusOr<std::string> SignBase64(absl::string_view data) const;

 private:
  explicit RsaSigner(EVP_PKEY* key) : key_(key) {}
  EVP_PKEY* key_;
};

// Verifies with an RSA public key. Immutable and thread-safe.
class RsaVerifier {
 public:
  // Accepts a PEM SubjectPublicKeyInfo ("BEGIN PUBLIC KEY") RSA key.
  static absl::StatusOr<std::unique_ptr<RsaVerifier>> FromPem(
      absl::string_view pem);

  ~RsaVerifier();
  RsaVerifier(const RsaVerifier&) = delete;
  RsaVerifier& operator=(const RsaVerifier&) = delete;

  // True when `signature_base64` is a valid signature of `data`. A malformed
  // or empty signature is simply invalid.
  bool VerifyBase64(absl::string_view data,
                    absl::string_view signature_base64) const;

 private:
  explicit RsaVerifier(EVP_PKEY* key) : key_(key) {}
  EVP_PKEY* key_;
};

// Signs the canonical string of `request` and returns the base64 signature.
absl::StatusOr<std::string> SignRequest(
    const RsaSigner& signer, const google::protobuf::Message& request,
    absl::string_view signature_field);

// Signs `request` in place: the signature goes into its own string field
// `signature_field`. Fails INTERNAL, "<who>: cannot sign request: <why>".
absl::Status SignInto(const RsaSigner& signer,
                      google::protobuf::Message& request,
                      absl::string_view signature_field, absl::string_view who);

// True when the signature in `signature_base64` covers `request` (whose own
// signature field is ignored). False also for requests that cannot be
// canonicalized.
bool VerifyRequest(const RsaVerifier& verifier,
                   const google::protobuf::Message& request,
                   absl::string_view signature_field,
                   absl::string_view signature_base64);

}  // namespace signing
}  // namespace idgate
