#include "tools/idgate-audit/audit.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "server/identity/masking.h"
#include "server/ledger/file_ledger.h"
#include "server/ledger/retention.h"
#include "server/ledger/segment_format.h"
#include "server/ledger/testing.h"

namespace idgate::audit {
namespace {

using ::idgate::ledger::v1::RECORD_KIND_CHECKPOINT;
using ::idgate::ledger::v1::RECORD_KIND_INTENT;
using ::idgate::ledger::v1::RECORD_KIND_OUTCOME;
using testing::AppendAndWait;
using ::testing::HasSubstr;
using testing::MakeIntent;
using testing::MakeOutcome;
using ::testing::Not;

constexpr int64_t kStart = 1700000000;  // 2023-11-14T22:13:20Z

// Verifies `files` as a ledger directory, with the public key of `keys`
// (signatures unchecked without).
VerifyReport VerifyInMemory(const std::map<std::string, std::string>& files,
                            const testing::KeyFiles* keys) {
  VerifyOptions options;
  if (keys != nullptr) {
    options.public_keys.push_back(
        *Ed25519PublicKey::FromPemFile(keys->public_key));
  }
  std::unique_ptr<SegmentSource> source = MemorySource(files);
  return Verify(*source, options);
}

// A ledger written by FileLedger: `pairs` intent/outcome pairs, a signed
// checkpoint every 4 records and at close, small segments.
class LedgerFixture {
 public:
  explicit LedgerFixture(int pairs = 6, bool sign = true) {
    keys_ = testing::WriteKeyPair(dir_.path(), "checkpoint");
    FileLedgerOptions options = testing::TestLedgerOptions(ledger_dir());
    options.segment_max_bytes = 1500;
    if (sign) options.checkpoint_private_key_file = keys_.private_key;
    options.checkpoint_every_records = 4;
    options.checkpoint_interval = absl::ZeroDuration();
    options.now = [this] { return absl::FromUnixSeconds(clock_); };
    std::unique_ptr<FileLedger> ledger = *FileLedger::Open(options);
    for (int i = 0; i < pairs; ++i) {
      clock_ += 60;
      Append(*ledger, MakeIntent(absl::StrCat("d", i)));
      Append(*ledger, MakeOutcome(absl::StrCat("d", i)));
    }
    EXPECT_TRUE(ledger->Close().ok());
    Load();
  }

  // Loads the segment files into files_.
  void Load() {
    files_.clear();
    std::unique_ptr<SegmentSource> source = *DirectorySource(ledger_dir());
    absl::StatusOr<std::vector<std::string>> names = source->List();
    for (const std::string& name : *names) files_[name] = *source->Read(name);
  }

  void Append(Ledger& ledger, LedgerRecord record) {
    ASSERT_TRUE(AppendAndWait(ledger, std::move(record)).ok());
  }

  std::string ledger_dir() const { return dir_.Join("ledger"); }
  const testing::KeyFiles& keys() const { return keys_; }
  std::map<std::string, std::string>& files() { return files_; }

  VerifyReport VerifyFiles(bool with_key = true) {
    return VerifyInMemory(files_, with_key ? &keys_ : nullptr);
  }

