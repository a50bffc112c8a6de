#include "core/digest.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace idgate {
namespace {

// Both algorithms are in OpenSSL 3's default provider; their absence is a
// broken installation, and a digest that silently came out empty would
// match other empty digests, so abort instead.
const EVP_MD* FetchOrDie(const char* algorithm) {
  EVP_MD* md = EVP_MD_fetch(nullptr, algorithm, nullptr);
  if (md == nullptr) std::abort();
  return md;
}

std::string HexDigest(const EVP_MD* type, absl::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &md_len, type, nullptr) != 1) {
    std::abort();
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * md_len, '0');
  for (unsigned int i = 0; i < md_len; ++i) {
    out[2 * i] = kHex[md[i] >> 4];
    out[2 * i + 1] = kHex[md[i] & 0xf];
  }
  return out;
}

}  // namespace

// Fetched once (an implicit fetch per call takes a global lock); the
// function-local objects are intentionally never freed.
std::string Sha256Hex(absl::string_view data) {
  static const EVP_MD* const kSha256 = FetchOrDie("SHA256");
  return HexDigest(kSha256, data);
}

std::string Sm3Hex(absl::string_view data) {
  static const EVP_MD* const kSm3 = FetchOrDie("SM3");
  return HexDigest(kSm3, data);
}

}  // namespace idgate
