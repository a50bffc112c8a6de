#include "server/ledger/ledger_scan.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ledger/testing.h"

namespace idgate {
namespace {

using ::idgate::ledger::v1::RECORD_KIND_CHECKPOINT;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A checkpoint naming `head` (unsigned: the scan checks no signatures).
LedgerRecord Checkpoint(const LedgerRecord& head) {
  LedgerRecord record;
  record.set_kind(RECORD_KIND_CHECKPOINT);
  record.mutable_checkpoint()->set_head_sequence(head.sequence());
  record.mutable_checkpoint()->set_head_hash(head.hash());
  return record;
}

// A ledger of segments holding `sizes[i]` intents each, chained from the
// genesis, with a checkpoint after record 2. `records` gets every record.
std::map<std::string, std::string> Ledger(const std::vector<int>& sizes,
                                          std::vector<LedgerRecord>* records) {
  std::map<std::string, std::string> files;
  ChainHead head;
  for (size_t s = 0; s < sizes.size(); ++s) {
    std::string& segment = files[SegmentFileName(s + 1)];
    for (int i = 0; i < sizes[s]; ++i) {
      LedgerRecord record = head.sequence == 2
                                ? Checkpoint(records->back())
                                : testing::MakeIntent(absl::StrCat("d", s, i));
      record.set_sequence(head.sequence + 1);
      record.set_prev_hash(head.hash);
      SetRecordTime(absl::FromUnixSeconds(1700000000), &record);
      AppendRecordFrame(&record, &segment);
      head = ChainHead{record.sequence(), record.hash()};
      records->push_back(record);
    }
  }
  return files;
}

// Logs what it is shown; can fail at one sequence.
class LoggingVisitor : public LedgerVisitor {
 public:
  absl::Status OnCheckpoint(const LedgerRecord& checkpoint,
                            const RecordPosition& position) override {
    events.push_back(absl::StrCat("checkpoint ", checkpoint.sequence()));
    return absl::OkStatus();
  }
  absl::Status OnRecord(const LedgerRecord& record,
                        const RecordPosition& position) override {
    events.push_back(absl::StrCat("record ", record.sequence(), " at ",
                                  position.segment, ":", position.offset));
    return record.sequence() == fail_at ? failure : absl::OkStatus();
  }
  absl::Status OnSegment(const ScannedSegment& segment) override {
    events.push_back(absl::StrCat("segment ", segment.name, " ",
                                  segment.valid_bytes, "/", segment.data.size(),
                                  segment.last ? " last" : ""));
    return absl::OkStatus();
  }

  std::vector<std::string> events;
  uint64_t fail_at = 0;
  absl::Status failure;
};

// Counts reads; can fail one.
class CountingSource : public SegmentSource {
 public:
  explicit CountingSource(std::map<std::string, std::string> files)
      : files_(std::move(files)) {}
  absl::StatusOr<std::vector<std::string>> List() override {
    std::vector<std::string> names;
    for (const auto& [name, data] : files_) names.push_back(name);
    return names;
  }
  absl::StatusOr<std::string> Read(const std::string& name) override {
    ++reads;
    if (name == unreadable) return absl::PermissionDeniedError("open " + name);
    return files_.at(name);
  }

  int reads = 0;
  std::string unreadable;