 private:
  testing::TempDir dir_;
  testing::KeyFiles keys_;
  int64_t clock_ = kStart;
  std::map<std::string, std::string> files_;
};

// Splits a segment into its frames (bytes).
std::vector<std::string> Frames(const std::string& segment) {
  std::vector<std::string> frames;
  FrameScan scan = ScanFrames(segment);
  for (size_t i = 0; i < scan.frames.size(); ++i) {
    const uint64_t end = i + 1 < scan.frames.size() ? scan.frames[i + 1].offset
                                                    : scan.valid_bytes;
    frames.push_back(
        segment.substr(scan.frames[i].offset, end - scan.frames[i].offset));
  }
  return frames;
}

std::string Join(const std::vector<std::string>& frames) {
  std::string out;
  for (const std::string& frame : frames) out += frame;
  return out;
}

LedgerRecord Decode(const std::string& frame) {
  return *DecodeRecord(ScanFrames(frame).frames[0].payload);
}

TEST(VerifyTest, IntactLedgerVerifiesWithSignatures) {
  LedgerFixture ledger;
  ASSERT_GE(ledger.files().size(), 3u) << "expected several segments";
  VerifyReport report = ledger.VerifyFiles();
  ASSERT_TRUE(report.ok) << report.error;
  // 12 records and a checkpoint after every 4th; the last checkpoint covers
  // the head, so Close() added none.
  EXPECT_EQ(report.records - report.checkpoints, 12u);
  EXPECT_EQ(report.checkpoints, 3u);
  EXPECT_EQ(report.signatures_verified, 3u);
  EXPECT_EQ(report.last_checkpoint_sequence, report.head_sequence);
  EXPECT_TRUE(report.warnings.empty()) << report.warnings[0];
  EXPECT_EQ(VerifySummary(report),
            absl::StrCat("OK: 15 records, 3 checkpoints (3 signatures "
                         "verified), head 15 ",
                         report.head_hash));

  // The same from the directory.
  std::unique_ptr<SegmentSource> dir = *DirectorySource(ledger.ledger_dir());
  EXPECT_TRUE(Verify(*dir, VerifyOptions()).ok);
}

TEST(VerifyTest, FlippedByteIsCaught) {
  LedgerFixture ledger;
  std::string& segment = ledger.files()["ledger-000002.log"];
  const uint64_t first_sequence = Decode(Frames(segment)[0]).sequence();
  // A byte of the second record's payload.
  segment[Frames(segment)[0].size() + kFrameHeaderBytes + 30] ^= 0x01;
  VerifyReport report = ledger.VerifyFiles();
  EXPECT_FALSE(report.ok);
  EXPECT_THAT(report.error,
              HasSubstr(absl::StrCat("ledger-000002.log: sequence ",
                                     first_sequence + 1)));
  EXPECT_THAT(report.error, HasSubstr("hash mismatch"));
}

TEST(VerifyTest, FlippedByteAnywhereIsCaught) {
  LedgerFixture ledger(2);
  const std::map<std::string, std::string> intact = ledger.files();
  for (const auto& [name, data] : intact) {
    for (size_t i = 0; i < data.size(); ++i) {
      ledger.files() = intact;
      ledger.files()[name][i] ^= 0x80;
      EXPECT_FALSE(ledger.VerifyFiles().ok) << name << " byte " << i;
    }
  }
}

TEST(VerifyTest, RemovedRecordIsCaught) {
  LedgerFixture ledger;
  std::string& segment = ledger.files()["ledger-000002.log"];
  std::vector<std::string> frames = Frames(segment);
  ASSERT_GE(frames.size(), 2u);
  const uint64_t removed = Decode(frames[1]).sequence();
  frames.erase(frames.begin() + 1);
  segment = Join(frames);
  VerifyReport report = ledger.VerifyFiles();
  EXPECT_FALSE(report.ok);
  EXPECT_THAT(report.error,
              HasSubstr(absl::StrCat("ledger-000002.log: sequence ", removed)));
  EXPECT_THAT(report.error,
              HasSubstr(absl::StrCat("expected sequence ", removed, ", found ",
                                     removed + 1)));
}

TEST(VerifyTest, DuplicatedRecordIsCaught) {
  LedgerFixture ledger;
  std::string& segment = ledger.files()["ledger-000002.log"];
  std::vector<std::string> frames = Frames(segment);
  const uint64_t duplicated = Decode(frames[0]).sequence();
  frames.insert(frames.begin() + 1, frames[0]);
  segment = Join(frames);
  VerifyReport report = ledger.VerifyFiles();
  EXPECT_FALSE(report.ok);
  EXPECT_THAT(report.error,
              HasSubstr(absl::StrCat("expected sequence ", duplicated + 1,
                                     ", found ", duplicated)));
}

TEST(VerifyTest, ReorderedRecordsAreCaught) {
  LedgerFixture ledger;
  std::string& segment = ledger.files()["ledger-000002.log"];
  std::vector<std::string> frames = Frames(segment);
  std::swap(frames[0], frames[1]);
  segment = Join(frames);
  VerifyReport report = ledger.VerifyFiles();
  EXPECT_FALSE(report.ok);
  EXPECT_THAT(report.error, HasSubstr("ledger-000002.log: sequence"));
  EXPECT_THAT(report.error, HasSubstr("expected sequence"));

  // Whole segments swapped.
  LedgerFixture other;
  std::swap(other.files()["ledger-000001.log"],
            other.files()["ledger-000002.log"]);
  EXPECT_FALSE(other.VerifyFiles().ok);
}

TEST(VerifyTest, TruncatedTailIsCaught) {
  LedgerFixture ledger;
  std::string& last = ledger.files().rbegin()->second;
  const std::string intact = last;
  const std::string last_name = ledger.files().rbegin()->first;
  FrameScan scan = ScanFrames(intact);
  const uint64_t last_start = scan.frames.back().offset;
  for (uint64_t cut = last_start + 1; cut < intact.size(); ++cut) {
    last = intact.substr(0, cut);
    VerifyReport report = ledger.VerifyFiles();
    ASSERT_FALSE(report.ok) << "cut at " << cut;
    EXPECT_THAT(report.error, HasSubstr(last_name));
    EXPECT_THAT(report.error, HasSubstr("torn record"));
  }
  // Cut at a record boundary: only the missing signature over the tail can
  // tell, and verify says so.
  last = intact.substr(0, last_start);
  VerifyReport report = ledger.VerifyFiles();
  EXPECT_TRUE(report.ok) << report.error;
  ASSERT_FALSE(report.warnings.empty());
  EXPECT_THAT(report.warnings.back(), HasSubstr("not covered by a signature"));
}

TEST(VerifyTest, MissingSegmentIsCaught) {
  LedgerFixture ledger;
  ledger.files().erase("ledger-000002.log");
  VerifyReport report = ledger.VerifyFiles();
  EXPECT_FALSE(report.ok);
  EXPECT_THAT(report.error, HasSubstr("ledger-000002.log is missing"));

  LedgerFixture first;
  first.files().erase("ledger-000001.log");
  EXPECT_THAT(first.VerifyFiles().error,
              HasSubstr("ledger-000001.log is missing"));
}

// Rewrites the chain from the record at `sequence` on with `edit` applied to
// it, recomputing every later hash as someone without the signing key can.
// With `forge_checkpoints`, checkpoint heads are updated too.
void RewriteChain(std::map<std::string, std::string>& files, uint64_t sequence,
                  const std::function<void(LedgerRecord&)>& edit,
                  bool forge_checkpoints) {
  std::string prev_hash;
  bool rewriting = false;
  for (auto& [name, segment] : files) {
    std::string rewritten;
    for (const std::string& frame : Frames(segment)) {
      LedgerRecord record = Decode(frame);
      if (record.sequence() == sequence) {
        rewriting = true;
        edit(record);
      }
      if (!rewriting) {
        rewritten += frame;
        prev_hash = record.hash();
        continue;
      }
      record.set_prev_hash(prev_hash);
      if (forge_checkpoints && record.kind() == RECORD_KIND_CHECKPOINT) {
        record.mutable_checkpoint()->set_head_hash(prev_hash);
      }
      AppendRecordFrame(&record, &rewritten);
      prev_hash = record.hash();
    }
    segment = rewritten;
  }
}

TEST(VerifyTest, ChainRewrittenAfterCheckpointIsCaughtWithoutKey) {
  LedgerFixture ledger;
  // Record 2 said the data went to carrier_mock; pretend it went elsewhere.
  RewriteChain(
      ledger.files(), 2,
      [](LedgerRecord& record) { record.set_recipient("Someone Else Ltd."); },
      /*forge_checkpoints=*/false);
  // Every hash link is consistent again...
  VerifyReport report = ledger.VerifyFiles(/*with_key=*/false);
  EXPECT_FALSE(report.ok);
  // ...but the first checkpoint (record 5) still names the old record 4.
  EXPECT_THAT(report.error, HasSubstr("sequence 5"));
  EXPECT_THAT(report.error, HasSubstr("checkpoint claims head 4"));
}

TEST(VerifyTest, ForgedCheckpointHeadsAreCaughtByTheSignature) {
  LedgerFixture ledger;
  RewriteChain(
      ledger.files(), 2,
      [](LedgerRecord& record) { record.set_recipient("Someone Else Ltd."); },
      /*forge_checkpoints=*/true);
  // Without the public key such a rewrite cannot be told (and verify warns).
  VerifyReport unsigned_report = ledger.VerifyFiles(/*with_key=*/false);
  EXPECT_TRUE(unsigned_report.ok) << unsigned_report.error;
  EXPECT_THAT(absl::StrJoin(unsigned_report.warnings, "\n"),
              HasSubstr("signatures not checked"));

  VerifyReport report = ledger.VerifyFiles(/*with_key=*/true);
  EXPECT_FALSE(report.ok);
  EXPECT_THAT(report.error, HasSubstr("sequence 5"));
  EXPECT_THAT(report.error, HasSubstr("does not verify"));
}

TEST(VerifyTest, WrongKeyAndMissingCheckpointsFail) {
  LedgerFixture ledger;
  VerifyOptions wrong;
  wrong.public_keys.push_back(*Ed25519PrivateKey::Generate()->PublicKey());
  std::unique_ptr<SegmentSource> source = MemorySource(ledger.files());
  VerifyReport report = Verify(*source, wrong);
  EXPECT_FALSE(report.ok);
  EXPECT_THAT(report.error, HasSubstr("unknown key"));

  // A key was given, so an unsigned ledger cannot pass as authenticated.
  LedgerFixture unsigned_ledger(2, /*sign=*/false);
  EXPECT_TRUE(unsigned_ledger.VerifyFiles(/*with_key=*/false).ok);
  VerifyReport no_checkpoints = unsigned_ledger.VerifyFiles(/*with_key=*/true);
  EXPECT_FALSE(no_checkpoints.ok);
  EXPECT_THAT(no_checkpoints.error, HasSubstr("no checkpoint"));
}

TEST(VerifyTest, IntentWithoutOutcomeIsWarned) {
  testing::TempDir dir;
  FileLedgerOptions options = testing::TestLedgerOptions(dir.Join("ledger"));
  {
    std::unique_ptr<FileLedger> ledger = *FileLedger::Open(options);
    ASSERT_TRUE(AppendAndWait(*ledger, MakeIntent("answered")).ok());
    ASSERT_TRUE(AppendAndWait(*ledger, MakeOutcome("answered")).ok());
    ASSERT_TRUE(AppendAndWait(*ledger, MakeIntent("lost", "bank_mock")).ok());
  }
  std::unique_ptr<SegmentSource> source = *DirectorySource(options.dir);
  VerifyReport report = Verify(*source, VerifyOptions());
  ASSERT_TRUE(report.ok) << report.error;
  std::string warnings = absl::StrJoin(report.warnings, "\n");
  EXPECT_THAT(warnings, HasSubstr("INTENT without OUTCOME (possibly disclosed)"
                                  ": sequence 3 disclosure lost provider "
                                  "bank_mock"));
  EXPECT_THAT(warnings, Not(HasSubstr("answered")));
}

TEST(VerifyTest, ArbitraryBytesNeverCrash) {
  LedgerFixture ledger(1);
  const std::string seed = ledger.files().begin()->second;
  uint32_t state = 12345;
  for (int round = 0; round < 2000; ++round) {
    std::string data = seed.substr(
        0, (state = state * 1103515245 + 12345) % (seed.size() + 1));
    for (int flips = round % 5; flips > 0 && !data.empty(); --flips) {
      state = state * 1103515245 + 12345;
      data[state % data.size()] = static_cast<char>(state >> 16);
    }
    std::unique_ptr<SegmentSource> source =
        MemorySource({{"ledger-000001.log", data}});
    Verify(*source, VerifyOptions());
  }
}

// A ledger pruned by FileLedger: pairs d0..d3 at kStart, one segment per
// batch with a signed checkpoint each (records 1-16 in segments 1-8), then
// two hours later d4, which with a retention of an hour prunes segments
// 1-8 behind the anchor (record 19, after d4's intent and checkpoint).
class PrunedLedger {
 public:
  PrunedLedger() {
    keys_ = testing::WriteKeyPair(dir_.path(), "checkpoint");
    FileLedgerOptions options = testing::TestLedgerOptions(ledger_dir());
    options.checkpoint_private_key_file = keys_.private_key;
    options.checkpoint_every_records = 1;
    options.checkpoint_interval = absl::ZeroDuration();
    options.segment_max_bytes = 1;
    options.retention = absl::Hours(1);
    options.now = [this] { return absl::FromUnixSeconds(clock_); };
    std::unique_ptr<FileLedger> ledger = *FileLedger::Open(options);
    for (int i = 0; i < 4; ++i) {
      const std::string id = absl::StrCat("d", i);
      EXPECT_TRUE(AppendAndWait(*ledger, MakeIntent(id)).ok());
      EXPECT_TRUE(AppendAndWait(*ledger, MakeOutcome(id)).ok());
    }
    unpruned_ = Files();
    clock_ += 2 * 3600;
    EXPECT_TRUE(AppendAndWait(*ledger, MakeIntent("d4")).ok());
    EXPECT_TRUE(AppendAndWait(*ledger, MakeOutcome("d4")).ok());
    EXPECT_TRUE(ledger->Close().ok());
    EXPECT_EQ(ledger->stats().segments_pruned, 8u);
    files_ = Files();
  }

