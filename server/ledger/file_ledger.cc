#include "server/ledger/file_ledger.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/time.h"
#include "idgate/config/v1/config.pb.h"
#include "server/ledger/ledger_scan.h"
#include "server/ledger/retention.h"
#include "server/ledger/segment_format.h"

namespace idgate {
namespace {

using ::idgate::ledger::v1::RECORD_KIND_CHECKPOINT;
using ::idgate::ledger::v1::RECORD_KIND_INTENT;
using ::idgate::ledger::v1::RECORD_KIND_OUTCOME;
using ::idgate::ledger::v1::RECORD_KIND_PRUNE;

bool IsLowerHexDigest(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) &&
        (c < 'a' || c > 'f')) {
      return false;
    }
  }
  return true;
}

// Refusals that are the caller's bug, found without touching the queue.
absl::Status ValidateForAppend(const LedgerRecord& record) {
  if (record.kind() != RECORD_KIND_INTENT &&
      record.kind() != RECORD_KIND_OUTCOME) {
    return absl::InvalidArgumentError(
        "only INTENT and OUTCOME records can be appended");
  }
  // Keeps a raw ID number (or any other value) out of the one field meant
  // for a pseudonym.
  if (!record.subject_ref().empty() &&
      !IsLowerHexDigest(record.subject_ref())) {
    return absl::InvalidArgumentError(
        "subject_ref must be a lowercase hex HMAC-SHA256");
  }
  if (record.ByteSizeLong() > kMaxRecordBytes / 2) {
    return absl::InvalidArgumentError("ledger record too large");
  }
  return absl::OkStatus();
}

// Damage found at start-up, which the ledger refuses to open over.
absl::Status LedgerDamaged(const LedgerDamage& damage) {
  return absl::DataLossError(absl::StrCat("ledger: ", damage.ToString()));
}

// The segment start-up verifies from: walking back from the last one
// until the range holds a checkpoint (when checkpoints are signed) and
// reaches `window` before the last record. Only the structure is read
// here; the scan from the segment returned verifies, and reports the
// damage of a segment that does not even parse, where the walk stops.
absl::StatusOr<uint64_t> FirstSegmentToVerify(
    SegmentSource& source, const std::vector<uint64_t>& indices,
    absl::Duration window, bool need_checkpoint) {
  bool have_records = false;
  bool have_checkpoint = false;
  absl::Time last_time;
  for (size_t k = indices.size(); k-- > 0;) {
    absl::StatusOr<std::string> data = source.Read(SegmentFileName(indices[k]));
    if (!data.ok()) return data.status();
    FrameScan scan = ScanFrames(*data);
    bool parsed_all = true;
    absl::Time segment_first_time = absl::InfiniteFuture();
    for (size_t f = 0; f < scan.frames.size(); ++f) {
      LedgerRecord record;
      if (!record.ParseFromArray(
              scan.frames[f].payload.data(),
              static_cast<int>(scan.frames[f].payload.size()))) {
        parsed_all = false;
        break;
      }
      if (f == 0) segment_first_time = RecordTime(record);
      if (!have_records && f + 1 == scan.frames.size()) {
        last_time = RecordTime(record);
      }
      if (record.kind() == RECORD_KIND_CHECKPOINT) have_checkpoint = true;
    }
    if (!parsed_all || scan.tail == SegmentTail::kCorrupt) return indices[k];
    if (!scan.frames.empty()) have_records = true;
    const bool window_covered =
        have_records && segment_first_time <= last_time - window;
    if (window_covered && (have_checkpoint || !need_checkpoint)) {
      return indices[k];
    }
  }
  return indices.front();
}

// What start-up learns from the verified range: the last checkpoint, the
// INTENTs without OUTCOME, and the requests that reached a provider (for
// the idempotency store, I8).
class RecoveryVisitor final : public LedgerVisitor {
 public:
  // `key`: the ledger's own checkpoint key, or null when it signs none.
  explicit RecoveryVisitor(const Ed25519PublicKey* key)
      : key_(key), key_id_(key != nullptr ? key->KeyId() : "") {}

  absl::Status OnCheckpoint(const LedgerRecord& checkpoint,
                            const RecordPosition& position) override {
    last_checkpoint_sequence_ = checkpoint.sequence();
    last_checkpoint_signature_verified_ = false;
    // A checkpoint by another key (rotated) cannot be checked here; one
    // claiming our key must verify.
    if (key_ != nullptr && checkpoint.checkpoint().key_id() == key_id_) {
      absl::Status status = VerifyCheckpointSignature(checkpoint, *key_);
      if (!status.ok()) return status;
      last_checkpoint_signature_verified_ = true;
    }
    records_since_checkpoint_ = 0;
    return absl::OkStatus();
  }

