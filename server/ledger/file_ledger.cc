#include "server/ledger/file_ledger.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/time.h"
#include "idgate/config/v1/config.pb.h"
#include "server/ledger/ledger_scan.h"
#include "server/ledger/segment_format.h"

namespace idgate {
namespace {

using ::idgate::ledger::v1::RECORD_KIND_CHECKPOINT;
using ::idgate::ledger::v1::RECORD_KIND_INTENT;
using ::idgate::ledger::v1::RECORD_KIND_OUTCOME;

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
    return absl::OkStatus();
  }

  const SegmentEnd& last_segment() const { return last_segment_; }
  uint64_t records_since_checkpoint() const {
    return records_since_checkpoint_;
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
  return absl::OkStatus();
}

absl::Status FileLedger::Recover() {
  absl::StatusOr<std::vector<uint64_t>> indices = ListSegments(*sink_);
  if (!indices.ok()) return indices.status();
  report_.segments = indices->size();
  report_.head_hash = std::string(kGenesisHash);
  if (indices->empty()) return StartSegment(1, /*create=*/true);
  if (absl::optional<LedgerDamage> missing =
          FindMissingSegment(*indices, indices->front())) {
    return LedgerDamaged(*missing);
  }

  absl::StatusOr<uint64_t> first = FirstSegmentToVerify(
      *sink_, *indices, options_.recovery_intent_window, signer_.has_value());
  if (!first.ok()) return first.status();
  ScanStart start;
  start.segment = *first;
  // The segments before were verified by the start-ups that wrote after
  // them (and are idgate-audit's to check).
  if (*first != 1) start.previous = absl::nullopt;
  RecoveryVisitor visitor(signer_public_.has_value() ? &*signer_public_
                                                     : nullptr);
  absl::StatusOr<ScanResult> scan = ScanLedger(*sink_, start, visitor);
  if (!scan.ok()) return scan.status();
  if (scan->damage.has_value()) return LedgerDamaged(*scan->damage);
  if (scan->records == 0 && indices->front() != 1) {
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
  const uint64_t last_segment_bytes = last.valid_bytes;

  head_sequence_ = scan->head.sequence;
  head_hash_ = scan->head.hash;
  records_since_checkpoint_ = visitor.records_since_checkpoint();
  report_.last_sequence = head_sequence_;
  report_.head_hash = head_hash_;
  report_.records_verified = scan->records;
  visitor.FillReport(&report_);

  absl::Status status = StartSegment(indices->back(), /*create=*/false);
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
  }
  segment_ = *std::move(file);
  segment_index_ = index;
  segment_bytes_ = 0;
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
      for (Pending& pending : batch) {
        if (pending.done) pending.done(absl::OkStatus());
      }
      batch.clear();
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
    absl::Status status = segment_->Seal();
    if (status.ok()) status = StartSegment(segment_index_ + 1, /*create=*/true);
    if (!status.ok()) return status;
  }
  const absl::Time write_start = absl::Now();
  absl::Status status = segment_->Append(buffer_);
  if (status.ok()) status = segment_->Sync();
  if (!status.ok()) return status;
  segment_bytes_ += buffer_.size();
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
  stat_checkpoints_.fetch_add(1, std::memory_order_relaxed);
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
  return stats;
}

}  // namespace idgate