  std::string ledger_dir() const { return dir_.Join("ledger"); }
  // Every file of the ledger directory, the anchor file included.
  std::map<std::string, std::string>& files() { return files_; }
  // The segments before the prune.
  const std::map<std::string, std::string>& unpruned() const {
    return unpruned_;
  }

  VerifyReport VerifyFiles(bool with_key = true) {
    return VerifyInMemory(files_, with_key ? &keys_ : nullptr);
  }

 private:
  std::map<std::string, std::string> Files() const {
    std::map<std::string, std::string> files;
    std::unique_ptr<SegmentSource> source = *DirectorySource(ledger_dir());
    const std::vector<std::string> names = *source->List();
    for (const std::string& name : names) files[name] = *source->Read(name);
    return files;
  }

  testing::TempDir dir_;
  testing::KeyFiles keys_;
  int64_t clock_ = kStart;
  std::map<std::string, std::string> unpruned_;
  std::map<std::string, std::string> files_;
};

TEST(VerifyTest, PrunedLedgerVerifiesFromItsAnchor) {
  PrunedLedger ledger;
  ASSERT_EQ(ledger.files().count("ledger-000001.log"), 0u);
  ASSERT_EQ(ledger.files().count(std::string(kPruneAnchorFileName)), 1u);
  VerifyReport report = ledger.VerifyFiles();
  ASSERT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.pruned_through_sequence, 16u);
  EXPECT_EQ(report.pruned_before, absl::FromUnixSeconds(kStart + 3600));
  EXPECT_EQ(report.prune_records, 1u);
  EXPECT_EQ(report.records, 6u);  // d4's pair, the anchor, 3 checkpoints
  EXPECT_EQ(report.head_sequence, 22u);
  EXPECT_TRUE(report.warnings.empty()) << report.warnings[0];
  EXPECT_EQ(VerifySummary(report),
            absl::StrCat("OK: 6 records, 3 checkpoints (3 signatures "
                         "verified), head 22 ",
                         report.head_hash, "; verified from anchor 16 ",
                         report.pruned_through_hash,
                         ", records before 2023-11-14T23:13:20Z pruned"));
  // The hash of record 16, which record 17 links to.
  std::string segment9 = ledger.files()["ledger-000009.log"];
  EXPECT_EQ(report.pruned_through_hash,
            Decode(Frames(segment9)[0]).prev_hash());

