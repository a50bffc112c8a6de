#include "server/ledger/segment_format.h"

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "core/time.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace idgate {
namespace {

using ::idgate::ledger::v1::RECORD_KIND_CHECKPOINT;
using ::idgate::ledger::v1::RECORD_KIND_INTENT;
using ::idgate::ledger::v1::RECORD_KIND_OUTCOME;
using ::idgate::ledger::v1::RECORD_KIND_PRUNE;

constexpr absl::string_view kSegmentPrefix = "ledger-";
constexpr absl::string_view kSegmentSuffix = ".log";
constexpr size_t kHashHexBytes = 64;
// Tag of field 17 (wire type 2) as a varint, then the length 64.
constexpr char kHashFieldPrefix[] = {'\x8A', '\x01', '\x40'};
constexpr size_t kHashFieldBytes = sizeof(kHashFieldPrefix) + kHashHexBytes;

void PutFixed32(uint32_t value, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(value >> (8 * i));
}

uint32_t GetFixed32(const char* in) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    value |= static_cast<uint32_t>(static_cast<unsigned char>(in[i]))
             << (8 * i);
  }
  return value;
}

bool AllZero(absl::string_view data) {
  for (char c : data) {
    if (c != 0) return false;
  }
  return true;
}

absl::Status Broken(absl::string_view reason) {
  return absl::DataLossError(reason);
}

}  // namespace

std::string SegmentFileName(uint64_t index) {
  return absl::StrFormat("ledger-%06d.log", index);
}

absl::optional<uint64_t> ParseSegmentFileName(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, kSegmentPrefix) ||
      !absl::ConsumeSuffix(&name, kSegmentSuffix) || name.size() < 6) {
    return absl::nullopt;
  }
  for (char c : name) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return absl::nullopt;
    }
  }
  uint64_t index = 0;
  // Reject non-canonical spellings so that one index has one name.
  if (!absl::SimpleAtoi(name, &index) || index == 0 ||
      SegmentFileName(index) !=
          absl::StrCat(kSegmentPrefix, name, kSegmentSuffix)) {
    return absl::nullopt;
  }
  return index;
}

void SetRecordTime(absl::Time time, LedgerRecord* record) {
  SetTimestamp(time, record->mutable_time());
}

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* timestamp) {
  int64_t seconds = absl::ToUnixSeconds(time);
  int64_t nanos =
      absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds));
  timestamp->set_seconds(seconds);
  timestamp->set_nanos(static_cast<int32_t>(nanos));
}

absl::Time RecordTime(const LedgerRecord& record) {
  return ToTime(record.time());
}

void AppendRecordFrame(LedgerRecord* record, std::string* out) {
  record->clear_hash();
  const size_t body_size = record->ByteSizeLong();
  const size_t payload_size = body_size + kHashFieldBytes;
  const size_t frame_start = out->size();
  out->resize(frame_start + kFrameHeaderBytes + payload_size);
  char* frame = &(*out)[frame_start];
  PutFixed32(static_cast<uint32_t>(payload_size), frame);
  PutFixed32(~static_cast<uint32_t>(payload_size), frame + 4);
  char* body = frame + kFrameHeaderBytes;
  {
    google::protobuf::io::ArrayOutputStream array(body,
                                                  static_cast<int>(body_size));
    google::protobuf::io::CodedOutputStream coded(&array);
    coded.SetSerializationDeterministic(true);
    record->SerializeWithCachedSizes(&coded);
  }
  std::string hash = Sha256Hex(absl::string_view(body, body_size));
  std::memcpy(body + body_size, kHashFieldPrefix, sizeof(kHashFieldPrefix));
  std::memcpy(body + body_size + sizeof(kHashFieldPrefix), hash.data(),
              kHashHexBytes);
  record->set_hash(std::move(hash));
}

std::string CheckpointMessage(uint64_t head_sequence,
                              absl::string_view head_hash) {
  return absl::StrCat("idgate-checkpoint:v1:", head_sequence, ":", head_hash);
}

