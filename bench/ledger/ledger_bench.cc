// Ledger benchmark: prints Markdown tables for BENCHMARKS.md.
//
//   ledger_bench [--dir DIR] [--seconds S] [--writers 1,4,16,64,256]
//                [--cpu-ceiling-dir /dev/shm|none]
//
// 1. Record encoding: the length-prefixed binary frame the ledger writes
//    against the best JSON-lines alternative (one JSON print, hash over the
//    JSON, hash spliced in), and the matching decode (recovery, audit).
// 2. Durable records per second, the same FileLedger code on the same disk:
//    group commit (max_batch_records 4096) against one write + fdatasync per
//    record (max_batch_records 1), for N concurrent writers that each append
//    and wait for the callback before appending again. Checkpoints are on
//    (every 1000 records) so their signing cost is included. Each writer
//    waits for durability, so throughput <= writers / sync latency.
// 3. The same group commit on tmpfs, where fdatasync is free: the CPU
//    ceiling of the machinery itself.

#include <ftw.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "server/ledger/crypto.h"
#include "server/ledger/file_ledger.h"
#include "server/ledger/retention.h"
#include "server/ledger/segment_format.h"
#include "server/ledger/testing.h"

namespace idgate {
namespace {

using Clock = std::chrono::steady_clock;

// A realistic INTENT: three-factor check, three hashed fields; the test
// helper's record with production-sized values.
LedgerRecord SampleIntent(int i) {
  LedgerRecord record = testing::MakeIntent(absl::StrFormat("01HF7Z%020d", i),
                                            /*provider=*/"carrier_cmcc");
  record.set_caller("spiffe://prod.example.cn/ns/esign/sa/signing-api");
  record.set_request_id(absl::StrFormat("req-%016x", i * 2654435761u));
  record.set_recipient("中国移动通信集团有限公司");
  record.set_subject_ref(Sha256Hex(absl::StrCat("subject", i)));
  record.set_subject_key_version(2);
  record.set_consent_id(absl::StrFormat("consent-%012d", i));
  record.set_policy_version(Sha256Hex("policy-v7"));
  return record;
}

void Chain(int i, const std::string& prev, LedgerRecord* record) {
  record->set_sequence(static_cast<uint64_t>(i) + 1);
  SetRecordTime(absl::FromUnixSeconds(1700000000 + i), record);
  record->set_prev_hash(prev);
}

double NsPer(Clock::duration elapsed, int n) {
  return std::chrono::duration<double, std::nano>(elapsed).count() / n;
}

void EncodingTable() {
  constexpr int kRecords = 100000;
  // Built before timing: the writer thread gets records moved in.
  std::vector<LedgerRecord> records;
  records.reserve(kRecords);
  for (int i = 0; i < kRecords; ++i) records.push_back(SampleIntent(i));
  std::vector<LedgerRecord> json_records = records;

  // Binary: what FileLedger writes.
  std::string binary;
  std::string prev(kGenesisHash);
  auto start = Clock::now();
  for (int i = 0; i < kRecords; ++i) {
    LedgerRecord& record = records[i];
    Chain(i, prev, &record);
    AppendRecordFrame(&record, &binary);
    prev = record.hash();
  }
  const double binary_encode = NsPer(Clock::now() - start, kRecords);

  start = Clock::now();
  FrameScan scan = ScanFrames(binary);
  uint64_t decoded = 0;
  for (const SegmentFrame& frame : scan.frames) {
    decoded += DecodeRecord(frame.payload).ok();
  }
  const double binary_decode = NsPer(Clock::now() - start, kRecords);

  // JSON lines, cheapest sound variant: print once without the hash, hash
  // the printed bytes, splice the hash in before the closing brace.
  google::protobuf::util::JsonPrintOptions print;
  std::string json_lines;
  prev = std::string(kGenesisHash);
  start = Clock::now();
  for (int i = 0; i < kRecords; ++i) {
    LedgerRecord& record = json_records[i];
    Chain(i, prev, &record);
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(record, &json, print);
    std::string hash = Sha256Hex(json);
    json.pop_back();
    absl::StrAppend(&json_lines, json, ",\"hash\":\"", hash, "\"}\n");
    prev = std::move(hash);
  }
  const double json_encode = NsPer(Clock::now() - start, kRecords);

  google::protobuf::util::JsonParseOptions parse;
  start = Clock::now();
  uint64_t json_decoded = 0;
  for (absl::string_view line :
       absl::StrSplit(json_lines, '\n', absl::SkipEmpty())) {
    // Verify: hash of the line without the spliced field, then parse.
    const size_t splice = line.rfind(",\"hash\":\"");
    std::string unhashed = absl::StrCat(line.substr(0, splice), "}");
    if (Sha256Hex(unhashed) != line.substr(splice + 9, 64)) continue;
    LedgerRecord record;
    json_decoded += google::protobuf::util::JsonStringToMessage(
                        std::string(line), &record, parse)
                        .ok();
  }
  const double json_decode = NsPer(Clock::now() - start, kRecords);

  if (decoded != kRecords || json_decoded != kRecords) {
    std::fprintf(stderr, "encoding round trip failed\n");
    std::exit(1);
  }
  std::printf("### Record encoding (one core, %d INTENT records)\n\n",
              kRecords);
  std::printf(
      "| format | bytes/record | encode ns/record (chain + SHA-256 + "
      "serialize) | decode ns/record (verify hash + parse) | encode-bound "
      "records/s |\n|---|---|---|---|---|\n");
  std::printf(
      "| length-prefixed binary (chosen) | %.0f | %.0f | %.0f | %.0f |\n",
      static_cast<double>(binary.size()) / kRecords, binary_encode,
      binary_decode, 1e9 / binary_encode);
  std::printf("| JSON lines | %.0f | %.0f | %.0f | %.0f |\n\n",
              static_cast<double>(json_lines.size()) / kRecords, json_encode,
              json_decode, 1e9 / json_encode);
}

// One timed slice of one mode.
struct Sample {
  uint64_t appends = 0;
  double seconds = 0;
  uint64_t batches = 0;
  uint64_t ledger_records = 0;  // checkpoints included
  uint64_t failures = 0;
  std::vector<float> latencies_us;

