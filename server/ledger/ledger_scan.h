#pragma once

// One walk over a ledger's segments, shared by start-up recovery
// (FileLedger) and idgate-audit. The scan frames each segment, checks every
// record's hash and the chain across segments (sequence, prev_hash, a
// checkpoint's head), and hands each record that passed to a visitor.
// Damage is reported the same way for every caller: the segment, the
// record's position in the chain and what is wrong. An interrupted write at
// the end of the last segment (a torn tail) is told apart from damage
// anywhere else, since only the writer's last write can be cut short.
//
// The scan takes bytes from a SegmentSource and has no I/O policy of its
// own. It can start at any segment: after the genesis (a whole ledger),
// after a chain head known from elsewhere (a ledger pruned up to an
// anchor), or taking the first record's link on trust (the tail that
// start-up verifies).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "server/ledger/ledger.h"
#include "server/ledger/segment_format.h"
#include "server/ledger/segment_source.h"

namespace idgate {

// Where a scan begins.
struct ScanStart {
  // The first segment read (42 for ledger-000042.log); every later segment
  // of the source follows it.
  uint64_t segment = 1;
  // The record before the first one read; the default is the genesis.
  // Unset: whatever the first record links to is accepted.
  absl::optional<ChainHead> previous = ChainHead();
};

// Where a record is in the files.
struct RecordPosition {
  uint64_t segment = 0;  // index, as in ScanStart
  uint64_t offset = 0;   // of the record's frame in the segment
};

// A segment whose records all passed. The views live only as long as the
// OnSegment call: a visitor copies what it keeps.
struct ScannedSegment {
  uint64_t index = 0;
  absl::string_view name;
  // The bytes as the source supplied them.
  absl::string_view data;
  // The end of the last whole record. Preallocated zeros may follow, and
  // in the last segment a torn write (ScanResult::torn_tail).
  uint64_t valid_bytes = 0;
  bool last = false;
};

// What is wrong, and where.
struct LedgerDamage {
  std::string segment;  // file name
  // The position in the chain where the bad record sits, not the sequence
  // it claims (a duplicate claims an earlier one). Unset when unknown: the
  // first record of a scan that takes its link on trust.
  absl::optional<uint64_t> sequence;
  // Of the bad frame. Unset when the segment file itself is the problem.
  absl::optional<uint64_t> offset;
  std::string reason;

  // "ledger-000002.log: sequence 7 (offset 1290): hash mismatch: ...", or
  // without an offset "ledger-000003.log is missing".
  std::string ToString() const;
};

// Receives what a scan verified, in chain order. The defaults do nothing.
//
// A DATA_LOSS error from OnCheckpoint or OnRecord is damage at that record
// (its message is the reason), so that checks needing more than the chain,
// such as signatures, are reported like the chain's own. Any other error,
// or any error from OnSegment, stops the scan and ScanLedger returns it.
class LedgerVisitor {
 public:
  virtual ~LedgerVisitor() = default;

  // A CHECKPOINT record, before OnRecord sees it: where signatures are
  // checked.
  virtual absl::Status OnCheckpoint(const LedgerRecord& checkpoint,
                                    const RecordPosition& position) {
    return absl::OkStatus();
  }

  // Every record whose hash and link verified, checkpoints included.
  virtual absl::Status OnRecord(const LedgerRecord& record,
                                const RecordPosition& position) {
    return absl::OkStatus();
  }

  // A segment after its records.
  virtual absl::Status OnSegment(const ScannedSegment& segment) {
    return absl::OkStatus();
  }
};

struct ScanResult {
  uint64_t segments = 0;  // read; 0 when the source has none to read
  uint64_t records = 0;   // that verified
  // The last record that verified; ScanStart::previous (or the genesis,
  // when that is unset) if none did.
  ChainHead head;
  // The first problem; the scan stopped there.
  absl::optional<LedgerDamage> damage;
  // The last segment ends inside a record: an interrupted write. Every
  // record before it verified. The reason says how it was cut.
  absl::optional<LedgerDamage> torn_tail;
};

// Sorted indices of the source's segment files (other names are ignored).
absl::StatusOr<std::vector<uint64_t>> ListSegments(SegmentSource& source);

// A missing segment in sorted `indices`, which should run from `first`
// without a gap: a whole segment removed is a removal too.
absl::optional<LedgerDamage> FindMissingSegment(
    const std::vector<uint64_t>& indices, uint64_t first);

// The first record of segment file `name`, hash checked but not linked:
// reads only the start of the file. DATA_LOSS, naming the file, when it has
// no whole first record.
absl::StatusOr<LedgerRecord> ReadFirstRecord(SegmentSource& source,
                                             const std::string& name);

// Scans the source's segments from start.segment to the last one, in
// order. Missing segments are found before any is read. Fails only when
// the source cannot be read or the visitor stops the scan; damage is in
// the result.
absl::StatusOr<ScanResult> ScanLedger(SegmentSource& source,
                                      const ScanStart& start,
                                      LedgerVisitor& visitor);

}  // namespace idgate
