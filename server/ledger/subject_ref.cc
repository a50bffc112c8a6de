#include "server/ledger/subject_ref.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "core/status.h"
#include "server/ledger/crypto.h"

namespace idgate {
namespace {

// Raw key bytes while loading: wiped on every return path.
struct RawKeys {
  std::vector<std::pair<uint32_t, std::string>> keys;
  ~RawKeys() {
    for (auto& key : keys)
      OPENSSL_cleanse(key.second.data(), key.second.size());
  }
};

}  // namespace

absl::StatusOr<SubjectKeyring> SubjectKeyring::Load(
    const std::vector<SubjectKeySpec>& specs) {
  RawKeys loaded;
  loaded.keys.reserve(specs.size());
  for (const SubjectKeySpec& spec : specs) {
    absl::StatusOr<std::string> key = ReadFileToString(spec.file);
    if (!key.ok()) {
      return Prefixed(absl::StrCat("subject key version ", spec.version),
                      key.status());
    }
    if (key->size() < kMinKeyBytes) {
      OPENSSL_cleanse(key->data(), key->size());
      return absl::InvalidArgumentError(absl::StrCat(
          "subject key version ", spec.version, " (", spec.file, ") has ",
          key->size(), " bytes; at least ", kMinKeyBytes, " are required"));
    }
    loaded.keys.emplace_back(spec.version, *std::move(key));
  }
  return FromKeys(std::move(loaded.keys));
}

absl::StatusOr<SubjectKeyring> SubjectKeyring::FromKeys(
    std::vector<std::pair<uint32_t, std::string>> keys) {
  RawKeys raw{std::move(keys)};
  std::vector<std::pair<uint32_t, std::string>>& sorted = raw.keys;
  if (sorted.empty()) {
    return absl::InvalidArgumentError("no subject keys configured");
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<Key> prepared;
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
    // Fails at start-up rather than per request if OpenSSL cannot do HMAC
    // (e.g. a provider configuration without it).
    absl::StatusOr<HmacSha256Key> mac = HmacSha256Key::Create(sorted[i].second);
    if (!mac.ok()) return mac.status();
    if (auto self_test = mac->Mac("idgate-self-test"); !self_test.ok()) {
      return self_test.status();
    }
    prepared.push_back(Key{sorted[i].first, *std::move(mac)});
  }
  return SubjectKeyring(std::move(prepared));
}

SubjectReference SubjectKeyring::Compute(const Key& key,
                                         absl::string_view value) {
  absl::StatusOr<std::string> mac = key.mac.Mac(value);
  if (!mac.ok()) {
    // The self-test in FromKeys passed, so this is an allocation failure.
    std::fprintf(stderr, "FATAL: subject reference: %s\n",
                 std::string(mac.status().message()).c_str());
    std::abort();
  }
  return SubjectReference{absl::BytesToHexString(*mac), key.version};
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
