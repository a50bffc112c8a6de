#pragma once

// On-disk format of the ledger, shared by the writer (FileLedger), start-up
// recovery and idgate-audit.
//
// A ledger is a directory of segment files ledger-000001.log, ... Each
// segment is a sequence of frames:
//
//   frame   = length:u32le  check:u32le (= ~length)  payload[length]
//   payload = S  0x8A 0x01 0x40  hash[64]
//
// S is the deterministic protobuf serialization of the LedgerRecord with
// `hash` cleared; the trailing bytes are field 17 (`hash`), so the payload
// parses as the whole record. hash = lowercase hex SHA-256(S), and prev_hash
// is the previous record's hash (64 zeros for sequence 1), continuing across
// segments. The hash covers the bytes as written, so verification needs no
// re-serialization and no byte of S can change unnoticed.
//
// The writer preallocates segments with zeros (so that fdatasync need not
// write the inode's new size with every batch): zeros after the last frame
// are free space. The header check word lets a damaged length be told
// apart from a torn write: a crash can only leave a prefix of the last
// write followed by zeros (or by the end of the file), and a payload never
// ends with a zero byte (it ends with its hash in hex).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "server/ledger/crypto.h"
#include "server/ledger/ledger.h"

namespace idgate {

// prev_hash of the first record.
inline constexpr absl::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";
inline constexpr size_t kFrameHeaderBytes = 8;
// Far above any real record; a larger length is damage, not a record.
inline constexpr size_t kMaxRecordBytes = 1 << 20;

// "ledger-000042.log" for 42.
std::string SegmentFileName(uint64_t index);
// 42 for "ledger-000042.log"; nullopt for any other name.
absl::optional<uint64_t> ParseSegmentFileName(absl::string_view name);

// Sets record->time from `time`.
void SetRecordTime(absl::Time time, LedgerRecord* record);
void SetTimestamp(absl::Time time, google::protobuf::Timestamp* timestamp);
absl::Time RecordTime(const LedgerRecord& record);

// Computes the record's hash (record->sequence, time and prev_hash must be
// set; any `hash` is replaced), stores it in record->hash and appends the
// record's frame to `out`.
void AppendRecordFrame(LedgerRecord* record, std::string* out);

// The exact bytes an Ed25519 checkpoint signature covers.
std::string CheckpointMessage(uint64_t head_sequence,
                              absl::string_view head_hash);

// Checks a CHECKPOINT record's key id and signature against `key`.
absl::Status VerifyCheckpointSignature(const LedgerRecord& checkpoint,
                                       const Ed25519PublicKey& key);

// The exact bytes an Ed25519 prune anchor signature covers: every field of
// the anchor but the signature and key id.
std::string PruneAnchorMessage(const ::idgate::ledger::v1::PruneAnchor& anchor);

// Checks a PRUNE record's key id and signature against `key`.
absl::Status VerifyPruneSignature(const LedgerRecord& prune,
                                  const Ed25519PublicKey& key);

// --- Reading (ledger_scan.h walks whole ledgers with these) ---

struct SegmentFrame {
  uint64_t offset = 0;  // of the frame header
  absl::string_view payload;
};

enum class SegmentTail {
  kClean,    // the segment ends after a whole frame (zeros may follow)
  kTorn,     // it ends inside a frame: an interrupted write
  kCorrupt,  // a frame header is damaged
};

struct FrameScan {
  std::vector<SegmentFrame> frames;  // the whole frames before any bad one
  uint64_t valid_bytes = 0;  // end of the last whole frame; zeros or a torn
                             // write may follow
  SegmentTail tail = SegmentTail::kClean;
  std::string tail_reason;  // for kTorn and kCorrupt
};

// Splits a segment into frames; stops at the first bad header or torn end.
// Payloads point into `segment`.
FrameScan ScanFrames(absl::string_view segment);

// Checks a payload's hash and parses it. Fails (DATA_LOSS) with a reason.
absl::StatusOr<LedgerRecord> DecodeRecord(absl::string_view payload);

// The last record of a chain: the next one must have sequence + 1 and
// prev_hash == hash. The default is the genesis, before record 1.
struct ChainHead {
  uint64_t sequence = 0;
  std::string hash = std::string(kGenesisHash);
};

// Checks that records follow each other: sequence, prev_hash, and that a
// checkpoint names the record before it. Signatures are checked apart
// (VerifyCheckpointSignature) because they need keys.
class ChainVerifier {
 public:
  // Expects the chain from its first record (sequence 1, genesis prev_hash).
  ChainVerifier() = default;

  // Expects the record after `previous`: for a range of the chain that
  // starts after a head known from elsewhere (a pruned ledger's anchor).
  explicit ChainVerifier(ChainHead previous) : head_(std::move(previous)) {}

  // Accepts whatever link the first record has to its predecessor: for
  // verifying the tail of a ledger whose head was verified before.
  static ChainVerifier TrustingFirstLink();

  // Checks `record` (already through DecodeRecord) and makes it the head.
  // Failures are DATA_LOSS with a reason that names sequences, not content.
  // A PRUNE record must name records before it; which were removed is for
  // the reader of the ledger directory to check (prune_anchor.h).
  absl::Status Add(const LedgerRecord& record);

  // The sequence the next record must have; unknown before the first
  // record when trusting the first link.
  absl::optional<uint64_t> next_sequence() const {
    if (trust_first_link_ && records_ == 0) return absl::nullopt;
    return head_.sequence + 1;
  }
  // The last record added (or the one expected before the first).
  const ChainHead& head() const { return head_; }
  uint64_t head_sequence() const { return head_.sequence; }
  const std::string& head_hash() const { return head_.hash; }
  uint64_t records() const { return records_; }

 private:
  bool trust_first_link_ = false;
  ChainHead head_;
  uint64_t records_ = 0;
};

}  // namespace idgate
