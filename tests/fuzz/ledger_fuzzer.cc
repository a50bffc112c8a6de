// Fuzz target over `idgate-audit verify` (tools/idgate-audit/audit.h), fed
// with arbitrary ledger files. The input is split on kSegmentMarker into
// segment files ledger-000001.log, ledger-000002.log, ... (at most
// kMaxSegments), served from a MemorySource, and verified twice: without
// keys, and with the development checkpoint key that signed the seeds.
// Beyond "no crash, no UB, no unbounded allocation", it checks the contract:
//  - ok exactly when there is no error; the same bytes give the same report;
//  - an accepted chain starts at 1 with no gap: records == head_sequence,
//    and the visitor saw every record;
//  - a key only adds checks: accepted with the key => accepted without, and
//    then every checkpoint's signature was verified;
//  - `cat` (WriteJsonLines) accepts exactly the ledgers Verify accepts;
//  - the ledger scan resumes at any segment: started after the head a
//    whole scan reached at the end of the segment before, it accepts the
//    rest and reaches the same head;
//  - the error names positions, never raw bytes: printable ASCII, bounded.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/stubs/logging.h"
#include "server/ledger/crypto.h"
#include "server/ledger/ledger_scan.h"
#include "server/ledger/segment_format.h"
#include "tests/fuzz/fuzz_check.h"
#include "tools/idgate-audit/audit.h"

namespace idgate::audit {
namespace {

constexpr absl::string_view kSegmentMarker = "--segment--";
constexpr std::size_t kMaxSegments = 8;
constexpr std::size_t kMaxInput = 256 * 1024;

// config/dev-secrets/checkpoint-ed25519.pub.pem (development key, public).
constexpr char kDevCheckpointPublicKey[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAYeZ1tE6XyGunW3h/Dp7Hf90uWdNFwG3Kv06j1oZ8SQw=\n"
    "-----END PUBLIC KEY-----\n";

std::map<std::string, std::string> SplitSegments(absl::string_view input) {
  std::map<std::string, std::string> files;
  uint64_t index = 1;
  while (true) {
    const std::size_t at = input.find(kSegmentMarker);
    if (at == absl::string_view::npos || index == kMaxSegments) {
      files[SegmentFileName(index)] = std::string(input);
      break;
    }
    files[SegmentFileName(index++)] = std::string(input.substr(0, at));
    input.remove_prefix(at + kSegmentMarker.size());
  }
  return files;
}

bool PrintableAscii(absl::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

struct Run {
  VerifyReport report;
  uint64_t visited = 0;
};

Run VerifyOnce(const std::map<std::string, std::string>& files,
               const VerifyOptions& options) {
  Run run;
  std::unique_ptr<SegmentSource> source = MemorySource(files);
  run.report =
      Verify(*source, options, [&run](const LedgerRecord&) { ++run.visited; });
  return run;
}

// The chain head and record count at the end of each segment.
class SegmentEnds : public LedgerVisitor {
 public:
  struct End {
    ChainHead head;
    uint64_t records = 0;
  };

  absl::Status OnRecord(const LedgerRecord& record,
                        const RecordPosition&) override {
    head_ = ChainHead{record.sequence(), record.hash()};
    ++records_;
    return absl::OkStatus();
  }
  absl::Status OnSegment(const ScannedSegment& segment) override {
    ends[segment.index] = End{head_, records_};
    return absl::OkStatus();
  }

  std::map<uint64_t, End> ends;

 private:
  ChainHead head_;
  uint64_t records_ = 0;
};

// For a ledger that verified: a scan from each later segment, after the
// head the whole scan had there, accepts the rest and ends where it did.
void CheckScanResumesAtEverySegment(
    const std::map<std::string, std::string>& files,
    const VerifyReport& whole) {
  std::unique_ptr<SegmentSource> source = MemorySource(files);
  SegmentEnds segment_ends;
  absl::StatusOr<ScanResult> scan =
      ScanLedger(*source, ScanStart(), segment_ends);
  FUZZ_CHECK(scan.ok() && !scan->damage && !scan->torn_tail);
  for (const auto& [index, end] : segment_ends.ends) {
    if (index == scan->segments) break;
    ScanStart start;
    start.segment = index + 1;
    start.previous = end.head;
    LedgerVisitor ignore;
    absl::StatusOr<ScanResult> rest = ScanLedger(*source, start, ignore);
    FUZZ_CHECK(rest.ok() && !rest->damage && !rest->torn_tail);
    FUZZ_CHECK(rest->head.hash == whole.head_hash);
    FUZZ_CHECK(rest->records == whole.records - end.records);
  }
}

void CheckReport(const Run& run) {
  const VerifyReport& r = run.report;
  FUZZ_CHECK(r.ok == r.error.empty());
  FUZZ_CHECK(r.checkpoints <= r.records);
  FUZZ_CHECK(r.signatures_verified <= r.checkpoints);
  FUZZ_CHECK(r.head_hash.size() == 64);
  if (r.ok) {
    FUZZ_CHECK(r.records == r.head_sequence);
    FUZZ_CHECK(run.visited == r.records);
    FUZZ_CHECK(r.last_checkpoint_sequence <= r.head_sequence);
  } else {
    if (!PrintableAscii(r.error)) {
      std::fprintf(stderr, "error with raw bytes: %s\n",
                   absl::CHexEscape(r.error).c_str());
    }
    FUZZ_CHECK(PrintableAscii(r.error));
    FUZZ_CHECK(r.error.size() < 1024);
  }
}

}  // namespace
}  // namespace idgate::audit

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace idgate::audit;  // NOLINT
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  static const idgate::Ed25519PublicKey* key = [] {
    auto parsed = idgate::Ed25519PublicKey::FromPem(kDevCheckpointPublicKey);
    FUZZ_CHECK(parsed.ok());
    return new idgate::Ed25519PublicKey(*std::move(parsed));
  }();
  if (size > kMaxInput) return 0;
  const auto files = SplitSegments(
      absl::string_view(reinterpret_cast<const char*>(data), size));

  VerifyOptions no_keys;
  VerifyOptions with_key;
  with_key.public_keys.push_back(*key);
  const Run plain = VerifyOnce(files, no_keys);
  const Run keyed = VerifyOnce(files, with_key);
  CheckReport(plain);
  CheckReport(keyed);

  // Deterministic.
  const Run again = VerifyOnce(files, no_keys);
  FUZZ_CHECK(again.report.ok == plain.report.ok);
  FUZZ_CHECK(again.report.error == plain.report.error);
  FUZZ_CHECK(again.report.head_hash == plain.report.head_hash);

  // The key only adds checks.
  if (keyed.report.ok) {
    FUZZ_CHECK(plain.report.ok);
    FUZZ_CHECK(keyed.report.records == plain.report.records);
    FUZZ_CHECK(keyed.report.signatures_verified == keyed.report.checkpoints);
    FUZZ_CHECK(keyed.report.records == 0 || keyed.report.checkpoints > 0);
  }

  // `cat` agrees with `verify`.
  std::unique_ptr<SegmentSource> source = MemorySource(files);
  std::string lines;
  const absl::Status cat = WriteJsonLines(*source, &lines);
  if (cat.ok() != plain.report.ok) {
    std::fprintf(stderr, "verify: %s\ncat: %s\n",
                 VerifySummary(plain.report).c_str(), cat.ToString().c_str());
  }
  FUZZ_CHECK(cat.ok() == plain.report.ok);

  if (plain.report.ok) CheckScanResumesAtEverySegment(files, plain.report);
  return 0;
}