  // Without the key the anchor's signature goes unchecked, and verify says so.
  VerifyReport unchecked = ledger.VerifyFiles(/*with_key=*/false);
  ASSERT_TRUE(unchecked.ok) << unchecked.error;
  EXPECT_THAT(absl::StrJoin(unchecked.warnings, "\n"),
              HasSubstr("prune anchor signature not checked"));

  // And from the directory; cat prints what is left.
  std::unique_ptr<SegmentSource> dir = *DirectorySource(ledger.ledger_dir());
  EXPECT_TRUE(Verify(*dir, VerifyOptions()).ok);
  std::string out;
  ASSERT_TRUE(WriteJsonLines(*dir, &out).ok());
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 6);
  EXPECT_THAT(out, HasSubstr("\"kind\":\"RECORD_KIND_PRUNE\""));
}

TEST(VerifyTest, SegmentRemovedWithoutAnAnchorNamesTheGap) {
  // The first segment, without a prune anchor.
  LedgerFixture ledger;
  ledger.files().erase("ledger-000001.log");
  const uint64_t resumes =
      Decode(Frames(ledger.files()["ledger-000002.log"])[0]).sequence();
  VerifyReport report = ledger.VerifyFiles();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(
      report.error,
      absl::StrCat("ledger-000001.log is missing: records 1 to ", resumes - 1,
                   " are gone, and no prune-anchor.rec says they were "
                   "pruned"));

  // One in the middle: the records before it are verified first.
  LedgerFixture middle;
  const std::vector<std::string> third =
      Frames(middle.files()["ledger-000003.log"]);
  const uint64_t from =
      Decode(Frames(middle.files()["ledger-000002.log"])[0]).sequence();
  middle.files().erase("ledger-000002.log");
  report = middle.VerifyFiles();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.error,
            absl::StrCat("ledger-000002.log is missing: records ", from, " to ",
                         Decode(third[0]).sequence() - 1, " are gone"));
  EXPECT_EQ(report.records, from - 1);

  // A pruned ledger missing the segment its anchor keeps first.
  PrunedLedger pruned;
  pruned.files().erase("ledger-000009.log");
  report = pruned.VerifyFiles();
  EXPECT_FALSE(report.ok);
  EXPECT_THAT(report.error,
              ::testing::StartsWith(
                  "ledger-000009.log is missing: records 17 to 18 are gone"));
}

TEST(VerifyTest, PrunedLedgerWithoutItsAnchorFileFails) {
  PrunedLedger ledger;
  ledger.files().erase(std::string(kPruneAnchorFileName));
  VerifyReport report = ledger.VerifyFiles();
  EXPECT_FALSE(report.ok);
  EXPECT_THAT(report.error,
              ::testing::StartsWith("ledger-000001.log is missing: records 1 "
                                    "to 16 are gone, and no prune-anchor.rec"));
}