  absl::Status OnRecord(const LedgerRecord& record,
                        const RecordPosition& position) override {
    if (first_sequence_ == 0) first_sequence_ = record.sequence();
    last_record_ = ChainHead{record.sequence(), record.hash()};
    last_record_time_ = RecordTime(record);
    segment_newest_ = std::max(segment_newest_, last_record_time_);
    switch (record.kind()) {
      case RECORD_KIND_INTENT: {
        open_intents_[record.disclosure_id()] =
            UnmatchedIntent{record.disclosure_id(), record.sequence(),
                            record.provider(), RecordTime(record)};
        RequestTally& r = requests_[{record.caller(), record.request_id()}];
        if (r.first_sequence == 0) {
          r.first_sequence = record.sequence();
          r.time = RecordTime(record);
        }
        ++r.disclosing_intents;
        ++records_since_checkpoint_;
        break;
      }
      case RECORD_KIND_OUTCOME:
        // An OUTCOME whose INTENT is before the verified range changes
        // nothing: that request is not in `requests_` either.
        if (open_intents_.erase(record.disclosure_id()) > 0 &&
            !record.outcome().sent()) {
          --requests_[{record.caller(), record.request_id()}]
                .disclosing_intents;
        }
        ++records_since_checkpoint_;
        break;
      case RECORD_KIND_PRUNE:
        // Like a checkpoint: one claiming our key must verify.
        if (key_ != nullptr && record.prune().key_id() == key_id_) {
          return VerifyPruneSignature(record, *key_);
        }
        break;
      default:  // checkpoints: OnCheckpoint
        break;
    }
    return absl::OkStatus();
  }

  // What Recover needs to resume appending: the last segment's length.
  struct SegmentEnd {
    std::string name;
    uint64_t size = 0;
    uint64_t valid_bytes = 0;  // zeros or a torn write follow
  };

  absl::Status OnSegment(const ScannedSegment& segment) override {
    last_segment_ = SegmentEnd{std::string(segment.name), segment.data.size(),
                               segment.valid_bytes};
    if (segment.valid_bytes > 0) {
      segment_last_records_[segment.index] =
          LastRecord{last_record_, segment_newest_};
    }
    segment_newest_ = absl::InfinitePast();
    return absl::OkStatus();
  }

  // Each verified segment's last record, and its newest record's time.
  struct LastRecord {
    ChainHead head;
    absl::Time newest;
  };
  const std::map<uint64_t, LastRecord>& segment_last_records() const {
    return segment_last_records_;
  }

  const SegmentEnd& last_segment() const { return last_segment_; }
  uint64_t records_since_checkpoint() const {
    return records_since_checkpoint_;
  }
  absl::Time last_record_time() const { return last_record_time_; }
  // The head the last checkpoint in the verified range covers (0: none).
  uint64_t checkpoint_head() const {
    return last_checkpoint_sequence_ > 0 ? last_checkpoint_sequence_ - 1 : 0;
  }

  // The report's fields that come from the records.
  void FillReport(RecoveryReport* report) {
    report->verified_from_sequence = first_sequence_;
    report->last_checkpoint_sequence = last_checkpoint_sequence_;
    report->last_checkpoint_signature_verified =
        last_checkpoint_signature_verified_;
    for (auto& [id, intent] : open_intents_) {
      report->possibly_disclosed.push_back(std::move(intent));
    }
    std::sort(report->possibly_disclosed.begin(),
              report->possibly_disclosed.end(),
              [](const UnmatchedIntent& a, const UnmatchedIntent& b) {
                return a.sequence < b.sequence;
              });
    std::vector<std::pair<uint64_t, DisclosedRequest>> disclosed;
    for (auto& [key, tally] : requests_) {
      if (tally.disclosing_intents <= 0) continue;
      disclosed.push_back(
          {tally.first_sequence, {key.first, key.second, tally.time}});
    }
    std::sort(disclosed.begin(), disclosed.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [sequence, request] : disclosed) {
      report->disclosed_requests.push_back(std::move(request));
    }
  }

 private:
  // Per (caller, request_id): its INTENTs minus the OUTCOMEs that say
  // nothing was sent. Above zero, the request was (maybe) disclosed.
  struct RequestTally {
    uint64_t first_sequence = 0;
    absl::Time time;
    int disclosing_intents = 0;
  };

