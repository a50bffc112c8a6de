#include "server/ledger/ledger_scan.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace idgate {
namespace {

using ::idgate::ledger::v1::RECORD_KIND_CHECKPOINT;

// Scans one segment's frames, feeding `chain` and `visitor`. Damage goes to
// result->damage and a torn end of the last segment to result->torn_tail;
// an error is the visitor's (other than DATA_LOSS).
absl::Status ScanSegment(uint64_t index, const std::string& name,
                         absl::string_view data, bool last,
                         ChainVerifier& chain, LedgerVisitor& visitor,
                         ScanResult* result) {
  auto damage = [&](absl::optional<uint64_t> sequence, uint64_t offset,
                    absl::string_view reason) {
    result->damage = LedgerDamage{name, sequence, offset, std::string(reason)};
    return absl::OkStatus();
  };
  const FrameScan frames = ScanFrames(data);
  for (const SegmentFrame& frame : frames.frames) {
    const absl::optional<uint64_t> sequence = chain.next_sequence();
    absl::StatusOr<LedgerRecord> record = DecodeRecord(frame.payload);
    if (!record.ok()) {
      return damage(sequence, frame.offset, record.status().message());
    }
    const RecordPosition position{index, frame.offset};
    absl::Status status = chain.Add(*record);
    if (status.ok() && record->kind() == RECORD_KIND_CHECKPOINT) {
      status = visitor.OnCheckpoint(*record, position);
    }
    if (status.ok()) status = visitor.OnRecord(*record, position);
    if (!status.ok()) {
      if (status.code() != absl::StatusCode::kDataLoss) return status;
      // A record that decoded says where it claims to be.
      return damage(sequence.has_value() ? sequence : record->sequence(),
                    frame.offset, status.message());
    }
  }
  switch (frames.tail) {
    case SegmentTail::kClean:
      break;
    case SegmentTail::kCorrupt:
      return damage(chain.next_sequence(), frames.valid_bytes,
                    frames.tail_reason);
    case SegmentTail::kTorn:
      // Only the last write can be interrupted: a segment is sealed
      // (synced) before the next one is created.
      if (!last) {
        return damage(chain.next_sequence(), frames.valid_bytes,
                      absl::StrCat("torn record: ", frames.tail_reason));
      }
      result->torn_tail = LedgerDamage{name, chain.next_sequence(),
                                       frames.valid_bytes, frames.tail_reason};
      break;
  }
  return visitor.OnSegment(
      ScannedSegment{index, name, data, frames.valid_bytes, last});
}

}  // namespace

std::string LedgerDamage::ToString() const {
  if (!offset.has_value()) return absl::StrCat(segment, " ", reason);
  const std::string where = sequence.has_value()
                                ? absl::StrCat("sequence ", *sequence)
                                : std::string("first record read");
  return absl::StrCat(segment, ": ", where, " (offset ", *offset,
                      "): ", reason);
}

absl::StatusOr<std::vector<uint64_t>> ListSegments(SegmentSource& source) {
  absl::StatusOr<std::vector<std::string>> names = source.List();
  if (!names.ok()) return names.status();
  std::vector<uint64_t> indices;
  for (const std::string& name : *names) {
    // Other files (lost+found, an operator's notes) are not the ledger's.
    if (absl::optional<uint64_t> index = ParseSegmentFileName(name)) {
      indices.push_back(*index);
    }
  }
  std::sort(indices.begin(), indices.end());
  return indices;
}

absl::optional<LedgerDamage> FindMissingSegment(
    const std::vector<uint64_t>& indices, uint64_t first) {
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] != first + i) {
      return LedgerDamage{SegmentFileName(first + i), absl::nullopt,
                          absl::nullopt, "is missing"};
    }
  }
  return absl::nullopt;
}

absl::StatusOr<LedgerRecord> ReadFirstRecord(SegmentSource& source,
                                             const std::string& name) {
  // Records are far smaller than this, but one may be as large as a frame
  // can be: then the file is read again that far.
  constexpr uint64_t kUsualRecordBytes = 16 << 10;
  for (uint64_t prefix :
       {kUsualRecordBytes, uint64_t{kFrameHeaderBytes + kMaxRecordBytes}}) {
    absl::StatusOr<std::string> data = source.ReadPrefix(name, prefix);
    if (!data.ok()) return data.status();
    const FrameScan scan = ScanFrames(*data);
    if (!scan.frames.empty()) {
      absl::StatusOr<LedgerRecord> record =
          DecodeRecord(scan.frames.front().payload);
      if (!record.ok()) {
        return absl::DataLossError(
            absl::StrCat(name, ": first record: ", record.status().message()));
      }
      return record;
    }
    if (data->size() < prefix) break;  // the whole file was read
  }
  return absl::DataLossError(absl::StrCat(name, " has no whole first record"));
}

absl::StatusOr<ScanResult> ScanLedger(SegmentSource& source,
                                      const ScanStart& start,
                                      LedgerVisitor& visitor) {
  absl::StatusOr<std::vector<uint64_t>> listed = ListSegments(source);
  if (!listed.ok()) return listed.status();
  std::vector<uint64_t> indices;
  for (uint64_t index : *listed) {
    if (index >= start.segment) indices.push_back(index);
  }

  ChainVerifier chain = start.previous.has_value()
                            ? ChainVerifier(*start.previous)
                            : ChainVerifier::TrustingFirstLink();
  ScanResult result;
  // Before reading gigabytes of segments.
  result.damage = FindMissingSegment(indices, start.segment);
  for (size_t i = 0; i < indices.size() && !result.damage.has_value(); ++i) {
    const std::string name = SegmentFileName(indices[i]);
    absl::StatusOr<std::string> data = source.Read(name);
    if (!data.ok()) return data.status();
    ++result.segments;
    absl::Status status =
        ScanSegment(indices[i], name, *data, i + 1 == indices.size(), chain,
                    visitor, &result);
    if (!status.ok()) return status;
  }
  result.records = chain.records();
  result.head = chain.head();
  return result;
}

}  // namespace idgate