TEST(VerifyTest, ForgedOrMisplacedAnchorsFail) {
  // Re-signed with another key.
  PrunedLedger ledger;
  std::string& file = ledger.files()[std::string(kPruneAnchorFileName)];
  LedgerRecord anchor = Decode(file);
  absl::StatusOr<Ed25519PrivateKey> other = Ed25519PrivateKey::Generate();
  anchor.mutable_prune()->set_key_id(other->PublicKey()->KeyId());
  anchor.mutable_prune()->set_signature(
      absl::Base64Escape(*other->Sign(PruneAnchorMessage(anchor.prune()))));
  std::string forged;
  AppendRecordFrame(&anchor, &forged);
  file = forged;
  VerifyReport report = ledger.VerifyFiles();
  EXPECT_FALSE(report.ok);
  EXPECT_THAT(
      report.error,
      HasSubstr("prune-anchor.rec: prune anchor signed by unknown key"));
  // Without a key, the file's record is still checked against the chain.
  report = ledger.VerifyFiles(/*with_key=*/false);
  EXPECT_FALSE(report.ok);
  EXPECT_THAT(report.error, HasSubstr("sequence 19"));
  EXPECT_THAT(report.error, HasSubstr("not the record prune-anchor.rec holds"));

  // Bytes that are no anchor.
  PrunedLedger garbage;
  garbage.files()[std::string(kPruneAnchorFileName)] = "not a record";
  EXPECT_THAT(garbage.VerifyFiles().error,
              HasSubstr("prune-anchor.rec: not one whole record"));
}

TEST(VerifyTest, SegmentsLeftByAnInterruptedPruneAreWarnedAbout) {
  PrunedLedger ledger;
  for (const auto& [name, data] : ledger.unpruned()) {
    if (!ledger.files().count(name)) ledger.files()[name] = data;
  }
  VerifyReport report = ledger.VerifyFiles();
  ASSERT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.pruned_through_sequence, 16u);
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_THAT(report.warnings[0],
              HasSubstr("8 segment file(s) before ledger-000009.log"));
  EXPECT_THAT(report.warnings[0], HasSubstr("interrupted prune"));
}

TEST(CatTest, PrintsEveryRecordAsJson) {
  LedgerFixture ledger(2);
  std::unique_ptr<SegmentSource> source = MemorySource(ledger.files());
  std::string out;
  ASSERT_TRUE(WriteJsonLines(*source, &out).ok());
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  VerifyReport report = ledger.VerifyFiles();
  ASSERT_EQ(lines.size(), report.records);
  LedgerRecord first;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(lines[0], &first).ok());
  EXPECT_EQ(first.sequence(), 1u);
  EXPECT_EQ(first.disclosure_id(), "d0");
  EXPECT_EQ(first.prev_hash(), std::string(kGenesisHash));
  EXPECT_THAT(lines[0], HasSubstr("\"kind\":\"RECORD_KIND_INTENT\""));

  ledger.files().rbegin()->second.pop_back();
  std::unique_ptr<SegmentSource> torn = MemorySource(ledger.files());
  out.clear();
  absl::Status status = WriteJsonLines(*torn, &out);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(out.empty());  // what came before the damage
}

constexpr char kConfig[] = R"json({
  "providers": [
    {"id": "carrier_mock", "recipient": "Example Carrier Data Co., Ltd.",
     "scenario": "Carrier three-factor check", "privacy_policy_url":
     "https://carrier.example/privacy"},
    {"id": "bank_mock", "recipient": "Example Bank Card Co., Ltd.",
     "scenario": "Bank four-factor check", "privacy_policy_url":
     "https://bank.example/privacy"}
  ]
})json";

TEST(SharingTableTest, BuildsRowsFromTrafficAndMarksIdleProviders) {
  testing::TempDir dir;
  FileLedgerOptions options = testing::TestLedgerOptions(dir.Join("ledger"));
  int64_t clock = kStart;
  options.now = [&] { return absl::FromUnixSeconds(clock); };
  {
    std::unique_ptr<FileLedger> ledger = *FileLedger::Open(options);
    LedgerRecord a = MakeIntent("a");
    ASSERT_TRUE(AppendAndWait(*ledger, a).ok());
    ASSERT_TRUE(AppendAndWait(*ledger, MakeOutcome("a")).ok());
    clock += 3600;
    LedgerRecord b = MakeIntent("b");
    b.set_purpose("ca.registration");
    b.clear_fields();
    auto* field = b.add_fields();
    field->set_field(::idgate::v1::PII_FIELD_NAME);
    field->set_form(::idgate::v1::PII_FORM_PLAIN);
    ASSERT_TRUE(AppendAndWait(*ledger, b).ok());
    LedgerRecord c = MakeIntent("c", "retired_provider");
    c.set_recipient("Old Partner Ltd.");
    ASSERT_TRUE(AppendAndWait(*ledger, c).ok());
  }
  absl::StatusOr<::idgate::config::v1::GatewayConfig> config =
      ParseGatewayConfig(kConfig);
  ASSERT_TRUE(config.ok()) << config.status();
  std::unique_ptr<SegmentSource> source = *DirectorySource(options.dir);
  absl::StatusOr<::idgate::ledger::v1::SharingTable> table =
      BuildSharingTable(*source, *config);
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ(table->rows_size(), 3);

  // Sorted by recipient.
  const auto& bank = table->rows(0);
  EXPECT_EQ(bank.provider(), "bank_mock");
  EXPECT_EQ(bank.disclosures(), 0u);
  EXPECT_TRUE(bank.configured());

  const auto& carrier = table->rows(1);
  EXPECT_EQ(carrier.recipient(), "Example Carrier Data Co., Ltd.");
  EXPECT_EQ(carrier.disclosures(), 2u);  // INTENTs only
  EXPECT_EQ(carrier.scenario(), "Carrier three-factor check");
  EXPECT_THAT(
      carrier.purposes(),
      ::testing::ElementsAre("ca.registration", "esign.signer_identity"));
  ASSERT_EQ(carrier.fields_size(), 4);  // name plain + 3 SHA-256
  EXPECT_EQ(carrier.first_time().seconds(), kStart);
  EXPECT_EQ(carrier.last_time().seconds(), kStart + 3600);

  const auto& retired = table->rows(2);
  EXPECT_EQ(retired.provider(), "retired_provider");
  EXPECT_FALSE(retired.configured());

  std::string markdown = RenderSharingTable(*table, Format::kMarkdown);
  EXPECT_THAT(markdown, HasSubstr("| Example Bank Card Co., Ltd. | bank_mock | "
                                  "Bank four-factor check | — | — | 0 (no "
                                  "traffic) |"));
  EXPECT_THAT(
      markdown,
      HasSubstr("name (plain), name (SHA-256), ID number (SHA-256), "
                "mobile number (SHA-256) | 2 | 2023-11-14T22:13:20Z | "
                "2023-11-14T23:13:20Z | https://carrier.example/privacy |"));
  EXPECT_THAT(markdown, HasSubstr("retired_provider (not in config)"));

  std::string csv = RenderSharingTable(*table, Format::kCsv);
  EXPECT_THAT(csv, ::testing::StartsWith("\"Recipient\",\"Provider\","));
  EXPECT_THAT(csv, HasSubstr("\"0 (no traffic)\""));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);

  ::idgate::ledger::v1::SharingTable parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  RenderSharingTable(*table, Format::kJson), &parsed)
                  .ok());
  EXPECT_EQ(parsed.SerializeAsString(), table->SerializeAsString());
}

