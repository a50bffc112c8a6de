#pragma once

// Test helpers for the ledger and idgate-audit tests. Not for production.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/ledger/file_ledger.h"
#include "server/ledger/ledger.h"

namespace idgate::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  std::string Join(absl::string_view name) const;

 private:
  std::string path_;
};

void WriteFileOrDie(const std::string& path, absl::string_view content);
std::string ReadFileOrDie(const std::string& path);

// An INTENT for the carrier three-factor check with fixed, non-personal
// values; `disclosure_id` distinguishes records.
LedgerRecord MakeIntent(absl::string_view disclosure_id,
                        absl::string_view provider = "carrier_mock");
// The OUTCOME of that intent: a billed match.
LedgerRecord MakeOutcome(absl::string_view disclosure_id,
                         absl::string_view provider = "carrier_mock");

// Options for a FileLedger in `dir`: limits no test reaches unless it sets
// its own, and (with a key) checkpoints every 1000 records or 10 s. The
// gateway's come from its config (FileLedgerOptions::FromConfig).
FileLedgerOptions TestLedgerOptions(std::string dir);

// Appends and waits for the callback (tests only: blocks the caller).
absl::Status AppendAndWait(Ledger& ledger, LedgerRecord record);

// Every record of the ledger in `dir`, after verifying the whole chain (from
// its prune anchor, if it has one).
absl::StatusOr<std::vector<LedgerRecord>> ReadVerifiedLedger(
    const std::string& dir);

// Writes a new Ed25519 key pair as PEM files in `dir`.
struct KeyFiles {
  std::string private_key;
  std::string public_key;
};
KeyFiles WriteKeyPair(const std::string& dir, absl::string_view stem);

}  // namespace idgate::testing
