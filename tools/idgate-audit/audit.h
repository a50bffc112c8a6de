#pragma once

// The core of idgate-audit, as a library so that it is unit-tested and a
// fuzz target can run verification on arbitrary bytes.

#include <cstdint>
#include <functional>
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
std::string RenderSharingTable(const ::idgate::ledger::v1::SharingTable& table,
                               Format format);

// Every disclosure whose subject_ref is one of `refs` (one per key version).
absl::StatusOr<::idgate::ledger::v1::SubjectReport> BuildSubjectReport(
    SegmentSource& source, const std::vector<SubjectReference>& refs);
// kCsv is rendered as Markdown.
std::string RenderSubjectReport(
    const ::idgate::ledger::v1::SubjectReport& report,
    absl::string_view masked_id, Format format);

// "ID number (SHA-256)".
std::string FieldFormLabel(const ::idgate::v1::PiiFieldForm& field);

}  // namespace idgate::audit
