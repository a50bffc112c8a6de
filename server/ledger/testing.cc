#include "server/ledger/testing.h"

#include <ftw.h>
#include <stdlib.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "server/ledger/crypto.h"
#include "server/ledger/ledger_scan.h"
#include "server/ledger/retention.h"
#include "server/ledger/segment_source.h"

namespace idgate::testing {
namespace {

using ::idgate::ledger::v1::RECORD_KIND_INTENT;
using ::idgate::ledger::v1::RECORD_KIND_OUTCOME;

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) {
  return std::remove(path);
}

[[noreturn]] void Die(absl::string_view message) {
  std::fprintf(stderr, "FATAL (test helper): %.*s\n",
               static_cast<int>(message.size()), message.data());
  std::abort();
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ =
      absl::StrCat(base != nullptr && *base != '\0' ? base : "/tmp",
                   "/idgate-ledger-test-XXXXXX");
  if (::mkdtemp(templ.data()) == nullptr) Die("mkdtemp failed");
  path_ = templ;
}

TempDir::~TempDir() {
  ::nftw(path_.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS);
}

std::string TempDir::Join(absl::string_view name) const {
  return absl::StrCat(path_, "/", name);
}

void WriteFileOrDie(const std::string& path, absl::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) Die(absl::StrCat("cannot write ", path));
}

std::string ReadFileOrDie(const std::string& path) {
  absl::StatusOr<std::string> content = ReadFileToString(path);
  if (!content.ok()) Die(content.status().ToString());
  return *std::move(content);
}

LedgerRecord MakeIntent(absl::string_view disclosure_id,
                        absl::string_view provider) {
  LedgerRecord record;
  record.set_kind(RECORD_KIND_INTENT);
  record.set_disclosure_id(std::string(disclosure_id));
  record.set_caller("spiffe://example.test/esign");
  record.set_request_id(absl::StrCat("req-", disclosure_id));
  record.set_purpose("esign.signer_identity");
  record.set_provider(std::string(provider));
  record.set_recipient("Example Carrier Data Co., Ltd.");
  for (auto field :
       {::idgate::v1::PII_FIELD_NAME, ::idgate::v1::PII_FIELD_ID_NUMBER,
        ::idgate::v1::PII_FIELD_MOBILE}) {
    auto* pair = record.add_fields();
    pair->set_field(field);
    pair->set_form(::idgate::v1::PII_FORM_SHA256);
  }
  record.set_subject_ref(Sha256Hex(absl::StrCat("subject-", disclosure_id)));
  record.set_subject_key_version(1);
  record.set_consent_id("consent-1");
  record.set_policy_version(Sha256Hex("policy"));
  return record;
}

LedgerRecord MakeOutcome(absl::string_view disclosure_id,
                         absl::string_view provider) {
  LedgerRecord record = MakeIntent(disclosure_id, provider);
  record.set_kind(RECORD_KIND_OUTCOME);
  auto* outcome = record.mutable_outcome();
  outcome->set_verdict(::idgate::v1::VERDICT_MATCH);
  outcome->set_billed(true);
  outcome->set_provider_code("0");
  outcome->set_sent(true);
  return record;
}

FileLedgerOptions TestLedgerOptions(std::string dir) {
  FileLedgerOptions options;
  options.dir = std::move(dir);
  options.segment_max_bytes = 64 << 20;
  options.max_batch_records = 4096;
  options.max_pending_records = 65536;
  options.checkpoint_every_records = 1000;
  options.checkpoint_interval = absl::Seconds(10);
  return options;
}

absl::Status AppendAndWait(Ledger& ledger, LedgerRecord record) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  absl::Status result;
  ledger.Append(std::move(record), [&](absl::Status status) {
    std::lock_guard<std::mutex> lock(mu);
    result = std::move(status);
    done = true;
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  return result;
}

absl::StatusOr<std::vector<LedgerRecord>> ReadVerifiedLedger(
    const std::string& dir) {
  absl::StatusOr<std::unique_ptr<SegmentSource>> source = DirectorySource(dir);
  if (!source.ok()) return source.status();
  class Collector : public LedgerVisitor {
   public:
    absl::Status OnRecord(const LedgerRecord& record,
                          const RecordPosition&) override {
      records.push_back(record);
      return absl::OkStatus();
    }
    std::vector<LedgerRecord> records;
  } collector;
  // A pruned ledger verifies from its anchor.
  absl::StatusOr<absl::optional<LedgerRecord>> anchor =
      ReadPruneAnchor(**source);
  if (!anchor.ok()) return anchor.status();
  const ScanStart start =
      anchor->has_value() ? ScanStartAfter(**anchor) : ScanStart();
  absl::StatusOr<ScanResult> scan = ScanLedger(**source, start, collector);
  if (!scan.ok()) return scan.status();
  for (const auto& damage : {scan->damage, scan->torn_tail}) {
    if (damage.has_value()) return absl::DataLossError(damage->ToString());
  }
  return std::move(collector.records);
}

KeyFiles WriteKeyPair(const std::string& dir, absl::string_view stem) {
  absl::StatusOr<Ed25519PrivateKey> key = Ed25519PrivateKey::Generate();
  if (!key.ok()) Die(key.status().ToString());
  absl::StatusOr<std::string> private_pem = key->PrivateKeyPem();
  absl::StatusOr<std::string> public_pem = key->PublicKeyPem();
  if (!private_pem.ok() || !public_pem.ok()) Die("PEM export failed");
  KeyFiles files{absl::StrCat(dir, "/", stem, ".key"),
                 absl::StrCat(dir, "/", stem, ".pub.pem")};
  WriteFileOrDie(files.private_key, *private_pem);
  WriteFileOrDie(files.public_key, *public_pem);
  return files;
}

}  // namespace idgate::testing