namespace {

// Checks a signature (base64) by the key named `key_id` over `message`.
// `what` names the statement in the errors, `over` what it says.
absl::Status VerifySignature(absl::string_view what, absl::string_view over,
                             absl::string_view key_id,
                             absl::string_view signature_base64,
                             absl::string_view message,
                             const Ed25519PublicKey& key) {
  if (key_id != key.KeyId()) {
    return Broken(absl::StrCat(what, " signed by key ", key_id,
                               ", not by the verifying key ", key.KeyId()));
  }
  std::string signature;
  if (!absl::Base64Unescape(signature_base64, &signature)) {
    return Broken(absl::StrCat(what, " signature is not base64"));
  }
  if (!key.Verify(message, signature)) {
    return Broken(
        absl::StrCat(what, " signature over ", over, " does not verify"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status VerifyCheckpointSignature(const LedgerRecord& checkpoint,
                                       const Ed25519PublicKey& key) {
  const auto& body = checkpoint.checkpoint();
  return VerifySignature(
      "checkpoint",
      absl::StrCat("head ", body.head_sequence(), " ", body.head_hash()),
      body.key_id(), body.signature(),
      CheckpointMessage(body.head_sequence(), body.head_hash()), key);
}

std::string PruneAnchorMessage(
    const ::idgate::ledger::v1::PruneAnchor& anchor) {
  return absl::StrCat(
      "idgate-prune:v1:", anchor.last_sequence(), ":", anchor.last_hash(), ":",
      absl::ToUnixNanos(ToTime(anchor.before())), ":", anchor.first_segment());
}

absl::Status VerifyPruneSignature(const LedgerRecord& prune,
                                  const Ed25519PublicKey& key) {
  const auto& anchor = prune.prune();
  return VerifySignature("prune anchor",
                         absl::StrCat("records to ", anchor.last_sequence(),
                                      " ", anchor.last_hash()),
                         anchor.key_id(), anchor.signature(),
                         PruneAnchorMessage(anchor), key);
}

FrameScan ScanFrames(absl::string_view segment) {
  FrameScan scan;
  size_t pos = 0;
  auto torn = [&](std::string reason) {
    scan.tail = SegmentTail::kTorn;
    scan.tail_reason = std::move(reason);
  };
  while (pos < segment.size()) {
    absl::string_view rest = segment.substr(pos);
    // Preallocated space that no record has reached yet.
    if (AllZero(rest)) break;
    if (rest.size() < kFrameHeaderBytes) {
      torn(absl::StrCat("segment ends inside a record header (", rest.size(),
                        " of ", kFrameHeaderBytes, " bytes)"));
      break;
    }
    const uint32_t length = GetFixed32(rest.data());
    const uint32_t check = GetFixed32(rest.data() + 4);
    if (check != ~length || length <= kHashFieldBytes ||
        length > kMaxRecordBytes) {
      // A header whose write stopped part-way, in preallocated space.
      if (AllZero(rest.substr(kFrameHeaderBytes))) {
        torn("record header cut short");
      } else {
        scan.tail = SegmentTail::kCorrupt;
        scan.tail_reason = "damaged record header";
      }
      break;
    }
    if (rest.size() - kFrameHeaderBytes < length) {
      torn(absl::StrCat("segment ends inside a record (",
                        rest.size() - kFrameHeaderBytes, " of ", length,
                        " bytes)"));
      break;
    }
    const size_t end = kFrameHeaderBytes + length;
    // A payload ends with its hash in hex, never with a zero byte: this
    // record's write stopped part-way, in preallocated space.
    if (rest[end - 1] == '\0' && AllZero(rest.substr(end))) {
      torn("record cut short");
      break;
    }
    scan.frames.push_back(
        SegmentFrame{pos, rest.substr(kFrameHeaderBytes, length)});
    pos += end;
  }
  scan.valid_bytes = pos;
  return scan;
}

absl::StatusOr<LedgerRecord> DecodeRecord(absl::string_view payload) {
  if (payload.size() <= kHashFieldBytes) return Broken("record too short");
  const size_t body_size = payload.size() - kHashFieldBytes;
  absl::string_view body = payload.substr(0, body_size);
  absl::string_view hash_field = payload.substr(body_size);
  if (hash_field.substr(0, sizeof(kHashFieldPrefix)) !=
      absl::string_view(kHashFieldPrefix, sizeof(kHashFieldPrefix))) {
    return Broken("record does not end with its hash");
  }
  absl::string_view stored = hash_field.substr(sizeof(kHashFieldPrefix));
  if (Sha256Hex(body) != stored) {
    return Broken("hash mismatch: the record's bytes were altered");
  }
  LedgerRecord record;
  if (!record.ParseFromArray(payload.data(),
                             static_cast<int>(payload.size()))) {
    return Broken("record does not parse");
  }
  return record;
}

ChainVerifier ChainVerifier::TrustingFirstLink() {
  ChainVerifier chain;
  chain.trust_first_link_ = true;
  return chain;
}

absl::Status ChainVerifier::Add(const LedgerRecord& record) {
  const bool first = records_ == 0;
  if (!(first && trust_first_link_)) {
    if (record.sequence() != head_.sequence + 1) {
      return Broken(absl::StrCat("expected sequence ", head_.sequence + 1,
                                 ", found ", record.sequence(),
                                 " (record removed, duplicated or moved)"));
    }
    if (record.prev_hash() != head_.hash) {
      return Broken(absl::StrCat("prev_hash does not match the hash of record ",
                                 head_.sequence));
    }
  } else if (record.sequence() == 0) {
    return Broken("sequence 0");
  }
  switch (record.kind()) {
    case RECORD_KIND_INTENT:
    case RECORD_KIND_OUTCOME:
      break;
    case RECORD_KIND_CHECKPOINT: {
      const auto& checkpoint = record.checkpoint();
      if (checkpoint.head_sequence() + 1 != record.sequence() ||
          checkpoint.head_hash() != record.prev_hash()) {
        return Broken(absl::StrCat(
            "checkpoint claims head ", checkpoint.head_sequence(), " ",
            checkpoint.head_hash(), " but record ", record.sequence() - 1,
            " has hash ", record.prev_hash(),
            " (chain rewritten after the checkpoint was signed)"));
      }
      break;
    }
    case RECORD_KIND_PRUNE:
      if (record.prune().last_sequence() >= record.sequence() ||
          record.prune().first_segment() == 0) {
        return Broken(absl::StrCat("prune anchor claims record ",
                                   record.prune().last_sequence(),
                                   " removed, which is not before it"));
      }
      break;
    default:
      return Broken(absl::StrCat("unknown record kind ", record.kind()));
  }
  head_.sequence = record.sequence();
  head_.hash = record.hash();
  ++records_;
  return absl::OkStatus();
}

}  // namespace idgate
