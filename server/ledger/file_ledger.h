#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "server/ledger/crypto.h"
#include "server/ledger/ledger.h"
#include "server/ledger/segment_format.h"
#include "server/ledger/segment_sink.h"

namespace idgate::config::v1 {
class LedgerSettings;
}  // namespace idgate::config::v1

namespace idgate {

// What one prune removed, or why it stopped short.
struct PruneEvent {
  uint64_t segments_removed = 0;
  uint64_t first_segment_kept = 0;
  // The last record removed, and a time every removed record precedes.
  uint64_t last_sequence = 0;
  absl::Time before;
  // Not OK when pruning cannot tell where a segment ends (its successor's
  // first record is damaged): it and the later segments stay. Told once
  // per segment.
  absl::Status blocked;
};

struct FileLedgerOptions {
  // The settings config.proto's LedgerSettings holds, as the config loader
  // has defaulted them; dir, now and on_batch are the caller's.
  static FileLedgerOptions FromConfig(
      const ::idgate::config::v1::LedgerSettings& settings);

  // Directory of the segment files; created (not its parents) if missing.
  std::string dir;

  // The configured settings (FromConfig) have no defaults here: the config
  // loader is the one place that gives them (tests: TestLedgerOptions).
  // A batch that would grow the current segment past this goes to a new one.
  // Must be positive, as must the next two.
  uint64_t segment_max_bytes = 0;
  // Most records per write + fdatasync.
  size_t max_batch_records = 0;
  // Most records waiting for the writer; beyond it Append fails UNAVAILABLE.
  size_t max_pending_records = 0;
  // PEM Ed25519 private key signing checkpoints; empty = no checkpoints.
  std::string checkpoint_private_key_file;
  // A checkpoint is written at the end of the first batch that brings the
  // records since the last one to this many (0 = no count trigger), when
  // this much time has passed since the last one and records were added
  // (0 = no time trigger), and at Close().
  uint64_t checkpoint_every_records = 0;
  absl::Duration checkpoint_interval = absl::ZeroDuration();
  // Records are kept at least this long: after each checkpoint, whole
  // segments whose records are all older are removed behind a signed prune
  // anchor (retention.h). Only with a checkpoint key; zero keeps every
  // record.
  absl::Duration retention = absl::ZeroDuration();

  // Not in the config: the defaults below are the only ones.
  //
  // At start-up, INTENTs without OUTCOME are looked for at least this far
  // back from the last record. Must exceed the longest provider call.
  absl::Duration recovery_intent_window = absl::Minutes(10);
  // Records appended without a callback (nobody waits for them: outcomes)
  // need not wake the writer: they go with the next awaited record's batch,
  // once FileLedger::kUnawaitedBatch are queued, or once the oldest has
  // waited this long. Fewer fdatasyncs and wake-ups, at the price of losing
  // up to this window of them if the process dies (Close writes them).
  absl::Duration unawaited_delay = absl::Milliseconds(10);
  // Clock for record times and checkpoint intervals.
  std::function<absl::Time()> now = [] { return absl::Now(); };
  // Optional, for metrics: runs on the writer thread after each durable
  // batch with its record count (checkpoint included) and the time its
  // write and fdatasync took. Must be quick and must not call the ledger.
  std::function<void(size_t records, absl::Duration write_and_sync)> on_batch;
  // Optional, for logs: runs on the writer thread after each prune. Must be
  // quick and must not call the ledger.
  std::function<void(const PruneEvent&)> on_prune;
};

// An INTENT with no OUTCOME after it: the request may have reached the
// provider before a crash.
struct UnmatchedIntent {
  std::string disclosure_id;
  uint64_t sequence = 0;
  std::string provider;
  absl::Time time;
};

// A request that reached, or may have reached, a provider: a retry of it
// must not be sent again after a restart either (I8).
struct DisclosedRequest {
  std::string caller;
  std::string request_id;
  absl::Time time;  // of its first INTENT
};

// What Open() found.
struct RecoveryReport {
  uint64_t segments = 0;
  // The chain head the ledger resumes from (0 and genesis when empty).
  uint64_t last_sequence = 0;
  std::string head_hash;
  // Start-up verifies the chain from the start of the segment holding the
  // last checkpoint, extended back to cover recovery_intent_window (without
  // a checkpoint key: only the window); 1 when that reached the genesis.
  uint64_t verified_from_sequence = 0;
  uint64_t records_verified = 0;
  // The last checkpoint in the verified range (0: none) and whether its
  // signature was checked (false when signed by another key, or no key).
  uint64_t last_checkpoint_sequence = 0;
  bool last_checkpoint_signature_verified = false;
  // An interrupted write at the end of the last segment, cut off so that
  // the chain continues from the last whole record.
  uint64_t torn_tail_bytes = 0;
  std::string torn_tail_segment;
  std::string torn_tail_reason;
  // INTENTs without OUTCOME in the verified range, by sequence.
  std::vector<UnmatchedIntent> possibly_disclosed;
  // Requests with an INTENT in the verified range that was sent or has no
  // OUTCOME, one per (caller, request_id), oldest first.
  std::vector<DisclosedRequest> disclosed_requests;
  // The prune anchor the chain starts after (0: never pruned): the last
  // record removed, and a time every removed record precedes.
  uint64_t pruned_through_sequence = 0;
  absl::Time pruned_before;
  // Segments before the anchor that a prune interrupted by a crash had left,
  // removed now.
  uint64_t interrupted_prune_segments_removed = 0;
};

// A Ledger in a directory of append-only segment files (format in
// segment_format.h) with group commit: Append only enqueues; one writer
// thread takes up to max_batch_records, chains and writes them with one
// write(), fdatasyncs, and only then runs their callbacks with OK. It
// wakes for a record with a callback, kUnawaitedBatch records without one,
// a checkpoint or Close; records without one wait for those, or for
// unawaited_delay.
//
// A write, sync, segment creation or signing error is fatal: the batch and
// every later Append get UNAVAILABLE and healthy() turns false. Nothing is
// retried, since after a failed fsync the kernel may have dropped the data
// and a second fsync can succeed without writing it.
//
// Callbacks run on the writer thread, except for an Append refused at once
// (queue full, ledger failed or closed, invalid record): its callback runs
// on the calling thread before Append returns.
//
// With a retention and a checkpoint key, the writer prunes after each
// checkpoint (retention.h): at most kMaxSegmentsPerPrune segments, whose
// records are all older than the retention, covered by a checkpoint, and
// before the segment being written and before the segment of the oldest
// INTENT appended since start-up that still waits for its OUTCOME. An
// INTENT left without OUTCOME by a crash holds nothing: no OUTCOME can come
// for it any more (start-up reported it as possibly disclosed). A failure
// to write or remove a file while pruning is fatal like a write error.
class FileLedger final : public Ledger {
 public:
  // Unawaited records queued that wake the writer: a burst of them (a wave
  // of answers) goes out in steady batches, not one large one per delay.
  static constexpr size_t kUnawaitedBatch = 64;
  // The most segments one prune removes: the writer's pause stays short,
  // and the next checkpoint's prune goes on.
  static constexpr size_t kMaxSegmentsPerPrune = 16;

