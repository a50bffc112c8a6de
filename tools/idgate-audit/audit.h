#pragma once

// The core of idgate-audit, as a library so that it is unit-tested and a
// fuzz target can run verification on arbitrary bytes.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "idgate/config/v1/config.pb.h"
#include "idgate/ledger/v1/audit.pb.h"
#include "server/ledger/crypto.h"
#include "server/ledger/ledger.h"
#include "server/ledger/segment_source.h"
#include "server/ledger/subject_ref.h"

namespace idgate::audit {

// Where the audit reads segment files from: the sources the gateway's
// recovery reads through too (server/ledger/segment_source.h).
using ::idgate::DirectorySource;
using ::idgate::MemorySource;
using ::idgate::SegmentSource;

struct VerifyOptions {
  // Keys that may have signed checkpoints. With none, signatures are not
  // checked (the chain and each checkpoint's head still are); with some,
  // every checkpoint must verify under one of them and at least one
  // checkpoint must exist.
  std::vector<Ed25519PublicKey> public_keys;
};

struct VerifyReport {
  bool ok = false;
  // The first problem: "<segment>: sequence N (offset O): reason".
  std::string error;
  uint64_t records = 0;
  uint64_t checkpoints = 0;
  uint64_t signatures_verified = 0;
  uint64_t head_sequence = 0;
  std::string head_hash;
  uint64_t last_checkpoint_sequence = 0;
  // PRUNE records in the chain.
  uint64_t prune_records = 0;
  // A pruned ledger (pruned_through_sequence > 0) verifies from its prune
  // anchor: the last record removed, and a time every removed record
  // precedes.
  uint64_t pruned_through_sequence = 0;
  std::string pruned_through_hash;
  absl::Time pruned_before;
  // Not failures, but worth an auditor's eye: intents without outcome
  // ("possibly disclosed"), records after the last checkpoint, signatures
  // not checked, segments an interrupted prune left.
  std::vector<std::string> warnings;
};

using RecordVisitor = std::function<void(const LedgerRecord&)>;

// Verifies the whole ledger: every segment from ledger-000001.log (or, in a
// pruned ledger, from the first segment its signed prune anchor keeps,
// linked to the last record removed), every record's hash, the chain across
// segments, each checkpoint's head and signature, each prune anchor's
// signature, and that the anchor file's record is in the chain. Stops at
// the first problem; a missing segment is named with the records it took.
// `visit` (optional) sees every record that passed, in order.
VerifyReport Verify(SegmentSource& source, const VerifyOptions& options,
                    const RecordVisitor& visit = nullptr);

// "OK: N records, M checkpoints, head <seq> <hash>" (a pruned ledger adds
// "; verified from anchor <seq> <hash>, records before <time> pruned") or
// "FAIL: <error>".
std::string VerifySummary(const VerifyReport& report);

// Every record as one line of proto3 JSON, after verifying the chain; on a
// verification failure, the lines before it and the error.
absl::Status WriteJsonLines(SegmentSource& source, std::string* out);

enum class Format { kMarkdown, kCsv, kJson };
absl::StatusOr<Format> ParseFormat(absl::string_view name);

// The gateway config from proto3 JSON, unknown fields rejected.
absl::StatusOr<::idgate::config::v1::GatewayConfig> ParseGatewayConfig(
    absl::string_view json);

// The third-party sharing list of a verified ledger: one row per (recipient,
// provider) seen in INTENT records, then configured providers without
// traffic. Fails if the ledger does not verify.
absl::StatusOr<::idgate::ledger::v1::SharingTable> BuildSharingTable(
    SegmentSource& source, const ::idgate::config::v1::GatewayConfig& config);
// With several ledgers (table.ledgers set), a last column names each row's.
std::string RenderSharingTable(const ::idgate::ledger::v1::SharingTable& table,
                               Format format);

// Every disclosure whose subject_ref is one of `refs` (one per key version).
absl::StatusOr<::idgate::ledger::v1::SubjectReport> BuildSubjectReport(
    SegmentSource& source, const std::vector<SubjectReference>& refs);
// kCsv is rendered as Markdown. Disclosures that name their ledger get a
// last column for it.
std::string RenderSubjectReport(
    const ::idgate::ledger::v1::SubjectReport& report,
    absl::string_view masked_id, Format format);

// --- Several ledgers in one audit: one per replica ---
//
// Each chain is verified on its own; the sharing table and the subject
// report are merged, each row naming the ledgers it came from. A ledger that
// cannot be read or does not verify is named in the result and fails it,
// never skipped.

// One ledger of several.
struct LedgerSource {
  // How results name it: the directory as given.
  std::string name;
  // Null when the ledger could not be opened; open_error says why.
  std::unique_ptr<SegmentSource> source;
  std::string open_error;
  // The directory's canonical path (realpath), when known: one directory
  // given under two names is still one ledger.
  std::string canonical_path;
};

// One LedgerSource per directory, in order; one that cannot be opened is
// kept, with its error, for the results to name.
std::vector<LedgerSource> OpenLedgers(const std::vector<std::string>& dirs);

struct LedgerVerification {
  std::string ledger;
  VerifyReport report;
};

struct MultiVerifyReport {
  // Every ledger verified.
  bool ok = false;
  std::vector<LedgerVerification> ledgers;
  // A problem with the set of ledgers: none given, or one given twice.
  std::string error;
};

MultiVerifyReport Verify(std::vector<LedgerSource>& ledgers,
                         const VerifyOptions& options);

// One line per ledger ("<name>: OK: ..." or "<name>: FAIL: ..."), then
// "OK: N ledgers verified" or "FAIL: K of N ledgers do not verify: <names>".
std::string VerifySummary(const MultiVerifyReport& report);

// Every record of every ledger, ledger by ledger, as one line of proto3
// JSON each: an idgate.ledger.v1.LedgerEntry naming its ledger. Fails
// (DATA_LOSS) naming each ledger that cannot be read or does not verify;
// the lines before a failure are written.
absl::Status WriteJsonLines(std::vector<LedgerSource>& ledgers,
                            std::string* out);

// The sharing table over all the ledgers: a row per (recipient, provider),
// its counts summed, its `ledgers` those whose INTENTs made it; the table's
// `ledgers` are all of them. Fails (DATA_LOSS) naming each ledger that cannot
// be read or does not verify, INVALID_ARGUMENT for none or one given twice.
absl::StatusOr<::idgate::ledger::v1::SharingTable> BuildSharingTable(
    std::vector<LedgerSource>& ledgers,
    const ::idgate::config::v1::GatewayConfig& config);

// The person's disclosures in all the ledgers, by time, each naming its
// ledger. Fails like BuildSharingTable.
absl::StatusOr<::idgate::ledger::v1::SubjectReport> BuildSubjectReport(
    std::vector<LedgerSource>& ledgers,
    const std::vector<SubjectReference>& refs);

// "ID number (SHA-256)".
std::string FieldFormLabel(const ::idgate::v1::PiiFieldForm& field);

}  // namespace idgate::audit