TEST(SharingTableTest, ConfigErrorsAndUnverifiableLedgersFail) {
  EXPECT_FALSE(ParseGatewayConfig(R"({"providerz": []})").ok());
  EXPECT_FALSE(ParseGatewayConfig("not json").ok());
  EXPECT_FALSE(ParseFormat("xml").ok());

  LedgerFixture ledger(2);
  ledger.files().begin()->second[20] ^= 1;
  std::unique_ptr<SegmentSource> source = MemorySource(ledger.files());
  absl::StatusOr<::idgate::ledger::v1::SharingTable> table =
      BuildSharingTable(*source, *ParseGatewayConfig(kConfig));
  EXPECT_EQ(table.status().code(), absl::StatusCode::kDataLoss);
}

TEST(SubjectTest, ListsThePersonsDisclosuresUnderEveryKeyVersion) {
  const std::string kId = "11010519491231002X";
  const std::string kOtherId = "440304198512010019";
  absl::StatusOr<SubjectKeyring> old_keys =
      SubjectKeyring::FromKeys({{1, std::string(32, 'a')}});
  absl::StatusOr<SubjectKeyring> keys = SubjectKeyring::FromKeys(
      {{1, std::string(32, 'a')}, {2, std::string(32, 'b')}});
  ASSERT_TRUE(old_keys.ok() && keys.ok());

  auto for_subject = [](LedgerRecord record, const SubjectReference& ref) {
    record.set_subject_ref(ref.ref);
    record.set_subject_key_version(ref.key_version);
    return record;
  };
  testing::TempDir dir;
  FileLedgerOptions options = testing::TestLedgerOptions(dir.Join("ledger"));
  {
    std::unique_ptr<FileLedger> ledger = *FileLedger::Open(options);
    // Before the rotation, under key 1.
    ASSERT_TRUE(AppendAndWait(*ledger, for_subject(MakeIntent("before"),
                                                   old_keys->Reference(kId)))
                    .ok());
    ASSERT_TRUE(AppendAndWait(*ledger, for_subject(MakeOutcome("before"),
                                                   old_keys->Reference(kId)))
                    .ok());
    // After, under key 2; no outcome.
    ASSERT_TRUE(
        AppendAndWait(*ledger, for_subject(MakeIntent("after", "bank_mock"),
                                           keys->Reference(kId)))
            .ok());
    // Somebody else.
    ASSERT_TRUE(AppendAndWait(*ledger, for_subject(MakeIntent("other"),
                                                   keys->Reference(kOtherId)))
                    .ok());
    // The key-1 reference labelled as version 2 is not this person's.
    LedgerRecord mislabelled = MakeIntent("mislabelled");
    mislabelled.set_subject_ref(old_keys->Reference(kId).ref);
    mislabelled.set_subject_key_version(2);
    ASSERT_TRUE(AppendAndWait(*ledger, mislabelled).ok());
  }
  std::unique_ptr<SegmentSource> source = *DirectorySource(options.dir);
  absl::StatusOr<::idgate::ledger::v1::SubjectReport> report =
      BuildSubjectReport(*source, keys->AllReferences(kId));
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->disclosures_size(), 2);
  EXPECT_EQ(report->disclosures(0).disclosure_id(), "before");
  EXPECT_EQ(report->disclosures(0).subject_key_version(), 1u);
  EXPECT_TRUE(report->disclosures(0).has_outcome());
  EXPECT_EQ(report->disclosures(1).disclosure_id(), "after");
  EXPECT_EQ(report->disclosures(1).provider(), "bank_mock");
  EXPECT_FALSE(report->disclosures(1).has_outcome());

  const std::string masked = identity::MaskIdNumber(kId);
  EXPECT_EQ(masked, "110***********002X");
  for (Format format : {Format::kMarkdown, Format::kCsv, Format::kJson}) {
    std::string out = RenderSubjectReport(*report, masked, format);
    EXPECT_THAT(out, Not(HasSubstr(kId)));
    EXPECT_THAT(out, Not(HasSubstr("19491231")));
    EXPECT_THAT(out, HasSubstr("before"));
  }
  std::string markdown =
      RenderSubjectReport(*report, masked, Format::kMarkdown);
  EXPECT_THAT(markdown, HasSubstr("110***********002X: 2"));
  EXPECT_THAT(markdown, HasSubstr("match, billed"));
  EXPECT_THAT(markdown, HasSubstr("no outcome recorded (possibly disclosed)"));
}

