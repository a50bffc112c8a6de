#include "server/ledger/retention.h"

#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ledger/file_ledger.h"
#include "server/ledger/segment_format.h"
#include "server/ledger/testing.h"

namespace idgate {
namespace {

using ::idgate::ledger::v1::RECORD_KIND_CHECKPOINT;
using ::idgate::ledger::v1::RECORD_KIND_PRUNE;
using testing::AppendAndWait;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MakeIntent;
using testing::MakeOutcome;
using testing::ReadVerifiedLedger;
using testing::TempDir;

constexpr int64_t kStart = 1700000000;  // 2023-11-14T22:13:20Z

// --- The rule, one guard at a time ---

TEST(MayPruneTest, EachGuardKeepsTheSegment) {
  const absl::Time now = absl::FromUnixSeconds(kStart);
  PruneGuards guards;
  guards.cutoff = now - absl::Hours(1);
  guards.segment_being_written = 9;
  guards.checkpoint_head = 100;
  const SegmentToPrune expired{3, 40, now - absl::Hours(2)};
  EXPECT_TRUE(MayPrune(expired, guards));

  SegmentToPrune newer = expired;
  newer.records_until = guards.cutoff;  // not older than the retention
  EXPECT_FALSE(MayPrune(newer, guards));

  PruneGuards being_written = guards;
  being_written.segment_being_written = expired.index;
  EXPECT_FALSE(MayPrune(expired, being_written));

  PruneGuards not_checkpointed = guards;
  not_checkpointed.checkpoint_head = expired.last_sequence - 1;
  EXPECT_FALSE(MayPrune(expired, not_checkpointed));
  not_checkpointed.checkpoint_head = expired.last_sequence;  // at its last
  EXPECT_TRUE(MayPrune(expired, not_checkpointed));

  PruneGuards open_intent = guards;
  open_intent.oldest_open_intent_segment = expired.index;
  EXPECT_FALSE(MayPrune(expired, open_intent));
  open_intent.oldest_open_intent_segment = expired.index - 1;  // and later
  EXPECT_FALSE(MayPrune(expired, open_intent));
  open_intent.oldest_open_intent_segment = expired.index + 1;
  EXPECT_TRUE(MayPrune(expired, open_intent));
}

// --- A ledger with a short retention and a clock the test turns ---

// One segment per batch, a signed checkpoint with each (so pruning looks
// after every append), a retention of an hour.
class RetentionTest : public ::testing::Test {
 protected:
  RetentionTest() {
    keys_ = testing::WriteKeyPair(dir_.path(), "checkpoint");
    options_ = testing::TestLedgerOptions(dir_.Join("ledger"));
    options_.checkpoint_private_key_file = keys_.private_key;
    options_.checkpoint_every_records = 1;
    options_.checkpoint_interval = absl::ZeroDuration();
    options_.segment_max_bytes = 1;
    options_.retention = absl::Hours(1);
    options_.now = [this] { return absl::FromUnixSeconds(clock_.load()); };
    options_.on_prune = [this](const PruneEvent& event) {
      events_.push_back(event);
    };
  }

  std::unique_ptr<FileLedger> Open() {
    absl::StatusOr<std::unique_ptr<FileLedger>> ledger =
        FileLedger::Open(options_);
    EXPECT_TRUE(ledger.ok()) << ledger.status();
    return ledger.ok() ? *std::move(ledger) : nullptr;
  }

  // Closes `ledger` (its directory lock first) and opens it again.
  void Reopen(std::unique_ptr<FileLedger>& ledger) {
    ledger.reset();
    ledger = Open();
    ASSERT_NE(ledger, nullptr);
  }

  // Puts back files saved before a prune: what a crash would have left.
  void Restore(const std::map<std::string, std::string>& files) {
    for (const auto& [name, data] : files) {
      testing::WriteFileOrDie(Path(name), data);
    }
  }

  void Append(Ledger& ledger, LedgerRecord record) {
    ASSERT_TRUE(AppendAndWait(ledger, std::move(record)).ok());
  }

  // Intent and outcome of `id`, each in a segment of its own.
  void AppendPair(Ledger& ledger, const std::string& id) {
    Append(ledger, MakeIntent(id));
    Append(ledger, MakeOutcome(id));
  }

  std::string Path(absl::string_view name) const {
    return absl::StrCat(options_.dir, "/", name);
  }
  bool Exists(absl::string_view name) const {
    return ::access(Path(name).c_str(), F_OK) == 0;
  }

  // The segment files' names and bytes.
  std::map<std::string, std::string> Segments() const {
    std::map<std::string, std::string> segments;
    std::unique_ptr<SegmentSource> source = *DirectorySource(options_.dir);
    const std::vector<std::string> names = *source->List();
    for (const std::string& name : names) {
      if (ParseSegmentFileName(name)) segments[name] = *source->Read(name);
    }
    return segments;
  }