  void Add(Sample other) {
    appends += other.appends;
    seconds += other.seconds;
    batches += other.batches;
    ledger_records += other.ledger_records;
    failures += other.failures;
    latencies_us.insert(latencies_us.end(), other.latencies_us.begin(),
                        other.latencies_us.end());
  }
};

struct RunResult {
  double records_per_second = 0;
  double mean_batch = 0;
  double p50_us = 0;
  double p99_us = 0;
  uint64_t failures = 0;
};

RunResult Summarize(Sample sample) {
  RunResult result;
  std::vector<float>& all = sample.latencies_us;
  std::sort(all.begin(), all.end());
  result.records_per_second = sample.appends / sample.seconds;
  result.mean_batch =
      sample.batches == 0
          ? 0
          : static_cast<double>(sample.ledger_records) / sample.batches;
  if (!all.empty()) {
    result.p50_us = all[all.size() / 2];
    result.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  result.failures = sample.failures;
  return result;
}

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) {
  return std::remove(path);
}

// `writers` threads append and wait, for `seconds`, on a fresh ledger.
Sample Run(const std::string& base_dir, const std::string& key_file,
           int writers, size_t max_batch, double seconds) {
  std::string dir = absl::StrCat(base_dir, "/ledger-bench-XXXXXX");
  if (::mkdtemp(dir.data()) == nullptr) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  // Segment and queue limits as the config loader defaults them.
  FileLedgerOptions options;
  options.dir = dir;
  options.segment_max_bytes = 64 << 20;
  options.max_batch_records = max_batch;
  options.max_pending_records = 65536;
  options.checkpoint_private_key_file = key_file;
  options.checkpoint_every_records = 1000;
  // Pruning on, as in the gateway: its INTENTs are tracked until their
  // OUTCOMEs (here, never: the worst case).
  options.retention = kMinimumLegalRetention + absl::Hours(24);
  absl::StatusOr<std::unique_ptr<FileLedger>> ledger =
      FileLedger::Open(options);
  if (!ledger.ok()) {
    std::fprintf(stderr, "%s\n", ledger.status().ToString().c_str());
    std::exit(1);
  }

  std::atomic<bool> go{false};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> failures{0};
  std::vector<std::vector<float>> latencies(writers);
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      std::mutex mu;
      std::condition_variable cv;
      bool done = false;
      latencies[w].reserve(1 << 14);
      // Thread start-up stays out of the timed window.
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (int i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        {
          std::lock_guard<std::mutex> lock(mu);
          done = false;
        }
        const auto sent = Clock::now();
        (*ledger)->Append(SampleIntent(w * 10000000 + i),
                          [&](absl::Status status) {
                            if (!status.ok()) ++failures;
                            std::lock_guard<std::mutex> lock(mu);
                            done = true;
                            cv.notify_one();
                          });
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return done; });
        latencies[w].push_back(
            std::chrono::duration<float, std::micro>(Clock::now() - sent)
                .count());
      }
    });
  }
  const auto start = Clock::now();
  go.store(true, std::memory_order_release);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (std::thread& thread : threads) thread.join();
  Sample sample;
  sample.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const FileLedger::Stats stats = (*ledger)->stats();
  sample.batches = stats.batches;
  sample.ledger_records = stats.records;
  (void)(*ledger)->Close();
  for (std::vector<float>& writer : latencies) {
    sample.appends += writer.size();
    sample.latencies_us.insert(sample.latencies_us.end(), writer.begin(),
                               writer.end());
  }
  sample.failures = failures.load();
  ::nftw(dir.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS);
  return sample;
}

