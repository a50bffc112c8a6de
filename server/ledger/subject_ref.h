#pragma once

// Subject references: the ledger names a person by HMAC-SHA256(key,
// normalized ID number), never by the number or a plain hash of it (the ID
// number space is small enough to enumerate). Keys are versioned so they can
// be rotated; lookups compute the reference under every version.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/ledger/crypto.h"

namespace idgate {

struct SubjectKeySpec {
  uint32_t version = 0;
  // File holding the raw key bytes (all of them: no trimming, no decoding).
  std::string file;
};

struct SubjectReference {
  // Lowercase hex HMAC-SHA256, 64 characters.
  std::string ref;
  uint32_t key_version = 0;

  friend bool operator==(const SubjectReference& a, const SubjectReference& b) {
    return a.ref == b.ref && a.key_version == b.key_version;
  }
};

// Versioned HMAC keys. Immutable after loading; safe to share between
// threads. Move-only; the key bytes are wiped on destruction (by OpenSSL,
// which holds them once loaded).
class SubjectKeyring {
 public:
  // Shorter keys are refused: HMAC-SHA256's strength needs 256 bits of key.
  static constexpr size_t kMinKeyBytes = 32;

  // Reads each key file. Fails on no keys, version 0, a duplicate version, an
  // unreadable file or a key shorter than kMinKeyBytes; errors name the
  // version and path, never key bytes.
  static absl::StatusOr<SubjectKeyring> Load(
      const std::vector<SubjectKeySpec>& specs);

  // Same checks, with the key bytes given directly: {version, key}.
  static absl::StatusOr<SubjectKeyring> FromKeys(
      std::vector<std::pair<uint32_t, std::string>> keys);

  SubjectKeyring(SubjectKeyring&&) = default;
  SubjectKeyring& operator=(SubjectKeyring&&) = default;
  SubjectKeyring(const SubjectKeyring&) = delete;
  SubjectKeyring& operator=(const SubjectKeyring&) = delete;

  // The reference new records carry: under the highest key version.
  SubjectReference Reference(absl::string_view normalized_id_number) const;

  // The reference under every key version, highest first: to find a person's
  // records written before a rotation.
  std::vector<SubjectReference> AllReferences(
      absl::string_view normalized_id_number) const;

  uint32_t current_version() const { return keys_.front().version; }

 private:
  struct Key {
    uint32_t version = 0;
    HmacSha256Key mac;
  };
  explicit SubjectKeyring(std::vector<Key> keys) : keys_(std::move(keys)) {}

  static SubjectReference Compute(const Key& key, absl::string_view value);

  // Sorted by version, highest first; never empty.
  std::vector<Key> keys_;
};

}  // namespace idgate