  LedgerRecord Anchor() const {
    std::unique_ptr<SegmentSource> source = *DirectorySource(options_.dir);
    absl::StatusOr<absl::optional<LedgerRecord>> anchor =
        ReadPruneAnchor(*source);
    EXPECT_TRUE(anchor.ok()) << anchor.status();
    EXPECT_TRUE(anchor.ok() && anchor->has_value());
    return anchor.ok() && anchor->has_value() ? **anchor : LedgerRecord();
  }

  // Eight segments of records at kStart (pairs d0..d3; records 1 to 16 with
  // their checkpoints), then two hours later d4's INTENT, which prunes them.
  void WriteAndPruneEightSegments(FileLedger& ledger) {
    for (int i = 0; i < 4; ++i) AppendPair(ledger, absl::StrCat("d", i));
    ASSERT_EQ(ledger.stats().segments, 8u);
    ASSERT_EQ(ledger.stats().prunes, 0u);
    clock_ += 2 * 3600;
    Append(ledger, MakeIntent("d4"));
  }

  TempDir dir_;
  testing::KeyFiles keys_;
  FileLedgerOptions options_;
  std::atomic<int64_t> clock_{kStart};
  std::vector<PruneEvent> events_;  // writer thread, read after Close()
};

TEST_F(RetentionTest, ExpiredSegmentsGoBehindASignedAnchor) {
  std::unique_ptr<FileLedger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  WriteAndPruneEightSegments(*ledger);
  ASSERT_TRUE(ledger->Close().ok());

  // Segments 1-8 are gone; 9 holds d4's INTENT, 10 the anchor.
  std::map<std::string, std::string> segments = Segments();
  std::vector<std::string> names;
  for (const auto& [name, data] : segments) names.push_back(name);
  EXPECT_THAT(names, ElementsAre("ledger-000009.log", "ledger-000010.log"));
  const FileLedger::Stats stats = ledger->stats();
  EXPECT_EQ(stats.prunes, 1u);
  EXPECT_EQ(stats.segments_pruned, 8u);
  EXPECT_EQ(stats.segments, 2u);
  EXPECT_EQ(stats.bytes, segments["ledger-000009.log"].size() +
                             segments["ledger-000010.log"].size());
  EXPECT_EQ(stats.oldest_record_time, absl::FromUnixSeconds(kStart + 7200));
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].segments_removed, 8u);
  EXPECT_EQ(events_[0].first_segment_kept, 9u);
  EXPECT_EQ(events_[0].last_sequence, 16u);
  EXPECT_EQ(events_[0].before, absl::FromUnixSeconds(kStart + 3600));

  // The anchor file: the last record removed, signed.
  const LedgerRecord anchor = Anchor();
  EXPECT_EQ(anchor.kind(), RECORD_KIND_PRUNE);
  EXPECT_EQ(anchor.prune().last_sequence(), 16u);
  EXPECT_EQ(anchor.prune().first_segment(), 9u);
  EXPECT_EQ(anchor.prune().before().seconds(), kStart + 3600);
  absl::StatusOr<Ed25519PublicKey> key =
      Ed25519PublicKey::FromPemFile(keys_.public_key);
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(VerifyPruneSignature(anchor, *key).ok());

  // What is left verifies from the anchor, and holds the anchor itself
  // (covered by a checkpoint) where the chain shows when it was written.
  absl::StatusOr<std::vector<LedgerRecord>> records =
      ReadVerifiedLedger(options_.dir);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 4u);
  EXPECT_EQ((*records)[0].sequence(), 17u);
  EXPECT_EQ((*records)[0].disclosure_id(), "d4");
  EXPECT_EQ((*records)[2].kind(), RECORD_KIND_PRUNE);
  EXPECT_EQ((*records)[2].hash(), anchor.hash());
  EXPECT_EQ((*records)[2].time().seconds(), kStart + 7200);
  EXPECT_EQ((*records)[3].kind(), RECORD_KIND_CHECKPOINT);

  // Start-up accepts the pruned ledger and goes on.
  ASSERT_NO_FATAL_FAILURE(Reopen(ledger));
  const RecoveryReport& report = ledger->recovery_report();
  EXPECT_EQ(report.pruned_through_sequence, 16u);
  EXPECT_EQ(report.pruned_before, absl::FromUnixSeconds(kStart + 3600));
  EXPECT_EQ(report.last_sequence, 20u);
  EXPECT_EQ(report.interrupted_prune_segments_removed, 0u);
  // d4 has no OUTCOME: possibly disclosed, as for any ledger.
  ASSERT_EQ(report.possibly_disclosed.size(), 1u);
  EXPECT_EQ(ledger->stats().segments, 2u);
  EXPECT_EQ(ledger->stats().bytes, stats.bytes);
  EXPECT_EQ(ledger->stats().oldest_record_time,
            absl::FromUnixSeconds(kStart + 7200));
  Append(*ledger, MakeOutcome("d4"));
  ASSERT_TRUE(ledger->Close().ok());
  records = ReadVerifiedLedger(options_.dir);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(records->back().sequence(), 22u);
}