  const Ed25519PublicKey* const key_;
  const std::string key_id_;
  uint64_t first_sequence_ = 0;
  ChainHead last_record_;
  absl::Time last_record_time_ = absl::InfinitePast();
  absl::Time segment_newest_ = absl::InfinitePast();
  std::map<uint64_t, LastRecord> segment_last_records_;
  uint64_t last_checkpoint_sequence_ = 0;
  bool last_checkpoint_signature_verified_ = false;
  uint64_t records_since_checkpoint_ = 0;
  std::map<std::string, UnmatchedIntent> open_intents_;
  std::map<std::pair<std::string, std::string>, RequestTally> requests_;
  SegmentEnd last_segment_;
};

}  // namespace

FileLedgerOptions FileLedgerOptions::FromConfig(
    const ::idgate::config::v1::LedgerSettings& settings) {
  FileLedgerOptions options;
  options.segment_max_bytes = settings.segment_max_bytes();
  options.max_batch_records = settings.max_batch_records();
  options.max_pending_records = settings.max_pending_records();
  options.checkpoint_private_key_file = settings.checkpoint_private_key_file();
  options.checkpoint_every_records = settings.checkpoint_every_records();
  options.checkpoint_interval = ToDuration(settings.checkpoint_interval());
  options.retention = ToDuration(settings.retention());
  return options;
}

FileLedger::FileLedger(FileLedgerOptions options,
                       std::unique_ptr<SegmentSink> sink)
    : options_(std::move(options)),
      unawaited_batch_(std::min(kUnawaitedBatch, options_.max_batch_records)),
      sink_(std::move(sink)),
      head_hash_(kGenesisHash) {}

absl::StatusOr<std::unique_ptr<FileLedger>> FileLedger::Open(
    FileLedgerOptions options) {
  absl::StatusOr<std::unique_ptr<SegmentSink>> sink =
      NewPosixSegmentSink(options.dir, SinkMode::kWriter);
  if (!sink.ok()) return sink.status();
  return Open(std::move(options), *std::move(sink));
}

absl::StatusOr<std::unique_ptr<FileLedger>> FileLedger::Open(
    FileLedgerOptions options, std::unique_ptr<SegmentSink> sink) {
  if (sink == nullptr) return absl::InvalidArgumentError("no segment sink");
  // Zero is no setting: the config loader gives the defaults.
  if (options.segment_max_bytes == 0 || options.max_batch_records == 0 ||
      options.max_pending_records == 0) {
    return absl::InvalidArgumentError(
        "ledger: segment_max_bytes, max_batch_records and "
        "max_pending_records must be positive");
  }
  if (options.checkpoint_interval < absl::ZeroDuration() ||
      options.retention < absl::ZeroDuration() ||
      options.recovery_intent_window < absl::ZeroDuration() ||
      options.unawaited_delay < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("ledger: negative duration");
  }
  if (!options.now) return absl::InvalidArgumentError("ledger: no clock");

  std::unique_ptr<FileLedger> ledger(
      new FileLedger(std::move(options), std::move(sink)));
  absl::Status status = ledger->LoadSigner();
  if (status.ok()) status = ledger->Recover();
  if (!status.ok()) return status;
  ledger->last_checkpoint_time_ = ledger->options_.now();
  std::lock_guard<std::mutex> lock(ledger->close_mu_);
  ledger->writer_ = std::thread(&FileLedger::WriterLoop, ledger.get());
  return ledger;
}

FileLedger::~FileLedger() { Close().IgnoreError(); }

absl::Status FileLedger::failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

absl::Status FileLedger::LoadSigner() {
  if (options_.checkpoint_private_key_file.empty()) return absl::OkStatus();
  absl::StatusOr<Ed25519PrivateKey> key =
      Ed25519PrivateKey::FromPemFile(options_.checkpoint_private_key_file);
  if (!key.ok()) {
    return Prefixed("ledger checkpoint key", key.status());
  }
  absl::StatusOr<Ed25519PublicKey> public_key = key->PublicKey();
  if (!public_key.ok()) return public_key.status();
  signer_key_id_ = public_key->KeyId();
  signer_public_.emplace(*std::move(public_key));
  signer_.emplace(*std::move(key));
  // Pruning signs its anchor with the checkpoint key.
  prunes_ = options_.retention > absl::ZeroDuration();
  return absl::OkStatus();
}