  struct Stats {
    uint64_t records = 0;  // durable, checkpoints included
    uint64_t batches = 0;  // write + fdatasync rounds
    uint64_t checkpoints = 0;
    uint64_t segments_created = 0;
    // The ledger now: the segment files' bytes (without the space grown
    // ahead of the records), their number, and the time of the oldest
    // record (none while the ledger is empty).
    uint64_t bytes = 0;
    uint64_t segments = 0;
    absl::optional<absl::Time> oldest_record_time;
    // Prunes that removed segments, and the segments they removed.
    uint64_t prunes = 0;
    uint64_t segments_pruned = 0;
  };

  // Recovers the ledger in options.dir (see RecoveryReport) and starts the
  // writer. Fails closed, naming the segment and sequence, on any damage
  // other than a torn tail of the last segment.
  static absl::StatusOr<std::unique_ptr<FileLedger>> Open(
      FileLedgerOptions options);
  // Same, over `sink` instead of the local directory (tests).
  static absl::StatusOr<std::unique_ptr<FileLedger>> Open(
      FileLedgerOptions options, std::unique_ptr<SegmentSink> sink);

  FileLedger(const FileLedger&) = delete;
  FileLedger& operator=(const FileLedger&) = delete;
  ~FileLedger() override;

  // Accepts INTENT and OUTCOME records; sequence, time, prev_hash and hash
  // are set by the ledger. subject_ref must be empty or 64 lowercase hex
  // digits (an HMAC, never a raw value): anything else is INVALID_ARGUMENT.
  void Append(LedgerRecord record,
              std::function<void(absl::Status)> done) override;

  bool healthy() const override {
    return healthy_.load(std::memory_order_acquire);
  }

  // Refuses new appends, makes every accepted record durable, writes a last
  // checkpoint and stops the writer. Returns the error that failed the
  // ledger, if one did. Idempotent; the destructor calls it. Neither may be
  // called from a ledger callback (Append may).
  absl::Status Close();

  const RecoveryReport& recovery_report() const { return report_; }
  // Why the ledger failed (OK while healthy): names the file and errno.
  absl::Status failure() const;
  Stats stats() const;

 private:
  struct Pending {
    LedgerRecord record;
    std::function<void(absl::Status)> done;
  };

  // Where a sealed segment ends: its last record, and a time none of its
  // records is newer than.
  struct SegmentEnd {
    ChainHead last;
    absl::Time records_until;
  };
  // What the writer knows of a segment in the directory.
  struct SegmentInfo {
    // Of a sealed segment (the one being written: segment_bytes_).
    uint64_t bytes = 0;
    // Exact for the segments this process sealed. For older ones, known
    // when pruning first needs it, from the next segment's first record
    // (whose time bounds them).
    absl::optional<SegmentEnd> end;
  };