 private:
  std::map<std::string, std::string> files_;
};

ScanResult ScanOrDie(SegmentSource& source, const ScanStart& start,
                     LedgerVisitor& visitor) {
  absl::StatusOr<ScanResult> result = ScanLedger(source, start, visitor);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : ScanResult();
}

TEST(LedgerScanTest, VisitsEveryRecordInChainOrderAcrossSegments) {
  std::vector<LedgerRecord> records;
  auto files = Ledger({2, 2}, &records);
  std::unique_ptr<SegmentSource> source = MemorySource(files);
  LoggingVisitor visitor;
  ScanResult result = ScanOrDie(*source, ScanStart(), visitor);
  EXPECT_FALSE(result.damage.has_value());
  EXPECT_FALSE(result.torn_tail.has_value());
  EXPECT_EQ(result.segments, 2u);
  EXPECT_EQ(result.records, 4u);
  EXPECT_EQ(result.head.sequence, 4u);
  EXPECT_EQ(result.head.hash, records.back().hash());

  const size_t first_size = files["ledger-000001.log"].size();
  const size_t second_size = files["ledger-000002.log"].size();
  const uint64_t frame2 =
      ScanFrames(files["ledger-000001.log"]).frames[1].offset;
  const uint64_t frame4 =
      ScanFrames(files["ledger-000002.log"]).frames[1].offset;
  // The checkpoint (record 3) reaches OnCheckpoint before OnRecord.
  EXPECT_THAT(
      visitor.events,
      ElementsAre("record 1 at 1:0", absl::StrCat("record 2 at 1:", frame2),
                  absl::StrCat("segment ledger-000001.log ", first_size, "/",
                               first_size),
                  "checkpoint 3", "record 3 at 2:0",
                  absl::StrCat("record 4 at 2:", frame4),
                  absl::StrCat("segment ledger-000002.log ", second_size, "/",
                               second_size, " last")));
}

TEST(LedgerScanTest, StartsAtAnySegmentAfterAKnownHead) {
  std::vector<LedgerRecord> records;
  auto files = Ledger({2, 2, 1}, &records);
  // Segment 1 pruned: the chain resumes after record 2.
  files.erase("ledger-000001.log");
  std::unique_ptr<SegmentSource> source = MemorySource(files);
  ScanStart start;
  start.segment = 2;
  start.previous = ChainHead{2, records[1].hash()};
  LoggingVisitor visitor;
  ScanResult result = ScanOrDie(*source, start, visitor);
  EXPECT_FALSE(result.damage.has_value());
  EXPECT_EQ(result.records, 3u);
  EXPECT_EQ(result.head.sequence, 5u);

  // A head that is not the one before: the first link breaks.
  start.previous = ChainHead{2, records[0].hash()};
  result = ScanOrDie(*source, start, visitor);
  ASSERT_TRUE(result.damage.has_value());
  EXPECT_EQ(result.damage->ToString(),
            "ledger-000002.log: sequence 3 (offset 0): prev_hash does not "
            "match the hash of record 2");
  EXPECT_EQ(result.records, 0u);
  EXPECT_EQ(result.head.sequence, 2u) << "the start's head";

  // Taking the first link on trust.
  start.previous = absl::nullopt;
  result = ScanOrDie(*source, start, visitor);
  EXPECT_FALSE(result.damage.has_value());
  EXPECT_EQ(result.records, 3u);
}

TEST(LedgerScanTest, MissingSegmentIsFoundBeforeAnyIsRead) {
  std::vector<LedgerRecord> records;
  auto files = Ledger({1, 1, 1}, &records);
  files.erase("ledger-000002.log");
  CountingSource source(files);
  LoggingVisitor visitor;
  ScanResult result = ScanOrDie(source, ScanStart(), visitor);
  ASSERT_TRUE(result.damage.has_value());
  EXPECT_EQ(result.damage->ToString(), "ledger-000002.log is missing");
  EXPECT_EQ(result.damage->segment, "ledger-000002.log");
  EXPECT_EQ(source.reads, 0);
  EXPECT_TRUE(visitor.events.empty());

  // The first one too, when the scan starts there.
  files.erase("ledger-000001.log");
  CountingSource without_first(files);
  result = ScanOrDie(without_first, ScanStart(), visitor);
  ASSERT_TRUE(result.damage.has_value());
  EXPECT_EQ(result.damage->ToString(), "ledger-000001.log is missing");
}

TEST(LedgerScanTest, TornTailOfTheLastSegmentIsNotDamage) {
  std::vector<LedgerRecord> records;
  auto files = Ledger({2, 2}, &records);
  std::string& last = files["ledger-000002.log"];
  const uint64_t record4 = ScanFrames(last).frames[1].offset;
  last.resize(last.size() - 10);
  // The writer's preallocated zeros after the cut.
  last.append(100, '\0');
  std::unique_ptr<SegmentSource> source = MemorySource(files);
  LoggingVisitor visitor;
  ScanResult result = ScanOrDie(*source, ScanStart(), visitor);
  EXPECT_FALSE(result.damage.has_value());
  ASSERT_TRUE(result.torn_tail.has_value());
  EXPECT_EQ(result.torn_tail->segment, "ledger-000002.log");
  EXPECT_EQ(result.torn_tail->sequence, 4u);
  EXPECT_EQ(result.torn_tail->offset, record4);
  EXPECT_THAT(result.torn_tail->reason, HasSubstr("cut short"));
  EXPECT_EQ(result.records, 3u);
  EXPECT_EQ(visitor.events.back(),
            absl::StrCat("segment ledger-000002.log ", record4, "/",
                         last.size(), " last"));
}

TEST(LedgerScanTest, TornRecordBeforeTheLastSegmentIsDamage) {
  std::vector<LedgerRecord> records;
  auto files = Ledger({2, 2}, &records);
  std::string& first = files["ledger-000001.log"];
  const uint64_t record2 = ScanFrames(first).frames[1].offset;
  first.resize(first.size() - 10);
  CountingSource source(files);
  LoggingVisitor visitor;
  ScanResult result = ScanOrDie(source, ScanStart(), visitor);
  EXPECT_FALSE(result.torn_tail.has_value());
  ASSERT_TRUE(result.damage.has_value());
  EXPECT_THAT(result.damage->ToString(),
              ::testing::StartsWith(absl::StrCat(
                  "ledger-000001.log: sequence 2 (offset ", record2,
                  "): torn record: segment ends inside a record")));
  EXPECT_EQ(source.reads, 1) << "the scan stops at the damage";
  EXPECT_EQ(result.records, 1u);
}

TEST(LedgerScanTest, VisitorDataLossIsDamageAtTheRecordOtherErrorsStop) {
  std::vector<LedgerRecord> records;
  auto files = Ledger({2, 2}, &records);
  std::unique_ptr<SegmentSource> source = MemorySource(files);
  LoggingVisitor visitor;
  visitor.fail_at = 4;
  visitor.failure = absl::DataLossError("signature does not verify");
  ScanResult result = ScanOrDie(*source, ScanStart(), visitor);
  ASSERT_TRUE(result.damage.has_value());
  const uint64_t record4 =
      ScanFrames(files["ledger-000002.log"]).frames[1].offset;
  EXPECT_EQ(result.damage->ToString(),
            absl::StrCat("ledger-000002.log: sequence 4 (offset ", record4,
                         "): signature does not verify"));
  // Stopped there: the segment is not reported as scanned.
  EXPECT_EQ(visitor.events.back(), absl::StrCat("record 4 at 2:", record4));

  visitor.failure = absl::ResourceExhaustedError("mirror: disk full");
  absl::StatusOr<ScanResult> stopped =
      ScanLedger(*source, ScanStart(), visitor);
  EXPECT_EQ(stopped.status(), visitor.failure);
}

TEST(LedgerScanTest, DamageNamesThePositionNotTheClaimedSequence) {
  std::vector<LedgerRecord> records;
  auto files = Ledger({3}, &records);
  std::string& segment = files["ledger-000001.log"];
  const FrameScan frames = ScanFrames(segment);
  // Record 1 again where record 2 belongs.
  segment = segment.substr(0, frames.frames[1].offset) +
            segment.substr(0, frames.frames[1].offset);
  std::unique_ptr<SegmentSource> source = MemorySource(files);
  LoggingVisitor visitor;
  ScanResult result = ScanOrDie(*source, ScanStart(), visitor);
  ASSERT_TRUE(result.damage.has_value());
  EXPECT_EQ(result.damage->sequence, 2u);
  EXPECT_THAT(result.damage->reason, HasSubstr("expected sequence 2, found 1"));

  // Unknown when the first link is taken on trust and the record is bad.
  segment[kFrameHeaderBytes + 20] ^= 1;
  source = MemorySource(files);
  ScanStart trusting;
  trusting.previous = absl::nullopt;
  result = ScanOrDie(*source, trusting, visitor);
  ASSERT_TRUE(result.damage.has_value());
  EXPECT_EQ(result.damage->ToString(),
            "ledger-000001.log: first record read (offset 0): hash mismatch: "
            "the record's bytes were altered");
}

TEST(LedgerScanTest, SourceWithoutSegmentsAndSourceErrors) {
  std::unique_ptr<SegmentSource> empty =
      MemorySource({{"lost+found", ""}, {"ledger-1.log", "x"}});
  LoggingVisitor visitor;
  ScanResult result = ScanOrDie(*empty, ScanStart(), visitor);
  EXPECT_EQ(result.segments, 0u);
  EXPECT_FALSE(result.damage.has_value());
  EXPECT_EQ(result.head.hash, std::string(kGenesisHash));

  std::vector<LedgerRecord> records;
  CountingSource source(Ledger({1, 1}, &records));
  source.unreadable = "ledger-000002.log";
  absl::StatusOr<ScanResult> failed = ScanLedger(source, ScanStart(), visitor);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace idgate