TEST_F(RetentionTest, TheSegmentBeingWrittenStays) {
  options_.segment_max_bytes = 64 << 20;  // everything in one segment
  std::unique_ptr<FileLedger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  AppendPair(*ledger, "old");
  clock_ += 30 * 24 * 3600;
  AppendPair(*ledger, "new");
  ASSERT_TRUE(ledger->Close().ok());
  EXPECT_EQ(ledger->stats().prunes, 0u);
  EXPECT_TRUE(Exists("ledger-000001.log"));
  EXPECT_FALSE(Exists(kPruneAnchorFileName));
}

TEST_F(RetentionTest, AnOpenIntentHoldsItsSegmentAndEveryLaterOne) {
  std::unique_ptr<FileLedger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  AppendPair(*ledger, "d0");               // segments 1, 2
  Append(*ledger, MakeIntent("waiting"));  // 3: no OUTCOME yet
  AppendPair(*ledger, "d1");               // 4, 5
  clock_ += 2 * 3600;
  Append(*ledger, MakeIntent("d2"));  // 6
  // Only what precedes the waiting INTENT went.
  EXPECT_EQ(ledger->stats().segments_pruned, 2u);
  EXPECT_FALSE(Exists("ledger-000002.log"));
  EXPECT_TRUE(Exists("ledger-000003.log"));

  // Its OUTCOME arrives: the segments up to d2's waiting INTENT go.
  Append(*ledger, MakeOutcome("waiting"));
  EXPECT_EQ(ledger->stats().segments_pruned, 5u);
  EXPECT_FALSE(Exists("ledger-000005.log"));
  EXPECT_TRUE(Exists("ledger-000006.log"));
  ASSERT_TRUE(ledger->Close().ok());
  EXPECT_EQ(Anchor().prune().first_segment(), 6u);
  EXPECT_TRUE(ReadVerifiedLedger(options_.dir).ok());
}

TEST_F(RetentionTest, WithoutACheckpointKeyNothingIsPruned) {
  options_.checkpoint_private_key_file.clear();
  std::unique_ptr<FileLedger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  AppendPair(*ledger, "d0");
  clock_ += 2 * 3600;
  AppendPair(*ledger, "d1");
  ASSERT_TRUE(ledger->Close().ok());
  EXPECT_EQ(ledger->stats().prunes, 0u);
  EXPECT_EQ(Segments().size(), 4u);
  EXPECT_FALSE(Exists(kPruneAnchorFileName));
}

TEST_F(RetentionTest,
       ACrashAfterTheAnchorFileLeavesSegmentsThatStartUpRemoves) {
  std::unique_ptr<FileLedger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  for (int i = 0; i < 4; ++i) AppendPair(*ledger, absl::StrCat("d", i));
  const std::map<std::string, std::string> before = Segments();
  clock_ += 2 * 3600;
  Append(*ledger, MakeIntent("d4"));
  ASSERT_TRUE(ledger->Close().ok());
  ASSERT_EQ(ledger->stats().segments_pruned, 8u);
  // The crash came after the anchor file, before the segments went.
  Restore(before);
  absl::StatusOr<std::vector<LedgerRecord>> records =
      ReadVerifiedLedger(options_.dir);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(records->front().sequence(), 17u) << "read from the anchor";

  ASSERT_NO_FATAL_FAILURE(Reopen(ledger));
  EXPECT_EQ(ledger->recovery_report().interrupted_prune_segments_removed, 8u);
  EXPECT_FALSE(Exists("ledger-000001.log"));
  EXPECT_FALSE(Exists("ledger-000008.log"));
  EXPECT_EQ(ledger->stats().segments, 2u);
  Append(*ledger, MakeOutcome("d4"));
  ASSERT_TRUE(ledger->Close().ok());
  EXPECT_TRUE(ReadVerifiedLedger(options_.dir).ok());
}

