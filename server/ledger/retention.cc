#include "server/ledger/retention.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/ledger/segment_format.h"

namespace idgate {

absl::StatusOr<absl::optional<LedgerRecord>> ReadPruneAnchor(
    SegmentSource& source) {
  absl::StatusOr<std::vector<std::string>> names = source.List();
  if (!names.ok()) return names.status();
  const std::string name(kPruneAnchorFileName);
  if (std::find(names->begin(), names->end(), name) == names->end()) {
    return absl::nullopt;
  }
  absl::StatusOr<std::string> data = source.Read(name);
  if (!data.ok()) return data.status();
  auto broken = [&](absl::string_view reason) {
    return absl::DataLossError(absl::StrCat(name, ": ", reason));
  };
  const FrameScan scan = ScanFrames(*data);
  if (scan.frames.size() != 1 || scan.tail != SegmentTail::kClean ||
      scan.valid_bytes != data->size()) {
    return broken("not one whole record");
  }
  absl::StatusOr<LedgerRecord> record = DecodeRecord(scan.frames[0].payload);
  if (!record.ok()) return broken(record.status().message());
  if (record->kind() != ::idgate::ledger::v1::RECORD_KIND_PRUNE ||
      record->prune().first_segment() == 0 ||
      record->prune().last_sequence() >= record->sequence()) {
    return broken("not a prune anchor");
  }
  return *std::move(record);
}

ScanStart ScanStartAfter(const LedgerRecord& anchor) {
  ScanStart start;
  start.segment = anchor.prune().first_segment();
  start.previous =
      ChainHead{anchor.prune().last_sequence(), anchor.prune().last_hash()};
  return start;
}

bool MayPrune(const SegmentToPrune& segment, const PruneGuards& guards) {
  return segment.records_until < guards.cutoff &&
         segment.index < guards.segment_being_written &&
         segment.last_sequence <= guards.checkpoint_head &&
         segment.index < guards.oldest_open_intent_segment;
}

}  // namespace idgate
