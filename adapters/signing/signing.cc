#include "adapters/signing/signing.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace idgate {
namespace signing {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr int kMinRsaBits = 2048;

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

// Refuses to prompt for a passphrase on the terminal: an encrypted key is
// simply unreadable here.
int NoPassphrase(char*, int, int, void*) { return -1; }

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(),
                 nullptr) != 1) {
    ERR_clear_error();
    return "";
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), size));
}

absl::Status CheckRsa(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA") != 1) {
    return absl::InvalidArgumentError("not an RSA key");
  }
  if (EVP_PKEY_get_bits(key) < kMinRsaBits) {
    return absl::InvalidArgumentError(
        absl::StrCat("RSA key shorter than ", kMinRsaBits, " bits"));
  }
  return absl::OkStatus();
}

// Value of one singular field, or of element `index` of a repeated one.
std::string ScalarValue(const Message& message, const Reflection& reflection,
                        const FieldDescriptor* field, int index) {
  const bool rep = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      // By reference: a face image or video is megabytes, hashed in place.
      std::string scratch;
      const std::string& value =
          rep ? reflection.GetRepeatedStringReference(message, field, index,
                                                      &scratch)
              : reflection.GetStringReference(message, field, &scratch);
      if (value.empty()) return "";
      return field->type() == FieldDescriptor::TYPE_BYTES ? Sha256Hex(value)
                                                          : value;
    }
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(
          rep ? reflection.GetRepeatedInt32(message, field, index)
              : reflection.GetInt32(message, field));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(
          rep ? reflection.GetRepeatedInt64(message, field, index)
              : reflection.GetInt64(message, field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(
          rep ? reflection.GetRepeatedUInt32(message, field, index)
              : reflection.GetUInt32(message, field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(
          rep ? reflection.GetRepeatedUInt64(message, field, index)
              : reflection.GetUInt64(message, field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrFormat(
          "%.17g", rep ? reflection.GetRepeatedDouble(message, field, index)
                       : reflection.GetDouble(message, field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrFormat(
          "%.9g", rep ? reflection.GetRepeatedFloat(message, field, index)
                      : reflection.GetFloat(message, field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? reflection.GetRepeatedBool(message, field, index)
                  : reflection.GetBool(message, field))
                 ? "true"
                 : "false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return rep ? reflection.GetRepeatedEnum(message, field, index)->name()
                 : reflection.GetEnum(message, field)->name();
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return "";
}

absl::Status Collect(const Message& message, const std::string& prefix,
                     absl::string_view excluded,
                     std::vector<std::pair<std::string, std::string>>& out) {
  const Reflection& reflection = *message.GetReflection();
  if (!reflection.GetUnknownFields(message).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        message.GetDescriptor()->full_name(), " has unknown fields"));
  }
  std::vector<const FieldDescriptor*> fields;
  reflection.ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (prefix.empty() && field->name() == excluded) continue;
    if (field->is_map()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field->full_name(), ": map fields cannot be signed"));
    }
    const std::string key = prefix + field->name();
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection.FieldSize(message, field); ++i) {
          absl::Status status =
              Collect(reflection.GetRepeatedMessage(message, field, i),
                      absl::StrCat(key, ".", i, "."), excluded, out);
          if (!status.ok()) return status;
        }
      } else {
        absl::Status status = Collect(reflection.GetMessage(message, field),
                                      key + ".", excluded, out);
        if (!status.ok()) return status;
      }
      continue;
    }
    if (field->is_repeated()) {
      for (int i = 0; i < reflection.FieldSize(message, field); ++i) {
        std::string value = ScalarValue(message, reflection, field, i);
        if (!value.empty()) out.emplace_back(absl::StrCat(key, ".", i), value);
      }
    } else {
      std::string value = ScalarValue(message, reflection, field, -1);
      if (!value.empty()) out.emplace_back(key, std::move(value));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> CanonicalString(const Message& request,
                                            absl::string_view signature_field) {
  std::vector<std::pair<std::string, std::string>> pairs;
  absl::Status status = Collect(request, "", signature_field, pairs);
  if (!status.ok()) return status;
  std::sort(pairs.begin(), pairs.end());
  return absl::StrJoin(pairs, "&", absl::PairFormatter("="));
}

// --- RsaSigner ---

absl::StatusOr<std::unique_ptr<RsaSigner>> RsaSigner::FromPem(
    absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("out of memory");
  EVP_PKEY* key =
      PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError("not an unencrypted PEM private key");
  }
  std::unique_ptr<RsaSigner> signer(new RsaSigner(key));
  absl::Status status = CheckRsa(key);
  if (!status.ok()) return status;
  return signer;
}

absl::StatusOr<std::unique_ptr<RsaSigner>> RsaSigner::FromFile(
    const std::string& path, absl::string_view config_field) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(config_field, ": required"));
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  if (!in || !(content << in.rdbuf())) {
    return absl::InvalidArgumentError(
        absl::StrCat(config_field, ": cannot read"));
  }
  auto signer = FromPem(content.str());
  if (!signer.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(config_field, ": ", signer.status().message()));
  }
  return signer;
}