TEST_F(RetentionTest, ACrashBeforeTheAnchorFileLeavesAWholeLedger) {
  std::unique_ptr<FileLedger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  for (int i = 0; i < 4; ++i) AppendPair(*ledger, absl::StrCat("d", i));
  const std::map<std::string, std::string> before = Segments();
  clock_ += 2 * 3600;
  Append(*ledger, MakeIntent("d4"));
  ASSERT_TRUE(ledger->Close().ok());
  // The crash came after the PRUNE record, before its anchor file.
  Restore(before);
  ASSERT_EQ(::unlink(Path(kPruneAnchorFileName).c_str()), 0);
  absl::StatusOr<std::vector<LedgerRecord>> records =
      ReadVerifiedLedger(options_.dir);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(records->front().sequence(), 1u) << "read from the genesis";

  // The next prune does it again.
  ASSERT_NO_FATAL_FAILURE(Reopen(ledger));
  EXPECT_EQ(ledger->recovery_report().pruned_through_sequence, 0u);
  Append(*ledger, MakeOutcome("d4"));
  ASSERT_TRUE(ledger->Close().ok());
  EXPECT_EQ(ledger->stats().segments_pruned, 8u);
  EXPECT_EQ(Anchor().prune().last_sequence(), 16u);
  records = ReadVerifiedLedger(options_.dir);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(records->front().sequence(), 17u);
}

TEST_F(RetentionTest, AForgedAnchorFailsStartUp) {
  std::unique_ptr<FileLedger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  WriteAndPruneEightSegments(*ledger);
  ledger.reset();
  // Claims an earlier cutoff, with a hash recomputed: the signature fails.
  LedgerRecord anchor = Anchor();
  anchor.mutable_prune()->mutable_before()->set_seconds(kStart);
  std::string file;
  AppendRecordFrame(&anchor, &file);
  testing::WriteFileOrDie(Path(kPruneAnchorFileName), file);
  absl::StatusOr<std::unique_ptr<FileLedger>> reopened =
      FileLedger::Open(options_);
  ASSERT_FALSE(reopened.ok());
  EXPECT_THAT(reopened.status().message(),
              HasSubstr("prune anchor signature over records to 16"));

  // Bytes that are no anchor at all.
  testing::WriteFileOrDie(Path(kPruneAnchorFileName), "not a record");
  reopened = FileLedger::Open(options_);
  ASSERT_FALSE(reopened.ok());
  EXPECT_THAT(reopened.status().message(),
              HasSubstr("prune-anchor.rec: not one whole record"));
}

TEST_F(RetentionTest, DamageBeforeTheVerifiedRangeStopsPruningNotAppending) {
  // Start-up verifies only the segment of the last checkpoint.
  options_.recovery_intent_window = absl::ZeroDuration();
  std::unique_ptr<FileLedger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  for (int i = 0; i < 4; ++i) AppendPair(*ledger, absl::StrCat("d", i));
  ledger.reset();
  // The first record of segment 3 tells where segment 2 ends.
  std::string third = testing::ReadFileOrDie(Path("ledger-000003.log"));
  third[20] ^= 1;
  testing::WriteFileOrDie(Path("ledger-000003.log"), third);

  ledger = Open();
  ASSERT_NE(ledger, nullptr);
  clock_ += 2 * 3600;
  Append(*ledger, MakeIntent("d4"));
  Append(*ledger, MakeOutcome("d4"));
  EXPECT_TRUE(ledger->healthy());
  ASSERT_TRUE(ledger->Close().ok());
  // Segment 1 went; pruning stopped at 2 and said so, once.
  EXPECT_FALSE(Exists("ledger-000001.log"));
  EXPECT_TRUE(Exists("ledger-000002.log"));
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_THAT(events_[0].blocked.message(),
              HasSubstr("ledger-000003.log: first record: hash mismatch"));
  EXPECT_TRUE(events_[1].blocked.ok());
  EXPECT_EQ(events_[1].segments_removed, 1u);
  EXPECT_EQ(Anchor().prune().first_segment(), 2u);
}

TEST_F(RetentionTest, SizeStatisticsFollowTheFiles) {
  std::unique_ptr<FileLedger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  EXPECT_EQ(ledger->stats().segments, 1u);
  EXPECT_EQ(ledger->stats().bytes, 0u);
  EXPECT_FALSE(ledger->stats().oldest_record_time.has_value());
  AppendPair(*ledger, "d0");
  EXPECT_EQ(ledger->stats().segments, 2u);
  EXPECT_EQ(ledger->stats().oldest_record_time, absl::FromUnixSeconds(kStart));
  ASSERT_TRUE(ledger->Close().ok());
  uint64_t bytes = 0;
  for (const auto& [name, data] : Segments()) bytes += data.size();
  EXPECT_EQ(ledger->stats().bytes, bytes);

  ASSERT_NO_FATAL_FAILURE(Reopen(ledger));
  EXPECT_EQ(ledger->stats().bytes, bytes);
  EXPECT_EQ(ledger->stats().segments, 2u);
  EXPECT_EQ(ledger->stats().oldest_record_time, absl::FromUnixSeconds(kStart));
}

}  // namespace
}  // namespace idgate