  FileLedger(FileLedgerOptions options, std::unique_ptr<SegmentSink> sink);

  absl::Status Recover();
  // Starts the chain after the prune anchor: checks its signature when it
  // is ours, removes the segments an interrupted prune left before it, and
  // drops them from `indices`.
  absl::Status ResumeAfterPrune(const LedgerRecord& anchor,
                                std::vector<uint64_t>* indices);
  absl::Status LoadSigner();
  void WriterLoop();
  // Chains, writes and syncs `batch` (and a checkpoint when asked).
  absl::Status Commit(std::vector<Pending>& batch, bool checkpoint);
  absl::Status AppendCheckpoint(absl::Time now);
  absl::Status StartSegment(uint64_t index, bool create);
  // The segments table and size statistics of what Recover found.
  absl::Status LoadSegmentTable(const std::vector<uint64_t>& indices,
                                uint64_t last_segment_bytes);
  // Keeps the disclosure ids of the batch's INTENTs until their OUTCOMEs.
  void TrackOpenIntents(std::vector<Pending>& batch);
  uint64_t OldestOpenIntentSegment() const;
  // `index` must not be the segment being written.
  absl::StatusOr<SegmentEnd> EndOf(uint64_t index);
  // Removes what retention lets go (see the class comment).
  absl::Status PruneExpiredSegments();
  // Marks the ledger failed, then fails `batch` and everything queued.
  void Fail(const absl::Status& cause, std::vector<Pending>& batch);

  const FileLedgerOptions options_;
  const size_t unawaited_batch_;  // kUnawaitedBatch, at most a full batch
  const std::unique_ptr<SegmentSink> sink_;
  RecoveryReport report_;

  // Checkpoint signing; unset when no key is configured.
  absl::optional<Ed25519PrivateKey> signer_;
  absl::optional<Ed25519PublicKey> signer_public_;
  std::string signer_key_id_;

  // Writer thread state (and Open's, before the thread starts).
  std::unique_ptr<SegmentFile> segment_;
  uint64_t segment_index_ = 0;
  uint64_t segment_bytes_ = 0;
  uint64_t head_sequence_ = 0;
  std::string head_hash_;
  uint64_t records_since_checkpoint_ = 0;
  absl::Time last_checkpoint_time_;
  std::string buffer_;
  absl::Time last_write_ = absl::InfinitePast();
  // The head the last checkpoint covers.
  uint64_t checkpoint_head_ = 0;
  // The time of the newest record in the segment being written.
  absl::Time segment_newest_record_ = absl::InfinitePast();
  // Commit's: the head before the batch it writes.
  ChainHead head_before_batch_;
  // Retention: whether this ledger prunes (a key and a retention), every
  // segment in the directory, and, while it prunes, the segment of each
  // INTENT not yet followed by its OUTCOME, by disclosure id.
  bool prunes_ = false;
  std::map<uint64_t, SegmentInfo> segments_;
  absl::flat_hash_map<std::string, uint64_t> open_intents_;
  bool oldest_record_known_ = false;
  // The segment pruning last stopped at, unable to read where it ends.
  uint64_t blocked_segment_ = 0;

  std::atomic<bool> healthy_{true};
  std::atomic<uint64_t> stat_records_{0};
  std::atomic<uint64_t> stat_batches_{0};
  std::atomic<uint64_t> stat_checkpoints_{0};
  std::atomic<uint64_t> stat_segments_created_{0};
  std::atomic<uint64_t> stat_bytes_{0};
  std::atomic<uint64_t> stat_segments_{0};
  // Unix nanoseconds; kNoRecordYet while the ledger is empty.
  static constexpr int64_t kNoRecordYet = INT64_MIN;
  std::atomic<int64_t> stat_oldest_record_nanos_{kNoRecordYet};
  std::atomic<uint64_t> stat_prunes_{0};
  std::atomic<uint64_t> stat_segments_pruned_{0};

  // std::mutex rather than absl::Mutex: Debian's prebuilt Abseil is not
  // instrumented, so ThreadSanitizer cannot see absl::Mutex synchronize.
  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<Pending> queue_;  // guarded by mu_
  // Queued records with a callback.
  size_t awaited_queued_ = 0;  // guarded by mu_
  // When the oldest queued record came (or earlier).
  absl::Time oldest_queued_;  // guarded by mu_
  // When the waiting writer wakes by itself; InfinitePast while it is awake.
  absl::Time writer_alarm_ = absl::InfinitePast();  // guarded by mu_
  bool closing_ = false;                            // guarded by mu_
  bool failed_ = false;                             // guarded by mu_
  absl::Status failure_;                            // guarded by mu_

  std::mutex close_mu_;
  std::thread writer_;  // guarded by close_mu_
};

}  // namespace idgate