// The disk's own write + fdatasync latency (500-byte appends), which bounds
// both modes: a writer waits at least one sync per record.
std::string SyncLatency(const std::string& base_dir) {
  std::string path = absl::StrCat(base_dir, "/ledger-bench-sync-XXXXXX");
  int fd = ::mkstemp(path.data());
  if (fd < 0) return "unknown";
  const std::string record(500, 'x');
  std::vector<double> micros;
  for (int i = 0; i < 200; ++i) {
    const auto start = Clock::now();
    if (::write(fd, record.data(), record.size()) < 0 || ::fdatasync(fd) != 0) {
      break;
    }
    micros.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - start)
            .count());
  }
  ::close(fd);
  ::unlink(path.c_str());
  if (micros.empty()) return "unknown";
  std::sort(micros.begin(), micros.end());
  return absl::StrFormat("p50 %.0f µs, p99 %.0f µs", micros[micros.size() / 2],
                         micros[micros.size() * 99 / 100]);
}

std::string FileSystemOf(const std::string& dir) {
  struct statfs fs;
  if (::statfs(dir.c_str(), &fs) != 0) return "unknown";
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0xEF53:
      return "ext4";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x01021994:
      return "tmpfs, not durable";
    case 0x794c7630:
      return "overlayfs";
    default:
      return absl::StrFormat("0x%x", static_cast<unsigned long>(fs.f_type));
  }
}

