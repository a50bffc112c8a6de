// Writes the seed corpus of ledger_fuzzer.cc to <dir> (committed as
// tests/fuzz/corpus/ledger/): real ledgers written by FileLedger, signed
// with the development checkpoint key, and the damage an audit must catch.
//   fuzz_make_ledger_corpus tests/fuzz/corpus/ledger
//                           config/dev-secrets/checkpoint-ed25519.key

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/ledger/file_ledger.h"
#include "server/ledger/segment_format.h"
#include "server/ledger/testing.h"

namespace {

using idgate::testing::AppendAndWait;
using idgate::testing::MakeIntent;
using idgate::testing::MakeOutcome;

constexpr absl::string_view kSegmentMarker = "--segment--";

struct Spec {
  int pairs = 3;
  bool sign = true;
  uint64_t segment_max_bytes = 1 << 20;
  uint64_t checkpoint_every = 4;
  bool open_intent = false;  // last intent has no outcome
};

Spec MakeSpec(int pairs, bool sign, uint64_t segment_max_bytes,
              bool open_intent) {
  Spec spec;
  spec.pairs = pairs;
  spec.sign = sign;
  spec.segment_max_bytes = segment_max_bytes;
  spec.open_intent = open_intent;
  return spec;
}

// The segments of a ledger written with `spec`, in order.
std::vector<std::string> Write(const Spec& spec, const std::string& key_file) {
  idgate::testing::TempDir dir;
  idgate::FileLedgerOptions options =
      idgate::testing::TestLedgerOptions(dir.Join("ledger"));
  options.segment_max_bytes = spec.segment_max_bytes;
  if (spec.sign) options.checkpoint_private_key_file = key_file;
  options.checkpoint_every_records = spec.checkpoint_every;
  options.checkpoint_interval = absl::ZeroDuration();
  int64_t clock = 1700000000;
  options.now = [&clock] { return absl::FromUnixSeconds(clock); };
  {
    auto ledger = idgate::FileLedger::Open(options);
    if (!ledger.ok()) {
      std::fprintf(stderr, "%s\n", ledger.status().ToString().c_str());
      std::exit(1);
    }
    for (int i = 0; i < spec.pairs; ++i) {
      clock += 60;
      const std::string id = absl::StrCat("d-", i);
      (void)AppendAndWait(**ledger,
                          MakeIntent(id, i % 2 ? "bank_mock" : "carrier_mock"));
      if (!(spec.open_intent && i + 1 == spec.pairs)) {
        (void)AppendAndWait(
            **ledger, MakeOutcome(id, i % 2 ? "bank_mock" : "carrier_mock"));
      }
    }
    (void)(*ledger)->Close();
  }
  std::vector<std::string> segments;
  for (uint64_t index = 1;; ++index) {
    const std::string path =
        dir.Join("ledger/" + idgate::SegmentFileName(index));
    if (!std::filesystem::exists(path)) break;
    segments.push_back(idgate::testing::ReadFileOrDie(path));
  }
  return segments;
}

std::string Join(const std::vector<std::string>& segments) {
  std::string out;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) absl::StrAppend(&out, kSegmentMarker);
    out += segments[i];
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <corpus dir> <checkpoint private key>\n",
                 argv[0]);
    return 2;
  }
  const std::string out = argv[1];
  const std::string key = argv[2];
  std::filesystem::create_directories(out);
  std::map<std::string, std::string> seeds;

  const auto one = Write(Spec(), key);
  seeds["signed_one_segment"] = Join(one);
  seeds["unsigned"] = Join(Write(MakeSpec(3, false, 1 << 20, false), key));
  seeds["open_intent"] = Join(Write(MakeSpec(2, true, 1 << 20, true), key));
  const auto many = Write(MakeSpec(6, true, 1500, false), key);
  seeds["signed_many_segments"] = Join(many);
  seeds["empty_segment"] = "";
  seeds["single_record"] = Join(Write(MakeSpec(1, false, 1 << 20, true), key));

  // Damage: each must fail verification.
  std::string torn = one.front();
  torn.resize(torn.size() - 7);
  seeds["torn_tail"] = torn;
  std::string zeros = one.front() + std::string(64, '\0');
  seeds["zero_tail"] = zeros;
  std::string flipped = one.front();
  flipped[flipped.size() / 2] ^= 0x01;
  seeds["flipped_byte"] = flipped;
  std::string bad_header = one.front();
  bad_header[4] ^= 0xFF;
  seeds["bad_frame_check"] = bad_header;
  if (many.size() >= 3) {
    seeds["segment_removed"] = Join({many[0], many[2]});
    seeds["segments_swapped"] = Join({many[1], many[0], many[2]});
  }
  // Records reordered: swap the first two frames of the first segment.
  {
    const auto scan = idgate::ScanFrames(one.front());
    if (scan.frames.size() >= 2) {
      auto frame = [&](size_t i) {
        const uint64_t begin = scan.frames[i].offset;
        const uint64_t end = i + 1 < scan.frames.size()
                                 ? scan.frames[i + 1].offset
                                 : scan.valid_bytes;
        return one.front().substr(begin, end - begin);
      };
      std::string swapped = frame(1) + frame(0);
      for (size_t i = 2; i < scan.frames.size(); ++i) swapped += frame(i);
      seeds["records_reordered"] = swapped;
      std::string removed = frame(0);
      for (size_t i = 2; i < scan.frames.size(); ++i) removed += frame(i);
      seeds["record_removed"] = removed;
    }
  }
  seeds["huge_length"] =
      std::string("\xff\xff\xff\x7f\x00\x00\x00\x80", 8) + "x";

  for (const auto& [name, bytes] : seeds) {
    std::ofstream(out + "/" + name, std::ios::binary) << bytes;
  }
  std::printf("wrote %zu seeds to %s\n", seeds.size(), out.c_str());
  return 0;
}