absl::Status FileLedger::Recover() {
  absl::StatusOr<std::vector<uint64_t>> indices = ListSegments(*sink_);
  if (!indices.ok()) return indices.status();
  absl::StatusOr<absl::optional<LedgerRecord>> anchor = ReadPruneAnchor(*sink_);
  if (!anchor.ok()) return Prefixed("ledger", anchor.status());
  report_.head_hash = std::string(kGenesisHash);
  if (anchor->has_value()) {
    absl::Status status = ResumeAfterPrune(**anchor, &*indices);
    if (!status.ok()) return status;
  }
  report_.segments = indices->size();
  if (indices->empty()) return LoadSegmentTable({}, 0);
  if (absl::optional<LedgerDamage> missing =
          FindMissingSegment(*indices, indices->front())) {
    return LedgerDamaged(*missing);
  }

  absl::StatusOr<uint64_t> first = FirstSegmentToVerify(
      *sink_, *indices, options_.recovery_intent_window, signer_.has_value());
  if (!first.ok()) return first.status();
  ScanStart start;
  start.segment = *first;
  if (anchor->has_value() && *first == indices->front()) {
    start = ScanStartAfter(**anchor);
  } else if (*first != 1) {
    // The segments before were verified by the start-ups that wrote after
    // them (and are idgate-audit's to check).
    start.previous = absl::nullopt;
  }
  RecoveryVisitor visitor(signer_public_.has_value() ? &*signer_public_
                                                     : nullptr);
  absl::StatusOr<ScanResult> scan = ScanLedger(*sink_, start, visitor);
  if (!scan.ok()) return scan.status();
  if (scan->damage.has_value()) return LedgerDamaged(*scan->damage);
  if (scan->records == 0 && indices->front() != 1 && !anchor->has_value()) {
    return absl::DataLossError(
        "ledger: the segments hold no records, yet the first is not " +
        SegmentFileName(1));
  }

  const RecoveryVisitor::SegmentEnd& last = visitor.last_segment();
  if (scan->torn_tail.has_value()) {
    // The cut bytes were never synced, so no callback was told OK for them
    // and no provider was called.
    report_.torn_tail_bytes = last.size - last.valid_bytes;
    report_.torn_tail_segment = scan->torn_tail->segment;
    report_.torn_tail_reason = scan->torn_tail->reason;
  }
  // Appending resumes at the file's end: cut a torn write and the zeros
  // preallocated before the crash (the writer grows the file again).
  if (last.size > last.valid_bytes) {
    absl::Status truncated = sink_->Truncate(last.name, last.valid_bytes);
    if (!truncated.ok()) return truncated;
  }

  head_sequence_ = scan->head.sequence;
  head_hash_ = scan->head.hash;
  records_since_checkpoint_ = visitor.records_since_checkpoint();
  checkpoint_head_ = visitor.checkpoint_head();
  report_.last_sequence = head_sequence_;
  report_.head_hash = head_hash_;
  report_.records_verified = scan->records;
  visitor.FillReport(&report_);
  absl::Status status = LoadSegmentTable(*indices, last.valid_bytes);
  segment_newest_record_ = visitor.last_record_time();
  // Where the verified segments end is known exactly; the older ones'
  // ends are bounded when pruning reaches them.
  for (const auto& [index, end] : visitor.segment_last_records()) {
    if (index != indices->back()) {
      segments_[index].end = SegmentEnd{end.head, end.newest};
    }
  }
  return status;
}

absl::Status FileLedger::ResumeAfterPrune(const LedgerRecord& anchor,
                                          std::vector<uint64_t>* indices) {
  const auto& prune = anchor.prune();
  report_.pruned_through_sequence = prune.last_sequence();
  report_.pruned_before = ToTime(prune.before());
  // An anchor signed with our key is ours to act on; one signed by another
  // (rotated) key is trusted as far as reading goes, like its checkpoints.
  const bool ours =
      signer_public_.has_value() && prune.key_id() == signer_key_id_;
  if (ours) {
    absl::Status signature = VerifyPruneSignature(anchor, *signer_public_);
    if (!signature.ok()) {
      return Prefixed(absl::StrCat("ledger: ", kPruneAnchorFileName),
                      signature);
    }
  }
  std::vector<uint64_t> kept;
  std::vector<uint64_t> left_behind;
  for (uint64_t index : *indices) {
    (index < prune.first_segment() ? left_behind : kept).push_back(index);
  }
  if (kept.empty() || kept.front() != prune.first_segment()) {
    return absl::DataLossError(absl::StrCat(
        "ledger: ", SegmentFileName(prune.first_segment()),
        " is missing: the prune anchor keeps the chain from there"));
  }
  if (ours && !left_behind.empty()) {
    // A prune interrupted after its anchor was durable: finish it.
    for (uint64_t index : left_behind) {
      absl::Status removed = sink_->Remove(SegmentFileName(index));
      if (!removed.ok()) return removed;
    }
    absl::Status synced = sink_->SyncDir();
    if (!synced.ok()) return synced;
    report_.interrupted_prune_segments_removed = left_behind.size();
  }
  *indices = std::move(kept);
  return absl::OkStatus();
}

