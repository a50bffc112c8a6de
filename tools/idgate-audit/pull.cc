#include "tools/idgate-audit/pull.h"

#include <sys/stat.h>

#include <cerrno>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"
#include "core/file.h"
#include "server/ledger/ledger_scan.h"
#include "server/ledger/retention.h"
#include "server/ledger/segment_format.h"
#include "server/ledger/segment_sink.h"

namespace idgate::audit {
namespace {

namespace lv1 = ::idgate::ledger::v1;

// Records received but not yet covered by a signed checkpoint are held in
// memory; a replica that sends more than this without one is refused.
constexpr size_t kMaxUncheckpointedBytes = 256 << 20;

// A failure of the replica's ledger: REFUSED, not an I/O error.
absl::Status Refuse(absl::string_view why) { return absl::DataLossError(why); }

absl::Status FromGrpc(const grpc::Status& status, absl::string_view what) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

// Where the mirror stands: the position to ask for and the record the
// replica must send there first (unset for an empty mirror).
struct MirrorHead {
  uint64_t segment = 1;
  uint64_t offset = 0;
  ChainHead head;  // the chain before the first new record
  absl::optional<std::string> last_frame;
  bool needs_anchor = false;  // an empty mirror of a pruned ledger
};

// One pull into one mirror.
class Puller {
 public:
  Puller(lv1::LedgerMirrorService::StubInterface& stub,
         const PullOptions& options, PullReport* report)
      : stub_(stub), options_(options), report_(report) {
    for (const Ed25519PublicKey& key : options.public_keys) {
      keys_[key.KeyId()] = &key;
    }
  }

  absl::Status Run() {
    if (keys_.empty()) {
      return absl::InvalidArgumentError(
          "a pull needs the checkpoint public key(s): it keeps only records "
          "under a signed checkpoint");
    }
    lv1::DescribeLedgerResponse description;
    {
      std::unique_ptr<grpc::ClientContext> context = options_.new_context();
      grpc::Status status = stub_.DescribeLedger(
          context.get(), lv1::DescribeLedgerRequest(), &description);
      if (!status.ok()) return FromGrpc(status, "DescribeLedger");
    }
    if (!IsPlainFileName(description.ledger_name())) {
      return Refuse("the replica's ledger name is not a plain file name");
    }
    report_->ledger_name = description.ledger_name();
    if (::mkdir(options_.out_dir.c_str(), 0750) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, absl::StrCat("mkdir ", options_.out_dir));
    }
    auto sink = NewPosixSegmentSink(
        absl::StrCat(options_.out_dir, "/", description.ledger_name()),
        SinkMode::kWriter);  // creates it; the flock keeps pulls apart
    if (!sink.ok()) return sink.status();
    sink_ = *std::move(sink);

    absl::StatusOr<MirrorHead> start = FindMirrorHead(description);
    if (!start.ok()) return start.status();
    if (start->needs_anchor) {
      absl::Status written = sink_->ReplaceFile(
          std::string(kPruneAnchorFileName), description.prune_anchor());
      if (!written.ok()) return written;
    }
    return Copy(*start);
  }

 private:
  absl::StatusOr<const Ed25519PublicKey*> KeyFor(absl::string_view what,
                                                 const std::string& key_id) {
    auto key = keys_.find(key_id);
    if (key == keys_.end()) {
      return Refuse(absl::StrCat(what, " signed by unknown key ", key_id));
    }
    return key->second;
  }

  // The replica's prune anchor, signature checked.
  absl::StatusOr<LedgerRecord> VerifiedAnchor(const std::string& frame) {
    FrameScan scan = ScanFrames(frame);
    if (scan.frames.size() != 1) {
      return Refuse("the replica's prune anchor is not one whole record");
    }
    auto anchor = DecodeRecord(scan.frames[0].payload);
    if (!anchor.ok()) {
      return Refuse(absl::StrCat("prune anchor: ", anchor.status().message()));
    }
    if (anchor->kind() != lv1::RECORD_KIND_PRUNE) {
      return Refuse("the replica's prune anchor is not a PRUNE record");
    }
    auto key = KeyFor("prune anchor", anchor->prune().key_id());
    if (!key.ok()) return key.status();
    if (absl::Status ok = VerifyPruneSignature(*anchor, **key); !ok.ok()) {
      return Refuse(absl::StrCat("prune anchor: ", ok.message()));
    }
    return anchor;
  }