// --- Several ledgers: one per replica ---

// Three replicas' ledgers under one directory: replica-0, -1 and -2.
class ThreeLedgers {
 public:
  // Appends `record` to replica `replica`'s ledger at kStart + `minutes`.
  void Append(int replica, int minutes, LedgerRecord record) {
    int64_t clock = kStart + 60 * minutes;
    FileLedgerOptions options = testing::TestLedgerOptions(Dir(replica));
    options.now = [&clock] { return absl::FromUnixSeconds(clock); };
    std::unique_ptr<FileLedger> ledger = *FileLedger::Open(options);
    ASSERT_TRUE(AppendAndWait(*ledger, std::move(record)).ok());
    ASSERT_TRUE(ledger->Close().ok());
  }

  std::string Dir(int replica) const {
    return dir_.Join(absl::StrCat("replica-", replica));
  }
  std::vector<std::string> Dirs() const { return {Dir(0), Dir(1), Dir(2)}; }

  // Flips a byte of the first record of a replica's first segment.
  void Damage(int replica) {
    const std::string path = Dir(replica) + "/ledger-000001.log";
    std::string data = testing::ReadFileOrDie(path);
    data[20] ^= 1;
    testing::WriteFileOrDie(path, data);
  }

 private:
  testing::TempDir dir_;
};

// An INTENT about `id_number` under key version 1.
LedgerRecord IntentAbout(const std::string& disclosure_id,
                         const std::string& id_number,
                         absl::string_view provider = "carrier_mock") {
  SubjectKeyring keys = *SubjectKeyring::FromKeys({{1, std::string(32, 'a')}});
  LedgerRecord record = MakeIntent(disclosure_id, provider);
  record.set_subject_ref(keys.Reference(id_number).ref);
  record.set_subject_key_version(1);
  return record;
}

TEST(MultiLedgerTest, EachChainIsVerifiedOnItsOwnAndEveryFailureIsNamed) {
  ThreeLedgers replicas;
  for (int r = 0; r < 3; ++r) {
    replicas.Append(r, r, MakeIntent(absl::StrCat("r", r)));
    replicas.Append(r, r + 1, MakeOutcome(absl::StrCat("r", r)));
  }
  std::vector<LedgerSource> ledgers = OpenLedgers(replicas.Dirs());
  MultiVerifyReport report = Verify(ledgers, VerifyOptions());
  ASSERT_TRUE(report.ok) << VerifySummary(report);
  ASSERT_EQ(report.ledgers.size(), 3u);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(report.ledgers[r].ledger, replicas.Dir(r));
    EXPECT_EQ(report.ledgers[r].report.records, 2u);
  }
  std::vector<std::string> lines = absl::StrSplit(VerifySummary(report), '\n');
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[1], ::testing::StartsWith(
                            absl::StrCat(replicas.Dir(1), ": OK: 2 records")));
  EXPECT_EQ(lines[3], "OK: 3 ledgers verified");

  // One damaged, one gone: both named, the other still verified.
  replicas.Damage(1);
  ledgers = OpenLedgers(
      {replicas.Dir(0), replicas.Dir(1), replicas.Dir(2) + "-missing"});
  report = Verify(ledgers, VerifyOptions());
  EXPECT_FALSE(report.ok);
  EXPECT_TRUE(report.ledgers[0].report.ok);
  EXPECT_THAT(report.ledgers[1].report.error, HasSubstr("hash mismatch"));
  EXPECT_THAT(report.ledgers[2].report.error, HasSubstr("cannot be read"));
  const std::string summary = VerifySummary(report);
  EXPECT_THAT(summary, HasSubstr(absl::StrCat(replicas.Dir(1), ": FAIL: ")));
  EXPECT_THAT(summary,
              HasSubstr(absl::StrCat(
                  "FAIL: 2 of 3 ledgers do not verify: ", replicas.Dir(1), ", ",
                  replicas.Dir(2), "-missing")));

  // None, or one twice, is no audit of the replicas.
  std::vector<LedgerSource> none;
  EXPECT_EQ(VerifySummary(Verify(none, VerifyOptions())),
            "FAIL: no ledger given");
  ledgers = OpenLedgers({replicas.Dir(0), replicas.Dir(0)});
  EXPECT_THAT(Verify(ledgers, VerifyOptions()).error, HasSubstr("given twice"));
}