absl::Status FileLedger::LoadSegmentTable(const std::vector<uint64_t>& indices,
                                          uint64_t last_segment_bytes) {
  if (indices.empty()) {
    stat_segments_.store(0, std::memory_order_relaxed);
    return StartSegment(1, /*create=*/true);
  }
  uint64_t bytes = last_segment_bytes;
  for (uint64_t index : indices) {
    SegmentInfo& info = segments_[index];
    if (index == indices.back()) break;
    absl::StatusOr<uint64_t> size = sink_->FileSize(SegmentFileName(index));
    if (!size.ok()) return size.status();
    info.bytes = *size;
    bytes += *size;
  }
  stat_bytes_.store(bytes, std::memory_order_relaxed);
  stat_segments_.store(indices.size(), std::memory_order_relaxed);
  // For the oldest record's age only: a segment before the verified range
  // that does not even start with a record is idgate-audit's to report.
  if (absl::StatusOr<LedgerRecord> oldest =
          ReadFirstRecord(*sink_, SegmentFileName(indices.front()));
      oldest.ok()) {
    stat_oldest_record_nanos_.store(absl::ToUnixNanos(RecordTime(*oldest)),
                                    std::memory_order_relaxed);
    oldest_record_known_ = true;
  }
  absl::Status status = StartSegment(indices.back(), /*create=*/false);
  segment_bytes_ = last_segment_bytes;
  return status;
}

absl::Status FileLedger::StartSegment(uint64_t index, bool create) {
  const std::string name = SegmentFileName(index);
  absl::StatusOr<std::unique_ptr<SegmentFile>> file =
      sink_->OpenForAppend(name, create);
  if (!file.ok()) return file.status();
  if (create) {
    // The records in the new file are durable only once its name is.
    absl::Status synced = sink_->SyncDir();
    if (!synced.ok()) return synced;
    stat_segments_created_.fetch_add(1, std::memory_order_relaxed);
    stat_segments_.fetch_add(1, std::memory_order_relaxed);
    segments_[index];
  }
  segment_ = *std::move(file);
  segment_index_ = index;
  segment_bytes_ = 0;
  segment_newest_record_ = absl::InfinitePast();
  return absl::OkStatus();
}

void FileLedger::Append(LedgerRecord record,
                        std::function<void(absl::Status)> done) {
  absl::Status refusal = ValidateForAppend(record);
  if (refusal.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_) {
      refusal = absl::UnavailableError(
          absl::StrCat("ledger failed: ", failure_.message()));
    } else if (closing_) {
      refusal = absl::UnavailableError("ledger closed");
    } else if (queue_.size() >= options_.max_pending_records) {
      refusal = absl::UnavailableError("ledger queue full");
    } else {
      if (queue_.empty()) oldest_queued_ = absl::Now();
      // The writer wakes for the first awaited record or unawaited_batch_
      // records. An unawaited record waits for those, or for the writer's
      // alarm if it rings soon enough.
      const bool awaited = static_cast<bool>(done);
      if ((awaited && awaited_queued_ == 0) ||
          queue_.size() + 1 == unawaited_batch_ ||
          writer_alarm_ > oldest_queued_ + options_.unawaited_delay) {
        work_cv_.notify_one();
      }
      awaited_queued_ += awaited ? 1 : 0;
      queue_.push_back(Pending{std::move(record), std::move(done)});
      return;
    }
  }
  if (done) done(std::move(refusal));
}