  absl::StatusOr<MirrorHead> FindMirrorHead(
      const lv1::DescribeLedgerResponse& description) {
    auto segments = ListSegments(*sink_);
    if (!segments.ok()) return segments.status();
    MirrorHead start;
    if (segments->empty()) {
      if (description.prune_anchor().empty()) return start;  // the genesis
      // A new mirror of a pruned ledger starts at its anchor.
      auto anchor = VerifiedAnchor(description.prune_anchor());
      if (!anchor.ok()) return anchor.status();
      ScanStart after = ScanStartAfter(*anchor);
      start.segment = after.segment;
      start.head = *after.previous;
      start.needs_anchor = true;
      return start;
    }
    start.segment = segments->back();
    const std::string name = SegmentFileName(start.segment);
    auto data = sink_->Read(name);
    if (!data.ok()) return data.status();
    FrameScan scan = ScanFrames(*data);
    if (scan.frames.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "mirror ", name, " holds no whole record; remove it and pull again"));
    }
    if (scan.valid_bytes < data->size()) {
      // A pull interrupted while appending: keep the whole records.
      if (absl::Status cut = sink_->Truncate(name, scan.valid_bytes);
          !cut.ok()) {
        return cut;
      }
    }
    const SegmentFrame& last = scan.frames.back();
    auto record = DecodeRecord(last.payload);
    if (!record.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("mirror ", name, ": ", record.status().message()));
    }
    start.head = ChainHead{record->sequence(), record->hash()};
    report_->head_sequence = record->sequence();
    const auto& theirs = description.segments();
    if (theirs.empty() || theirs[theirs.size() - 1] < start.segment) {
      return Refuse(
          absl::StrCat("the replica's ledger ends before the mirror's ", name,
                       ": its history changed (a fork)"));
    }
    if (theirs[0] <= start.segment) {
      // Resume at the mirror's last record, which the replica must send
      // again, unchanged.
      start.offset = last.offset;
      start.last_frame = std::string(
          data->substr(last.offset, kFrameHeaderBytes + last.payload.size()));
      return start;
    }
    // The replica pruned the mirror's last segment since the last pull. Its
    // anchor must be the mirror's last record; the first record kept must
    // link to it.
    if (description.prune_anchor().empty()) {
      return Refuse(absl::StrCat("the replica's ledger starts at ",
                                 SegmentFileName(theirs[0]),
                                 " without a prune anchor"));
    }
    auto anchor = VerifiedAnchor(description.prune_anchor());
    if (!anchor.ok()) return anchor.status();
    if (anchor->prune().last_sequence() > start.head.sequence) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the replica pruned records ", start.head.sequence + 1, " to ",
          anchor->prune().last_sequence(),
          " before this mirror copied them; pull into a new folder"));
    }
    if (anchor->prune().last_sequence() < start.head.sequence) {
      return Refuse(absl::StrCat(
          "the replica's prune anchor (sequence ",
          anchor->prune().last_sequence(), ") is before the mirror's ",
          SegmentFileName(start.segment), ": its history changed (a fork)"));
    }
    start.segment = anchor->prune().first_segment();
    start.offset = 0;
    return start;
  }

  absl::Status Copy(const MirrorHead& start) {
    std::unique_ptr<grpc::ClientContext> context = options_.new_context();
    lv1::ReadLedgerRequest request;
    request.set_segment(start.segment);
    request.set_offset(start.offset);
    std::unique_ptr<grpc::ClientReaderInterface<lv1::ReadLedgerResponse>>
        stream = stub_.ReadLedger(context.get(), request);
    ChainVerifier chain(start.head);
    absl::optional<std::string> expect_again = start.last_frame;
    uint64_t segment = start.segment;
    uint64_t offset = start.offset;
    lv1::ReadLedgerResponse response;
    absl::Status failure;
    while (failure.ok() && stream->Read(&response)) {
      if (response.segment() != segment || response.offset() != offset) {
        if (response.segment() <= segment || response.offset() != 0) {
          failure = Refuse(absl::StrCat(
              "the replica sent ", SegmentFileName(response.segment()),
              " at offset ", response.offset(), " after ",
              SegmentFileName(segment), " up to ", offset));
          break;
        }
        segment = response.segment();
        offset = 0;
      }
      failure = Receive(response, &chain, &expect_again);
      offset += response.frames().size();
    }
    if (!failure.ok()) {
      context->TryCancel();
      stream->Finish();  // the status after a cancel says nothing new
      return failure;
    }
    grpc::Status status = stream->Finish();
    if (!status.ok()) {
      if (status.error_code() == grpc::StatusCode::OUT_OF_RANGE) {
        // Described a moment ago, gone now: the replica pruned meanwhile.
        return absl::FailedPreconditionError(
            absl::StrCat("the replica pruned while the pull ran (",
                         status.error_message(), "); pull again"));
      }
      return FromGrpc(status, "ReadLedger");
    }
    if (expect_again.has_value()) {
      return Refuse(absl::StrCat(
          "the replica no longer has the mirror's last record (sequence ",
          start.head.sequence, "): its history changed"));
    }
    return absl::OkStatus();
  }

  // Checks one chunk's frames; writes what a verified checkpoint covers.
  absl::Status Receive(const lv1::ReadLedgerResponse& response,
                       ChainVerifier* chain,
                       absl::optional<std::string>* expect_again) {
    const std::string& frames = response.frames();
    FrameScan scan = ScanFrames(frames);
    if (scan.tail != SegmentTail::kClean || scan.valid_bytes != frames.size()) {
      return Refuse(absl::StrCat(SegmentFileName(response.segment()),
                                 ": not whole frames at offset ",
                                 response.offset()));
    }
    for (const SegmentFrame& frame : scan.frames) {
      const absl::string_view bytes = absl::string_view(frames).substr(
          frame.offset, kFrameHeaderBytes + frame.payload.size());
      const std::string where =
          absl::StrCat(SegmentFileName(response.segment()), " offset ",
                       response.offset() + frame.offset);
      if (expect_again->has_value()) {
        if (bytes != **expect_again) {
          return Refuse(absl::StrCat(
              where, ": the mirror's last record (sequence ",
              chain->next_sequence().value_or(1) - 1,
              ") differs on the replica: its history changed (a fork)"));
        }
        expect_again->reset();
        continue;
      }
      auto record = DecodeRecord(frame.payload);
      if (!record.ok()) {
        return Refuse(absl::StrCat(where, ": ", record.status().message()));
      }
      if (absl::Status linked = chain->Add(*record); !linked.ok()) {
        return Refuse(absl::StrCat(where, ": ", linked.message()));
      }
      if (record->kind() == lv1::RECORD_KIND_PRUNE) {
        auto key = KeyFor("prune anchor", record->prune().key_id());
        if (!key.ok()) return key.status();
        if (absl::Status ok = VerifyPruneSignature(*record, **key); !ok.ok()) {
          return Refuse(absl::StrCat(where, ": ", ok.message()));
        }
        pending_prune_ =
            Prune{std::string(bytes), record->prune().first_segment()};
      }
      pending_[response.segment()].append(bytes.data(), bytes.size());
      pending_bytes_ += bytes.size();
      ++pending_records_;
      if (record->kind() == lv1::RECORD_KIND_CHECKPOINT) {
        auto key = KeyFor("checkpoint", record->checkpoint().key_id());
        if (!key.ok()) return key.status();
        absl::Status signature = VerifyCheckpointSignature(*record, **key);
        if (!signature.ok()) {
          return Refuse(absl::StrCat(where, ": ", signature.message()));
        }
        ++report_->checkpoints_verified;
        if (absl::Status written = WritePending(); !written.ok()) {
          return written;
        }
        report_->head_sequence = record->sequence();
      } else if (pending_bytes_ > kMaxUncheckpointedBytes) {
        return Refuse(absl::StrCat(where, ": more than ",
                                   kMaxUncheckpointedBytes >> 20,
                                   " MiB of records without a checkpoint"));
      }
    }
    return absl::OkStatus();
  }

  // Appends the held records, now under a verified checkpoint, durably.
  absl::Status WritePending() {
    bool created = false;
    for (auto& [index, bytes] : pending_) {
      const std::string name = SegmentFileName(index);
      auto size = sink_->FileSize(name);
      const bool exists = size.ok();
      if (!exists && !absl::IsNotFound(size.status())) return size.status();
      auto file = sink_->OpenForAppend(name, /*create=*/!exists);
      if (!file.ok()) return file.status();
      created |= !exists;
      if (absl::Status st = (*file)->Append(bytes); !st.ok()) return st;
      if (absl::Status st = (*file)->Seal(); !st.ok()) return st;
    }
    if (created) {
      if (absl::Status st = sink_->SyncDir(); !st.ok()) return st;
    }
    if (pending_prune_.has_value()) {
      if (absl::Status st = ApplyPrune(*pending_prune_); !st.ok()) return st;
      pending_prune_.reset();
    }
    report_->records_copied += pending_records_;
    pending_.clear();
    pending_bytes_ = 0;
    pending_records_ = 0;
    return absl::OkStatus();
  }

  // The replica pruned: so does the mirror, in the gateway's order (the
  // anchor file, then the segments before it), so that it keeps no record
  // longer than the source.
  struct Prune {
    std::string frame;
    uint64_t first_segment = 0;
  };
  absl::Status ApplyPrune(const Prune& prune) {
    absl::Status st =
        sink_->ReplaceFile(std::string(kPruneAnchorFileName), prune.frame);
    if (!st.ok()) return st;
    auto segments = ListSegments(*sink_);
    if (!segments.ok()) return segments.status();
    for (uint64_t index : *segments) {
      if (index >= prune.first_segment) break;
      if (st = sink_->Remove(SegmentFileName(index)); !st.ok()) return st;
    }
    return sink_->SyncDir();
  }

  lv1::LedgerMirrorService::StubInterface& stub_;
  const PullOptions& options_;
  PullReport* report_;
  std::map<std::string, const Ed25519PublicKey*> keys_;
  std::unique_ptr<SegmentSink> sink_;
  // Verified records not yet under a checkpoint, by segment.
  std::map<uint64_t, std::string> pending_;
  size_t pending_bytes_ = 0;
  uint64_t pending_records_ = 0;
  absl::optional<Prune> pending_prune_;
};

}  // namespace

PullReport PullLedger(lv1::LedgerMirrorService::StubInterface& stub,
                      const PullOptions& options) {
  PullReport report;
  absl::Status status = Puller(stub, options, &report).Run();
  report.ok = status.ok();
  if (!status.ok()) {
    report.refused = absl::IsDataLoss(status);
    report.error = std::string(status.message());
  }
  return report;
}

std::string PullSummary(const PullReport& report) {
  const std::string name =
      report.ledger_name.empty() ? "(unnamed)" : report.ledger_name;
  if (report.ok) {
    return absl::StrCat(name, ": OK: ", report.records_copied,
                        " records copied, ", report.checkpoints_verified,
                        " checkpoints verified, head ", report.head_sequence);
  }
  return absl::StrCat(
      name, report.refused ? ": REFUSED: " : ": ERROR: ", report.error);
}

}  // namespace idgate::audit
