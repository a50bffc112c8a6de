#include "server/ledger/segment_format.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "gtest/gtest.h"
#include "server/ledger/testing.h"

namespace idgate {
namespace {

using ::idgate::ledger::v1::RECORD_KIND_CHECKPOINT;

// Chains `records` from the genesis and returns the segment bytes.
std::string EncodeChain(std::vector<LedgerRecord>& records) {
  std::string out;
  std::string prev(kGenesisHash);
  uint64_t sequence = 0;
  for (LedgerRecord& record : records) {
    record.set_sequence(++sequence);
    record.set_prev_hash(prev);
    SetRecordTime(absl::FromUnixSeconds(1700000000), &record);
    AppendRecordFrame(&record, &out);
    prev = record.hash();
  }
  return out;
}

TEST(SegmentFileNameTest, RoundTripAndStrictness) {
  EXPECT_EQ(SegmentFileName(1), "ledger-000001.log");
  EXPECT_EQ(SegmentFileName(1234567), "ledger-1234567.log");
  EXPECT_EQ(ParseSegmentFileName("ledger-000042.log"), 42u);
  EXPECT_EQ(ParseSegmentFileName("ledger-1234567.log"), 1234567u);
  EXPECT_FALSE(ParseSegmentFileName("ledger-000000.log").has_value());
  EXPECT_FALSE(ParseSegmentFileName("ledger-42.log").has_value());
  EXPECT_FALSE(ParseSegmentFileName("ledger-0000042.log").has_value());
  EXPECT_FALSE(ParseSegmentFileName("ledger-000042.log.tmp").has_value());
  EXPECT_FALSE(ParseSegmentFileName("ledger-00004x.log").has_value());
  EXPECT_FALSE(ParseSegmentFileName("lost+found").has_value());
}

TEST(RecordFrameTest, HashIsSha256OfDeterministicRecordWithoutHash) {
  LedgerRecord record = testing::MakeIntent("d1");
  record.set_sequence(1);
  record.set_prev_hash(std::string(kGenesisHash));
  record.set_hash("stale");
  std::string frame;
  AppendRecordFrame(&record, &frame);

  // The definition, computed independently of the frame layout.
  LedgerRecord without_hash = record;
  without_hash.clear_hash();
  std::string canonical;
  {
    google::protobuf::io::StringOutputStream stream(&canonical);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    ASSERT_TRUE(without_hash.SerializeToCodedStream(&coded));
  }
  EXPECT_EQ(record.hash(), Sha256Hex(canonical));

  FrameScan scan = ScanFrames(frame);
  ASSERT_EQ(scan.frames.size(), 1u);
  EXPECT_EQ(scan.tail, SegmentTail::kClean);
  EXPECT_EQ(scan.valid_bytes, frame.size());
  absl::StatusOr<LedgerRecord> decoded = DecodeRecord(scan.frames[0].payload);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->SerializeAsString(), record.SerializeAsString());
}

TEST(RecordFrameTest, EveryFlippedPayloadByteIsDetected) {
  std::vector<LedgerRecord> records = {testing::MakeIntent("d1")};
  const std::string segment = EncodeChain(records);
  for (size_t i = kFrameHeaderBytes; i < segment.size(); ++i) {
    std::string damaged = segment;
    damaged[i] ^= 0x01;
    FrameScan scan = ScanFrames(damaged);
    ASSERT_EQ(scan.frames.size(), 1u);
    EXPECT_FALSE(DecodeRecord(scan.frames[0].payload).ok()) << "byte " << i;
  }
}

TEST(ScanFramesTest, TellsTornFromCorrupt) {
  std::vector<LedgerRecord> records = {testing::MakeIntent("d1"),
                                       testing::MakeIntent("d2")};
  const std::string segment = EncodeChain(records);
  const size_t first_end = ScanFrames(segment).frames[1].offset;

  // Cut inside the second record's header, then inside its payload.
  for (size_t cut : {first_end + 3, first_end + kFrameHeaderBytes + 10}) {
    FrameScan scan = ScanFrames(segment.substr(0, cut));
    EXPECT_EQ(scan.tail, SegmentTail::kTorn) << cut;
    EXPECT_EQ(scan.frames.size(), 1u);
    EXPECT_EQ(scan.valid_bytes, first_end);
  }

  // The same cuts in a preallocated segment: the write stopped, zeros follow.
  const std::string zeros(600, '\0');
  for (size_t cut : {first_end + 3, first_end + kFrameHeaderBytes + 10,
                     segment.size() - 1}) {
    FrameScan scan = ScanFrames(segment.substr(0, cut) + zeros);
    EXPECT_EQ(scan.tail, SegmentTail::kTorn) << cut;
    EXPECT_EQ(scan.frames.size(), 1u) << cut;
    EXPECT_EQ(scan.valid_bytes, first_end) << cut;
  }

  // Zeros after whole records are preallocated space, not damage.
  FrameScan free_space = ScanFrames(segment + zeros);
  EXPECT_EQ(free_space.tail, SegmentTail::kClean);
  EXPECT_EQ(free_space.frames.size(), 2u);
  EXPECT_EQ(free_space.valid_bytes, segment.size());
  FrameScan only_zeros = ScanFrames(zeros);
  EXPECT_EQ(only_zeros.tail, SegmentTail::kClean);
  EXPECT_EQ(only_zeros.valid_bytes, 0u);

  // A record cut short but followed by data is not a torn write.
  std::string hole =
      segment.substr(0, segment.size() - 1) + std::string(1, '\0') + zeros;
  hole.back() = 'x';
  EXPECT_EQ(ScanFrames(hole).tail, SegmentTail::kCorrupt);

  // A damaged length is corruption, even in the last record.
  for (size_t byte = 0; byte < kFrameHeaderBytes; ++byte) {
    std::string damaged = segment;
    damaged[first_end + byte] ^= 0x04;
    FrameScan scan = ScanFrames(damaged);
    EXPECT_EQ(scan.tail, SegmentTail::kCorrupt) << byte;
    EXPECT_EQ(scan.frames.size(), 1u);
  }
}

TEST(ChainVerifierTest, DetectsBrokenLinks) {
  std::vector<LedgerRecord> records = {testing::MakeIntent("d1"),
                                       testing::MakeIntent("d2"),
                                       testing::MakeIntent("d3")};
  EncodeChain(records);
  {
    ChainVerifier chain;
    for (const LedgerRecord& record : records) {
      ASSERT_TRUE(chain.Add(record).ok());
    }
    EXPECT_EQ(chain.head_sequence(), 3u);
    EXPECT_EQ(chain.head_hash(), records[2].hash());
  }
  {
    ChainVerifier chain;
    ASSERT_TRUE(chain.Add(records[0]).ok());
    absl::Status skipped = chain.Add(records[2]);
    EXPECT_EQ(skipped.code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(skipped.message().find("expected sequence 2, found 3"),
              std::string::npos);
  }
  {
    ChainVerifier chain;
    EXPECT_FALSE(chain.Add(records[1]).ok());  // not the genesis
    ChainVerifier tail = ChainVerifier::TrustingFirstLink();
    EXPECT_TRUE(tail.Add(records[1]).ok());
    EXPECT_TRUE(tail.Add(records[2]).ok());
  }
  {
    LedgerRecord relinked = records[1];
    relinked.set_prev_hash(std::string(kGenesisHash));
    ChainVerifier chain;
    ASSERT_TRUE(chain.Add(records[0]).ok());
    EXPECT_FALSE(chain.Add(relinked).ok());
  }
}

TEST(ChainVerifierTest, CheckpointMustNameThePreviousRecord) {
  std::vector<LedgerRecord> records = {testing::MakeIntent("d1")};
  EncodeChain(records);
  LedgerRecord checkpoint;
  checkpoint.set_kind(RECORD_KIND_CHECKPOINT);
  checkpoint.set_sequence(2);
  checkpoint.set_prev_hash(records[0].hash());
  checkpoint.mutable_checkpoint()->set_head_sequence(1);
  checkpoint.mutable_checkpoint()->set_head_hash(records[0].hash());

  ChainVerifier chain;
  ASSERT_TRUE(chain.Add(records[0]).ok());
  ChainVerifier copy = chain;
  EXPECT_TRUE(chain.Add(checkpoint).ok());

  checkpoint.mutable_checkpoint()->set_head_hash(Sha256Hex("other"));
  absl::Status status = copy.Add(checkpoint);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("checkpoint claims head 1"),
            std::string::npos);
}

TEST(CheckpointSignatureTest, VerifiesAndRejects) {
  absl::StatusOr<Ed25519PrivateKey> key = Ed25519PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  absl::StatusOr<Ed25519PublicKey> public_key = key->PublicKey();
  ASSERT_TRUE(public_key.ok());
  const std::string head = Sha256Hex("head");

  LedgerRecord checkpoint;
  checkpoint.set_kind(RECORD_KIND_CHECKPOINT);
  auto* body = checkpoint.mutable_checkpoint();
  body->set_head_sequence(41);
  body->set_head_hash(head);
  body->set_key_id(public_key->KeyId());
  body->set_signature(
      absl::Base64Escape(*key->Sign(CheckpointMessage(41, head))));
  EXPECT_EQ(CheckpointMessage(41, head), "idgate-checkpoint:v1:41:" + head);
  EXPECT_TRUE(VerifyCheckpointSignature(checkpoint, *public_key).ok());

  LedgerRecord moved = checkpoint;
  moved.mutable_checkpoint()->set_head_sequence(42);
  EXPECT_FALSE(VerifyCheckpointSignature(moved, *public_key).ok());

  absl::StatusOr<Ed25519PublicKey> other =
      Ed25519PrivateKey::Generate()->PublicKey();
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(VerifyCheckpointSignature(checkpoint, *other).ok());
}

}  // namespace
}  // namespace idgate
