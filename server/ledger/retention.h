#pragma once

// Retention: the gateway removes whole segments whose records are all older
// than the configured retention, behind a signed prune anchor, a PRUNE
// record naming the last record removed, a time every removed record
// precedes and the first segment kept. The anchor goes into the chain, so
// that the chain itself shows when and what was pruned, and into the ledger
// directory's anchor file, so that a reader (start-up recovery,
// idgate-audit) knows where the remaining chain starts before it reads the
// first segment kept.
//
// The steps are ordered so that a crash between any two is harmless:
//   1. the PRUNE record (and a checkpoint) is made durable in the chain: a
//      crash leaves the whole ledger and a record of a prune to come;
//   2. the anchor file is replaced durably (temporary file, fsync, rename,
//      fsync of the directory): a crash leaves segments before the anchor,
//      which readers skip and start-up removes;
//   3. the segments are removed, oldest first, and the directory synced.

#include <cstdint>
#include <limits>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "server/ledger/ledger.h"
#include "server/ledger/ledger_scan.h"
#include "server/ledger/segment_source.h"

namespace idgate {

// Records are kept at least five years (seed policy 000 §五.二); five
// calendar years last at most 1827 days (two leap days). The config's
// default is a day more; the gateway warns below this.
inline constexpr absl::Duration kMinimumLegalRetention = absl::Hours(24 * 1827);

// The newest PRUNE record, framed as in a segment.
inline constexpr absl::string_view kPruneAnchorFileName = "prune-anchor.rec";

// The PRUNE record in the anchor file of the ledger in `source`; nullopt
// when there is none (the ledger was never pruned). DATA_LOSS, naming the
// file, when it is not one whole PRUNE record. Its signature is the
// caller's to check (VerifyPruneSignature), with the keys it trusts.
absl::StatusOr<absl::optional<LedgerRecord>> ReadPruneAnchor(
    SegmentSource& source);

// Where the chain of a ledger pruned at `anchor` starts: at the first
// segment kept, after the last record removed.
ScanStart ScanStartAfter(const LedgerRecord& anchor);

// A segment that retention might remove, as known without reading it: the
// next segment's first record follows its last one.
struct SegmentToPrune {
  uint64_t index = 0;
  // Of its last record.
  uint64_t last_sequence = 0;
  // None of its records is newer: the next segment's first record's time.
  absl::Time records_until;
};

// What pruning must keep.
struct PruneGuards {
  // Records at or after it stay: now - retention.
  absl::Time cutoff;
  uint64_t segment_being_written = 0;
  // The head the last signed checkpoint covers: later records stay.
  uint64_t checkpoint_head = 0;
  // The segment of the oldest INTENT whose OUTCOME has not been appended:
  // it stays, and every later one.
  uint64_t oldest_open_intent_segment = std::numeric_limits<uint64_t>::max();
};

// Whether `segment` may be removed (with the segments before it).
bool MayPrune(const SegmentToPrune& segment, const PruneGuards& guards);

}  // namespace idgate