void FileLedger::WriterLoop() {
  std::vector<Pending> batch;
  batch.reserve(std::min<size_t>(options_.max_batch_records, 65536));
  while (true) {
    absl::Duration wait = absl::InfiniteDuration();
    if (signer_.has_value() && records_since_checkpoint_ > 0 &&
        options_.checkpoint_interval > absl::ZeroDuration()) {
      wait = std::max(absl::ZeroDuration(),
                      options_.checkpoint_interval -
                          (options_.now() - last_checkpoint_time_));
    }
    bool closing_now;
    {
      std::unique_lock<std::mutex> lock(mu_);
      const absl::Time checkpoint_due = absl::Now() + wait;
      while (!closing_ && awaited_queued_ == 0 &&
             queue_.size() < unawaited_batch_) {
        // Unawaited records do not wake the writer: it wakes for the
        // oldest's due time or, with none queued, one delay after its last
        // write, so that under load Append never has to wake it for them.
        const absl::Time now = absl::Now();
        const absl::Time unawaited_due =
            (queue_.empty() ? last_write_ : oldest_queued_) +
            options_.unawaited_delay;
        absl::Time alarm = checkpoint_due;
        if (!queue_.empty() || unawaited_due > now) {
          alarm = std::min(alarm, unawaited_due);
        }
        if (alarm <= now) break;
        writer_alarm_ = alarm;
        if (alarm == absl::InfiniteFuture()) {
          work_cv_.wait(lock);
        } else {
          work_cv_.wait_for(lock, absl::ToChronoNanoseconds(alarm - now));
        }
        writer_alarm_ = absl::InfinitePast();
      }
      while (!queue_.empty() && batch.size() < options_.max_batch_records) {
        awaited_queued_ -= queue_.front().done ? 1 : 0;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      closing_now = closing_ && queue_.empty();
    }

    bool checkpoint = false;
    const uint64_t unsigned_records = records_since_checkpoint_ + batch.size();
    if (signer_.has_value() && unsigned_records > 0) {
      checkpoint = closing_now ||
                   (options_.checkpoint_every_records > 0 &&
                    unsigned_records >= options_.checkpoint_every_records) ||
                   (options_.checkpoint_interval > absl::ZeroDuration() &&
                    options_.now() - last_checkpoint_time_ >=
                        options_.checkpoint_interval);
    }
    if (!batch.empty() || checkpoint) {
      absl::Status status = Commit(batch, checkpoint);
      if (!status.ok()) {
        Fail(status, batch);
        return;
      }
      // Before the callbacks, so that whoever waited for a record sees the
      // ledger pruned as of its batch; the next batch would wait for the
      // prune all the same.
      if (checkpoint && prunes_ && !closing_now) {
        status = PruneExpiredSegments();
      }
      for (Pending& pending : batch) {
        if (pending.done) pending.done(absl::OkStatus());
      }
      batch.clear();
      if (!status.ok()) {  // the batch itself is durable
        Fail(status, batch);
        return;
      }
      last_write_ = absl::Now();
    }
    if (closing_now) {
      // A ledger closed cleanly leaves no preallocated zeros behind.
      absl::Status sealed = segment_->Seal();
      if (!sealed.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        failure_ = sealed;
      }
      return;
    }
  }
}

absl::Status FileLedger::Commit(std::vector<Pending>& batch, bool checkpoint) {
  buffer_.clear();
  const absl::Time now = options_.now();
  // Where the current segment ends, should this batch go to a new one.
  // Assigned into a member, so that the copy allocates nothing.
  head_before_batch_.sequence = head_sequence_;
  head_before_batch_.hash.assign(head_hash_);
  for (Pending& pending : batch) {
    LedgerRecord& record = pending.record;
    record.clear_checkpoint();
    record.set_sequence(head_sequence_ + 1);
    SetRecordTime(now, &record);
    record.set_prev_hash(head_hash_);
    AppendRecordFrame(&record, &buffer_);
    head_sequence_ = record.sequence();
    head_hash_ = record.hash();
  }
  records_since_checkpoint_ += batch.size();
  if (checkpoint) {
    absl::Status status = AppendCheckpoint(now);
    if (!status.ok()) return status;
  }
  if (segment_bytes_ > 0 &&
      segment_bytes_ + buffer_.size() > options_.segment_max_bytes) {
    // Sealed first, so that only the last segment can end in zeros.
    segments_[segment_index_] = SegmentInfo{
        segment_bytes_, SegmentEnd{head_before_batch_, segment_newest_record_}};
    absl::Status status = segment_->Seal();
    if (status.ok()) status = StartSegment(segment_index_ + 1, /*create=*/true);
    if (!status.ok()) return status;
  }
  const absl::Time write_start = absl::Now();
  absl::Status status = segment_->Append(buffer_);
  if (status.ok()) status = segment_->Sync();
  if (!status.ok()) return status;
  segment_bytes_ += buffer_.size();
  segment_newest_record_ = std::max(segment_newest_record_, now);
  stat_bytes_.fetch_add(buffer_.size(), std::memory_order_relaxed);
  if (!oldest_record_known_) {
    stat_oldest_record_nanos_.store(absl::ToUnixNanos(now),
                                    std::memory_order_relaxed);
    oldest_record_known_ = true;
  }
  if (prunes_) TrackOpenIntents(batch);
  const size_t records = batch.size() + (checkpoint ? 1 : 0);
  stat_records_.fetch_add(records, std::memory_order_relaxed);
  stat_batches_.fetch_add(1, std::memory_order_relaxed);
  if (options_.on_batch) options_.on_batch(records, absl::Now() - write_start);
  return absl::OkStatus();
}

absl::Status FileLedger::AppendCheckpoint(absl::Time now) {
  absl::StatusOr<std::string> signature =
      signer_->Sign(CheckpointMessage(head_sequence_, head_hash_));
  if (!signature.ok()) return signature.status();
  LedgerRecord record;
  record.set_kind(RECORD_KIND_CHECKPOINT);
  record.set_sequence(head_sequence_ + 1);
  SetRecordTime(now, &record);
  record.set_prev_hash(head_hash_);
  auto* body = record.mutable_checkpoint();
  body->set_head_sequence(head_sequence_);
  body->set_head_hash(head_hash_);
  body->set_signature(absl::Base64Escape(*signature));
  body->set_key_id(signer_key_id_);
  AppendRecordFrame(&record, &buffer_);
  head_sequence_ = record.sequence();
  head_hash_ = record.hash();
  records_since_checkpoint_ = 0;
  last_checkpoint_time_ = now;
  checkpoint_head_ = body->head_sequence();
  stat_checkpoints_.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

void FileLedger::TrackOpenIntents(std::vector<Pending>& batch) {
  for (Pending& pending : batch) {
    LedgerRecord& record = pending.record;
    if (record.kind() == RECORD_KIND_INTENT) {
      // The record is written: its id moves into the map, uncopied.
      open_intents_.emplace(std::move(*record.mutable_disclosure_id()),
                            segment_index_);
    } else if (record.kind() == RECORD_KIND_OUTCOME) {
      open_intents_.erase(record.disclosure_id());
    }
  }
}

uint64_t FileLedger::OldestOpenIntentSegment() const {
  uint64_t oldest = std::numeric_limits<uint64_t>::max();
  for (const auto& [id, segment] : open_intents_) {
    oldest = std::min(oldest, segment);
  }
  return oldest;
}

absl::StatusOr<FileLedger::SegmentEnd> FileLedger::EndOf(uint64_t index) {
  SegmentInfo& info = segments_[index];
  if (!info.end.has_value()) {
    absl::StatusOr<LedgerRecord> next =
        ReadFirstRecord(*sink_, SegmentFileName(index + 1));
    if (!next.ok()) return next.status();
    info.end = SegmentEnd{ChainHead{next->sequence() - 1, next->prev_hash()},
                          RecordTime(*next)};
  }
  return *info.end;
}

absl::Status FileLedger::PruneExpiredSegments() {
  PruneGuards guards;
  guards.cutoff = options_.now() - options_.retention;
  guards.segment_being_written = segment_index_;
  guards.checkpoint_head = checkpoint_head_;
  bool open_intents_looked_at = false;
  std::vector<uint64_t> expired;
  SegmentEnd last_removed;
  for (auto it = segments_.begin();
       it != segments_.end() && it->first < segment_index_ &&
       expired.size() < kMaxSegmentsPerPrune;
       ++it) {
    absl::StatusOr<SegmentEnd> end = EndOf(it->first);
    if (!end.ok()) {
      // Damage before the range start-up verifies: the segments from here on
      // stay (idgate-audit names the damage), and appending goes on.
      if (blocked_segment_ != it->first && options_.on_prune) {
        PruneEvent blocked;
        blocked.blocked = end.status();
        options_.on_prune(blocked);
      }
      blocked_segment_ = it->first;
      break;
    }
    const SegmentToPrune segment{it->first, end->last.sequence,
                                 end->records_until};
    if (!MayPrune(segment, guards)) break;
    // The open intents are looked through only once a segment could go,
    // not at every checkpoint.
    if (!open_intents_looked_at) {
      guards.oldest_open_intent_segment = OldestOpenIntentSegment();
      open_intents_looked_at = true;
      if (!MayPrune(segment, guards)) break;
    }
    expired.push_back(it->first);
    last_removed = *std::move(end);
  }
  if (expired.empty()) return absl::OkStatus();
  const uint64_t first_kept = expired.back() + 1;

  // 1. The anchor in the chain, covered by a checkpoint at once.
  LedgerRecord record;
  record.set_kind(RECORD_KIND_PRUNE);
  auto* anchor = record.mutable_prune();
  anchor->set_last_sequence(last_removed.last.sequence);
  anchor->set_last_hash(last_removed.last.hash);
  SetTimestamp(guards.cutoff, anchor->mutable_before());
  anchor->set_first_segment(first_kept);
  absl::StatusOr<std::string> signature =
      signer_->Sign(PruneAnchorMessage(*anchor));
  if (!signature.ok()) return signature.status();
  anchor->set_signature(absl::Base64Escape(*signature));
  anchor->set_key_id(signer_key_id_);
  std::vector<Pending> batch;
  batch.push_back(Pending{std::move(record), nullptr});
  absl::Status status = Commit(batch, /*checkpoint=*/true);
  if (!status.ok()) return status;

  // 2. The anchor file, where readers look before the first segment.
  std::string anchor_file;
  AppendRecordFrame(&batch.front().record, &anchor_file);
  status = sink_->ReplaceFile(std::string(kPruneAnchorFileName), anchor_file);
  if (!status.ok()) return status;

  // 3. The segments, oldest first, so that the ones left stay contiguous.
  uint64_t bytes = 0;
  for (uint64_t index : expired) {
    status = sink_->Remove(SegmentFileName(index));
    if (!status.ok()) return status;
    bytes += segments_[index].bytes;
    segments_.erase(index);
  }
  status = sink_->SyncDir();
  if (!status.ok()) return status;

  stat_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
  stat_segments_.fetch_sub(expired.size(), std::memory_order_relaxed);
  // The oldest record is now the first kept. Only the gauge needs it: if it
  // cannot be read, the removed records' bound is close to it.
  absl::StatusOr<LedgerRecord> oldest =
      ReadFirstRecord(*sink_, SegmentFileName(first_kept));
  stat_oldest_record_nanos_.store(
      absl::ToUnixNanos(oldest.ok() ? RecordTime(*oldest)
                                    : last_removed.records_until),
      std::memory_order_relaxed);
  stat_prunes_.fetch_add(1, std::memory_order_relaxed);
  stat_segments_pruned_.fetch_add(expired.size(), std::memory_order_relaxed);
  if (options_.on_prune) {
    PruneEvent pruned;
    pruned.segments_removed = expired.size();
    pruned.first_segment_kept = first_kept;
    pruned.last_sequence = last_removed.last.sequence;
    pruned.before = guards.cutoff;
    options_.on_prune(pruned);
  }
  return absl::OkStatus();
}

void FileLedger::Fail(const absl::Status& cause, std::vector<Pending>& batch) {
  const absl::Status unavailable =
      absl::UnavailableError(absl::StrCat("ledger failed: ", cause.message()));
  std::deque<Pending> queued;
  {
    std::lock_guard<std::mutex> lock(mu_);
    failed_ = true;
    failure_ = cause;
    // Before any callback runs, so that callbacks see the failure.
    healthy_.store(false, std::memory_order_release);
    queued.swap(queue_);
    awaited_queued_ = 0;
  }
  for (Pending& pending : batch) {
    if (pending.done) pending.done(unavailable);
  }
  for (Pending& pending : queued) {
    if (pending.done) pending.done(unavailable);
  }
  batch.clear();
}

absl::Status FileLedger::Close() {
  std::lock_guard<std::mutex> close_lock(close_mu_);
  if (writer_.joinable() && writer_.get_id() == std::this_thread::get_id()) {
    // From a callback: the writer cannot wait for itself.
    return absl::FailedPreconditionError(
        "FileLedger::Close called from a ledger callback");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
    work_cv_.notify_one();
  }
  if (writer_.joinable()) writer_.join();
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

FileLedger::Stats FileLedger::stats() const {
  Stats stats;
  stats.records = stat_records_.load(std::memory_order_relaxed);
  stats.batches = stat_batches_.load(std::memory_order_relaxed);
  stats.checkpoints = stat_checkpoints_.load(std::memory_order_relaxed);
  stats.segments_created =
      stat_segments_created_.load(std::memory_order_relaxed);
  stats.bytes = stat_bytes_.load(std::memory_order_relaxed);
  stats.segments = stat_segments_.load(std::memory_order_relaxed);
  const int64_t oldest =
      stat_oldest_record_nanos_.load(std::memory_order_relaxed);
  if (oldest != kNoRecordYet) {
    stats.oldest_record_time = absl::FromUnixNanos(oldest);
  }
  stats.prunes = stat_prunes_.load(std::memory_order_relaxed);
  stats.segments_pruned = stat_segments_pruned_.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace idgate
