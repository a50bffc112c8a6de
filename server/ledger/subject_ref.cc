#include "server/ledger/subject_ref.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/ledger/crypto.h"
#include "server/ledger/file_util.h"

namespace idgate {

absl::StatusOr<SubjectKeyring> SubjectKeyring::Load(
    const std::vector<SubjectKeySpec>& specs) {
  // Owns the keys read so far, so that every return path wipes them.
  SubjectKeyring loaded({});
  loaded.keys_.reserve(specs.size());
  for (const SubjectKeySpec& spec : specs) {
    absl::StatusOr<std::string> key = ReadFileToString(spec.file);
    if (!key.ok()) {
      return absl::Status(key.status().code(),
                          absl::StrCat("subject key version ", spec.version,
                                       ": ", key.status().message()));
    }
    if (key->size() < kMinKeyBytes) {
      OPENSSL_cleanse(key->data(), key->size());
      return absl::InvalidArgumentError(absl::StrCat(
          "subject key version ", spec.version, " (", spec.file, ") has ",
          key->size(), " bytes; at least ", kMinKeyBytes, " are required"));
    }
    loaded.keys_.emplace_back(spec.version, *std::move(key));
  }
  return FromKeys(std::move(loaded.keys_));
}

absl::StatusOr<SubjectKeyring> SubjectKeyring::FromKeys(
    std::vector<std::pair<uint32_t, std::string>> keys) {
  // Built first so that an early return still wipes the keys.
  SubjectKeyring keyring(std::move(keys));
  std::vector<std::pair<uint32_t, std::string>>& sorted = keyring.keys_;
  if (sorted.empty()) {
    return absl::InvalidArgumentError("no subject keys configured");
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i].first == 0) {
      return absl::InvalidArgumentError(
          "subject key version 0 is not allowed (versions start at 1)");
    }
    if (i > 0 && sorted[i].first == sorted[i - 1].first) {
      return absl::InvalidArgumentError(absl::StrCat(
          "subject key version ", sorted[i].first, " is repeated"));
    }
    if (sorted[i].second.size() < kMinKeyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("subject key version ", sorted[i].first, " has ",
                       sorted[i].second.size(), " bytes; at least ",
                       kMinKeyBytes, " are required"));
    }
  }
  // Fail at start-up rather than per request if OpenSSL cannot do HMAC
  // (e.g. a provider configuration without it).
  absl::StatusOr<std::string> self_test =
      HmacSha256(sorted.front().second, "idgate-self-test");
  if (!self_test.ok()) return self_test.status();
  return keyring;
}

SubjectKeyring::~SubjectKeyring() {
  for (auto& key : keys_) OPENSSL_cleanse(key.second.data(), key.second.size());
}

SubjectReference SubjectKeyring::Compute(
    const std::pair<uint32_t, std::string>& key,
    absl::string_view value) const {
  absl::StatusOr<std::string> mac = HmacSha256(key.second, value);
  if (!mac.ok()) {
    // The self-test in FromKeys passed, so this is an allocation failure.
    std::fprintf(stderr, "FATAL: subject reference: %s\n",
                 std::string(mac.status().message()).c_str());
    std::abort();
  }
  return SubjectReference{absl::BytesToHexString(*mac), key.first};
}

SubjectReference SubjectKeyring::Reference(
    absl::string_view normalized_id_number) const {
  return Compute(keys_.front(), normalized_id_number);
}

std::vector<SubjectReference> SubjectKeyring::AllReferences(
    absl::string_view normalized_id_number) const {
  std::vector<SubjectReference> refs;
  refs.reserve(keys_.size());
  for (const auto& key : keys_) {
    refs.push_back(Compute(key, normalized_id_number));
  }
  return refs;
}

}  // namespace idgate