TEST(MultiLedgerTest, SharingTableIsMergedAndEachRowNamesItsLedgers) {
  ThreeLedgers replicas;
  replicas.Append(0, 0, MakeIntent("a"));
  replicas.Append(0, 10, MakeIntent("b"));
  replicas.Append(1, 5, MakeIntent("c"));
  LedgerRecord bank = MakeIntent("d", "bank_mock");
  bank.set_recipient("Example Bank Card Co., Ltd.");
  replicas.Append(1, 20, bank);
  replicas.Append(2, 30, MakeOutcome("a"));  // no INTENT: no row
  std::vector<LedgerSource> ledgers = OpenLedgers(replicas.Dirs());
  absl::StatusOr<::idgate::ledger::v1::SharingTable> table =
      BuildSharingTable(ledgers, *ParseGatewayConfig(kConfig));
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(table->ledgers(),
              ::testing::ElementsAre(replicas.Dir(0), replicas.Dir(1),
                                     replicas.Dir(2)));
  EXPECT_EQ(table->ledger_from().seconds(), kStart);
  EXPECT_EQ(table->ledger_to().seconds(), kStart + 30 * 60);
  ASSERT_EQ(table->rows_size(), 2);
  const auto& bank_row = table->rows(0);
  EXPECT_EQ(bank_row.provider(), "bank_mock");
  EXPECT_EQ(bank_row.disclosures(), 1u);
  EXPECT_THAT(bank_row.ledgers(), ::testing::ElementsAre(replicas.Dir(1)));
  const auto& carrier = table->rows(1);
  EXPECT_EQ(carrier.provider(), "carrier_mock");
  EXPECT_EQ(carrier.disclosures(), 3u);
  EXPECT_EQ(carrier.first_time().seconds(), kStart);
  EXPECT_EQ(carrier.last_time().seconds(), kStart + 10 * 60);
  EXPECT_THAT(carrier.ledgers(),
              ::testing::ElementsAre(replicas.Dir(0), replicas.Dir(1)));

  const std::string markdown = RenderSharingTable(*table, Format::kMarkdown);
  EXPECT_THAT(markdown, HasSubstr("| Privacy policy | Ledgers |"));
  EXPECT_THAT(markdown, HasSubstr(absl::StrCat("| 3 | 2023-11-14T22:13:20Z | "
                                               "2023-11-14T22:23:20Z | "
                                               "https://carrier.example/"
                                               "privacy | ",
                                               replicas.Dir(0), ", ",
                                               replicas.Dir(1), " |")));
  ::idgate::ledger::v1::SharingTable parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  RenderSharingTable(*table, Format::kJson), &parsed)
                  .ok());
  EXPECT_EQ(parsed.SerializeAsString(), table->SerializeAsString());

  // A ledger that does not verify fails the table, named.
  replicas.Damage(2);
  ledgers = OpenLedgers(replicas.Dirs());
  table = BuildSharingTable(ledgers, *ParseGatewayConfig(kConfig));
  EXPECT_EQ(table.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(table.status().message(),
              HasSubstr(absl::StrCat("1 of 3 ledgers failed: ", replicas.Dir(2),
                                     ": does not verify: ")));
}

TEST(MultiLedgerTest, SubjectReportIsOneHistoryAcrossTheLedgers) {
  const std::string kId = "11010519491231002X";
  ThreeLedgers replicas;
  replicas.Append(0, 20, IntentAbout("late", kId));
  replicas.Append(1, 0, IntentAbout("early", kId));
  replicas.Append(1, 1, MakeOutcome("early"));
  replicas.Append(2, 10, IntentAbout("middle", kId, "bank_mock"));
  replicas.Append(2, 11, IntentAbout("someone-else", "440304198512010019"));
  // An OUTCOME answers the INTENT of its own ledger only: this one leaves
  // replica 2's INTENT without outcome.
  replicas.Append(0, 21, MakeOutcome("middle"));

  SubjectKeyring keys = *SubjectKeyring::FromKeys({{1, std::string(32, 'a')}});
  std::vector<LedgerSource> ledgers = OpenLedgers(replicas.Dirs());
  absl::StatusOr<::idgate::ledger::v1::SubjectReport> report =
      BuildSubjectReport(ledgers, keys.AllReferences(kId));
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->disclosures_size(), 3);
  EXPECT_EQ(report->disclosures(0).disclosure_id(), "early");
  EXPECT_EQ(report->disclosures(0).ledger(), replicas.Dir(1));
  EXPECT_TRUE(report->disclosures(0).has_outcome());
  EXPECT_EQ(report->disclosures(1).disclosure_id(), "middle");
  EXPECT_EQ(report->disclosures(1).ledger(), replicas.Dir(2));
  EXPECT_FALSE(report->disclosures(1).has_outcome());
  EXPECT_EQ(report->disclosures(2).disclosure_id(), "late");
  EXPECT_EQ(report->disclosures(2).ledger(), replicas.Dir(0));

  const std::string markdown =
      RenderSubjectReport(*report, "110***********002X", Format::kMarkdown);
  EXPECT_THAT(markdown, HasSubstr("| Disclosure id | Ledger |"));
  EXPECT_THAT(markdown,
              HasSubstr(absl::StrCat("| early | ", replicas.Dir(1), " |")));

  // A ledger that is not there fails the report, named.
  ledgers = OpenLedgers({replicas.Dir(0), replicas.Dir(1) + "-gone"});
  report = BuildSubjectReport(ledgers, keys.AllReferences(kId));
  EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(
      report.status().message(),
      HasSubstr(absl::StrCat(replicas.Dir(1), "-gone: cannot be read")));
}

TEST(MultiLedgerTest, CatPrintsEveryRecordWithItsLedger) {
  ThreeLedgers replicas;
  for (int r = 0; r < 3; ++r) {
    replicas.Append(r, r, MakeIntent(absl::StrCat("r", r)));
  }
  std::vector<LedgerSource> ledgers = OpenLedgers(replicas.Dirs());
  std::string out;
  ASSERT_TRUE(WriteJsonLines(ledgers, &out).ok());
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  for (int r = 0; r < 3; ++r) {
    ::idgate::ledger::v1::LedgerEntry entry;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(lines[r], &entry).ok());
    EXPECT_EQ(entry.ledger(), replicas.Dir(r));
    EXPECT_EQ(entry.record().disclosure_id(), absl::StrCat("r", r));
  }

  replicas.Damage(0);
  ledgers = OpenLedgers(replicas.Dirs());
  out.clear();
  absl::Status status = WriteJsonLines(ledgers, &out);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr(replicas.Dir(0)));
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << "the others";
}

TEST(FieldFormLabelTest, Labels) {
  ::idgate::v1::PiiFieldForm field;
  field.set_field(::idgate::v1::PII_FIELD_BANK_CARD_NUMBER);
  field.set_form(::idgate::v1::PII_FORM_SM3);
  EXPECT_EQ(FieldFormLabel(field), "bank card number (SM3)");
}

}  // namespace
}  // namespace idgate::audit