int Main(int argc, char** argv) {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  std::string cpu_dir = "/dev/shm";
  double seconds = 3;
  constexpr int kRounds = 6;
  std::vector<int> writer_counts = {1, 4, 16, 64, 256};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--dir") {
      dir = value;
    } else if (flag == "--cpu-ceiling-dir") {
      cpu_dir = value == "none" ? "" : value;
    } else if (flag == "--seconds" && absl::SimpleAtod(value, &seconds)) {
    } else if (flag == "--writers") {
      writer_counts.clear();
      for (absl::string_view n : absl::StrSplit(value, ',')) {
        int count;
        if (!absl::SimpleAtoi(n, &count) || count <= 0) {
          std::fprintf(stderr, "bad --writers\n");
          return 2;
        }
        writer_counts.push_back(count);
      }
    } else {
      std::fprintf(stderr,
                   "usage: ledger_bench [--dir DIR] [--seconds S] "
                   "[--writers 1,4,16,64,256] "
                   "[--cpu-ceiling-dir /dev/shm|none]\n");
      return 2;
    }
  }

  struct utsname uts;
  ::uname(&uts);
  std::printf("## Disclosure ledger (bench/ledger/ledger_bench)\n\n");
  double load[3] = {0, 0, 0};
  ::getloadavg(load, 3);
  std::printf(
      "%ld CPUs (load average %.1f at start), Linux %s, ledger on %s (%s), "
      "%.0f s per cell in %d alternating slices.\nRaw write + fdatasync of 500 "
      "bytes on this disk: "
      "%s.\n\n",
      ::sysconf(_SC_NPROCESSORS_ONLN), load[0], uts.release, dir.c_str(),
      FileSystemOf(dir).c_str(), seconds, kRounds, SyncLatency(dir).c_str());
  std::fflush(stdout);

  EncodingTable();
  std::fflush(stdout);

  // Checkpoint signing key for the run (checkpoints every 1000 records).
  std::string key_file = absl::StrCat(dir, "/ledger-bench-key-XXXXXX");
  int key_fd = ::mkstemp(key_file.data());
  absl::StatusOr<Ed25519PrivateKey> key = Ed25519PrivateKey::Generate();
  absl::StatusOr<std::string> pem =
      key.ok() ? key->PrivateKeyPem()
               : absl::StatusOr<std::string>(key.status());
  if (key_fd < 0 || !pem.ok() ||
      ::write(key_fd, pem->data(), pem->size()) !=
          static_cast<ssize_t>(pem->size())) {
    std::fprintf(stderr, "cannot write the checkpoint key\n");
    return 1;
  }
  ::close(key_fd);

  std::printf(
      "### Durable records/s: group commit vs one fdatasync per record\n\n"
      "Each writer appends one INTENT and waits for its callback (durable) "
      "before the next.\n\n");
  std::printf(
      "| writers | group commit rec/s | mean batch | p50 µs | p99 µs | one "
      "fdatasync per record rec/s | p50 µs | p99 µs | speed-up |\n"
      "|---|---|---|---|---|---|---|---|---|\n");
  std::fflush(stdout);
  for (int writers : writer_counts) {
    // Short alternating slices, so that both modes see the same disk: the
    // other tenants of a shared machine change its sync latency by 10x
    // from one second to the next.
    Sample group_sample;
    Sample single_sample;
    for (int round = 0; round < kRounds; ++round) {
      group_sample.Add(Run(dir, key_file, writers, 4096, seconds / kRounds));
      single_sample.Add(Run(dir, key_file, writers, 1, seconds / kRounds));
    }
    RunResult group = Summarize(std::move(group_sample));
    RunResult single = Summarize(std::move(single_sample));
    std::printf(
        "| %d | %.0f | %.1f | %.0f | %.0f | %.0f | %.0f | %.0f | %.1fx |\n",
        writers, group.records_per_second, group.mean_batch, group.p50_us,
        group.p99_us, single.records_per_second, single.p50_us, single.p99_us,
        group.records_per_second / single.records_per_second);
    std::fflush(stdout);
    if (group.failures + single.failures > 0) {
      std::fprintf(
          stderr, "%llu appends failed\n",
          static_cast<unsigned long long>(group.failures + single.failures));
      return 1;
    }
  }
  std::printf("\nRaw write + fdatasync at the end: %s.\n",
              SyncLatency(dir).c_str());

  // The same code where fdatasync costs nothing: what the group commit
  // machinery (encode, write, wake the writers) sustains on these CPUs.
  if (!cpu_dir.empty()) {
    std::printf(
        "\n### Ceiling without the disk (%s, %s: fdatasync is a no-op)\n\n"
        "| writers | group commit rec/s | mean batch | p50 µs | p99 µs |\n"
        "|---|---|---|---|---|\n",
        cpu_dir.c_str(), FileSystemOf(cpu_dir).c_str());
    for (int writers : writer_counts) {
      RunResult ceiling =
          Summarize(Run(cpu_dir, key_file, writers, 4096, seconds / 2));
      std::printf("| %d | %.0f | %.1f | %.0f | %.0f |\n", writers,
                  ceiling.records_per_second, ceiling.mean_batch,
                  ceiling.p50_us, ceiling.p99_us);
      std::fflush(stdout);
    }
  }
  ::unlink(key_file.c_str());
  return 0;
}

}  // namespace
}  // namespace idgate

int main(int argc, char** argv) { return idgate::Main(argc, argv); }