RsaSigner::~RsaSigner() { EVP_PKEY_free(key_); }

absl::StatusOr<std::string> RsaSigner::SignBase64(
    absl::string_view data) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t size = 0;
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_) !=
          1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size,
                     reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("RSA-SHA256 signing failed");
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(&signature[0]),
                     &size, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("RSA-SHA256 signing failed");
  }
  signature.resize(size);
  return absl::Base64Escape(signature);
}

// --- RsaVerifier ---

absl::StatusOr<std::unique_ptr<RsaVerifier>> RsaVerifier::FromPem(
    absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("out of memory");
  EVP_PKEY* key =
      PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr);
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError("not a PEM public key");
  }
  std::unique_ptr<RsaVerifier> verifier(new RsaVerifier(key));
  absl::Status status = CheckRsa(key);
  if (!status.ok()) return status;
  return verifier;
}

RsaVerifier::~RsaVerifier() { EVP_PKEY_free(key_); }

bool RsaVerifier::VerifyBase64(absl::string_view data,
                               absl::string_view signature_base64) const {
  std::string signature;
  if (signature_base64.empty() ||
      !absl::Base64Unescape(signature_base64, &signature) ||
      signature.empty()) {
    return false;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx != nullptr &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_) ==
          1 &&
      EVP_DigestVerify(
          ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
          signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
          data.size()) == 1;
  ERR_clear_error();
  return ok;
}

absl::StatusOr<std::string> SignRequest(const RsaSigner& signer,
                                        const Message& request,
                                        absl::string_view signature_field) {
  absl::StatusOr<std::string> canonical =
      CanonicalString(request, signature_field);
  if (!canonical.ok()) return canonical.status();
  return signer.SignBase64(*canonical);
}

absl::Status SignInto(const RsaSigner& signer, Message& request,
                      absl::string_view signature_field,
                      absl::string_view who) {
  const FieldDescriptor* field =
      request.GetDescriptor()->FindFieldByName(std::string(signature_field));
  if (field == nullptr || field->type() != FieldDescriptor::TYPE_STRING ||
      field->is_repeated()) {
    return absl::InternalError(absl::StrCat(
        who, ": cannot sign request: no string field ", signature_field));
  }
  absl::StatusOr<std::string> signature =
      SignRequest(signer, request, signature_field);
  if (!signature.ok()) {
    return absl::InternalError(absl::StrCat(
        who, ": cannot sign request: ", signature.status().message()));
  }
  request.GetReflection()->SetString(&request, field, *std::move(signature));
  return absl::OkStatus();
}

bool VerifyRequest(const RsaVerifier& verifier, const Message& request,
                   absl::string_view signature_field,
                   absl::string_view signature_base64) {
  absl::StatusOr<std::string> canonical =
      CanonicalString(request, signature_field);
  return canonical.ok() && verifier.VerifyBase64(*canonical, signature_base64);
}

}  // namespace signing
}  // namespace idgate
