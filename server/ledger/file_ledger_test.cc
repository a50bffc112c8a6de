#include "server/ledger/file_ledger.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "idgate/config/v1/config.pb.h"
#include "server/ledger/segment_format.h"
#include "server/ledger/subject_ref.h"
#include "server/ledger/testing.h"

namespace idgate {
namespace {

using ::idgate::ledger::v1::RECORD_KIND_CHECKPOINT;
using ::idgate::ledger::v1::RECORD_KIND_INTENT;
using testing::AppendAndWait;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MakeIntent;
using testing::MakeOutcome;
using testing::ReadVerifiedLedger;
using testing::TempDir;

// Waits for a number of callbacks and keeps their statuses by request id.
class Completions {
 public:
  std::function<void(absl::Status)> Callback(const std::string& id) {
    return [this, id](absl::Status status) {
      std::lock_guard<std::mutex> lock(mu_);
      statuses_[id] = std::move(status);
      cv_.notify_all();
    };
  }
  void WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return statuses_.size() >= n; });
  }
  absl::Status Get(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = statuses_.find(id);
    return it == statuses_.end() ? absl::UnknownError("no callback yet")
                                 : it->second;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return statuses_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, absl::Status> statuses_;
};

// A one-shot gate: Wait() blocks until Open().
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// An in-memory SegmentSink that logs every operation, with the request ids
// of the records each write carries, and can block or fail them.
class FakeSink : public SegmentSink {
 public:
  struct Shared {
    std::mutex mu;
    std::map<std::string, std::string> files;
    std::vector<std::string> events;
    int writes = 0;
    int syncs = 0;
    int fail_write_number = 0;  // 1-based; 0 = never
    int fail_sync_number = 0;
    // Runs (without the lock) before write number `block_write_number`.
    int block_write_number = 0;
    Gate* entered = nullptr;
    Gate* release = nullptr;

    void Log(std::string event) {
      std::lock_guard<std::mutex> lock(mu);
      events.push_back(std::move(event));
    }
  };

  explicit FakeSink(std::shared_ptr<Shared> shared)
      : shared_(std::move(shared)) {}

  absl::StatusOr<std::vector<std::string>> List() override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    std::vector<std::string> names;
    for (const auto& [name, data] : shared_->files) names.push_back(name);
    return names;
  }
  absl::StatusOr<std::string> Read(const std::string& name) override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    auto it = shared_->files.find(name);
    if (it == shared_->files.end()) return absl::NotFoundError(name);
    return it->second;
  }
  absl::StatusOr<std::unique_ptr<SegmentFile>> OpenForAppend(
      const std::string& name, bool create) override;
  absl::Status Truncate(const std::string& name, uint64_t size) override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->files[name].resize(size);
    shared_->events.push_back(absl::StrCat("truncate ", name, " ", size));
    return absl::OkStatus();
  }
  absl::Status SyncDir() override {
    shared_->Log("syncdir");
    return absl::OkStatus();
  }

 private:
  std::shared_ptr<Shared> shared_;
};

class FakeFile : public SegmentFile {
 public:
  FakeFile(std::shared_ptr<FakeSink::Shared> shared, std::string name)
      : shared_(std::move(shared)), name_(std::move(name)) {}

  absl::Status Append(absl::string_view data) override {
    int number;
    bool block;
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      number = ++shared_->writes;
      block = number == shared_->block_write_number;
    }
    if (block) {
      shared_->entered->Open();
      shared_->release->Wait();
    }
    std::vector<std::string> ids;
    for (const SegmentFrame& frame : ScanFrames(data).frames) {
      absl::StatusOr<LedgerRecord> record = DecodeRecord(frame.payload);
      ids.push_back(!record.ok() ? "?"
                    : record->kind() == RECORD_KIND_CHECKPOINT
                        ? "checkpoint"
                        : record->request_id());
    }
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->events.push_back(
        absl::StrCat("write ", name_, " ", absl::StrJoin(ids, ",")));
    if (number == shared_->fail_write_number) {
      // A short write that then fails, like ENOSPC half way.
      shared_->files[name_].append(data.data(), data.size() / 2);
      return absl::ResourceExhaustedError("write: No space left on device");
    }
    shared_->files[name_].append(data.data(), data.size());
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    const int number = ++shared_->syncs;
    shared_->events.push_back("sync");
    if (number == shared_->fail_sync_number) {
      return absl::InternalError("fdatasync: Input/output error");
    }
    return absl::OkStatus();
  }

 private:
  std::shared_ptr<FakeSink::Shared> shared_;
  std::string name_;
};

absl::StatusOr<std::unique_ptr<SegmentFile>> FakeSink::OpenForAppend(
    const std::string& name, bool create) {
  std::lock_guard<std::mutex> lock(shared_->mu);
  if (create) {
    if (shared_->files.count(name)) return absl::AlreadyExistsError(name);
    shared_->files[name];
    shared_->events.push_back("create " + name);
  } else if (!shared_->files.count(name)) {
    return absl::NotFoundError(name);
  }
  return std::unique_ptr<SegmentFile>(new FakeFile(shared_, name));
}

LedgerRecord Intent(const std::string& id) { return MakeIntent(id); }

// Request id of MakeIntent(id).
std::string Req(const std::string& id) { return "req-" + id; }

class FakeSinkLedgerTest : public ::testing::Test {
 protected:
  // The fake sink has no directory.
  static FileLedgerOptions Options() {
    return testing::TestLedgerOptions("unused");
  }

  std::unique_ptr<FileLedger> OpenLedger(
      FileLedgerOptions options = Options()) {
    absl::StatusOr<std::unique_ptr<FileLedger>> ledger =
        FileLedger::Open(options, std::make_unique<FakeSink>(shared_));
    EXPECT_TRUE(ledger.ok()) << ledger.status();
    return ledger.ok() ? *std::move(ledger) : nullptr;
  }

  std::vector<std::string> Events() {
    std::lock_guard<std::mutex> lock(shared_->mu);
    return shared_->events;
  }

  // Events once there are `n` of them (or after 30 s, for the test to fail
  // on): for what the writer does on its own.
  std::vector<std::string> EventsOnceThereAre(size_t n) {
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (Events().size() < n && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    return Events();
  }

  std::unique_ptr<FileLedger> OpenWithUnawaitedDelay(absl::Duration delay) {
    FileLedgerOptions options = Options();
    options.unawaited_delay = delay;
    return OpenLedger(options);
  }

  // Blocks write number `n` until the returned release gate opens, and
  // waits until the writer is inside it.
  void BlockWrite(int n) {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->block_write_number = n;
    shared_->entered = &entered_;
    shared_->release = &release_;
  }
  void FailWrite(int n) {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->fail_write_number = n;
  }
  void FailSync(int n) {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->fail_sync_number = n;
  }

  std::shared_ptr<FakeSink::Shared> shared_ =
      std::make_shared<FakeSink::Shared>();
  Gate entered_;
  Gate release_;
  Completions completions_;
};

TEST_F(FakeSinkLedgerTest, GroupCommitCompletesOnlyAfterSync) {
  std::unique_ptr<FileLedger> ledger = OpenLedger();
  ASSERT_NE(ledger, nullptr);
  BlockWrite(1);
  // Callbacks log into the same sequence as the file operations.
  auto logged = [&](const std::string& id) {
    auto inner = completions_.Callback(id);
    return [this, id, inner](absl::Status status) {
      shared_->Log("done " + Req(id) + " " + status.ToString());
      inner(std::move(status));
    };
  };
  ledger->Append(Intent("a0"), logged("a0"));
  entered_.Wait();
  // The writer is inside the first write: these queue up for one batch.
  for (int i = 1; i <= 50; ++i) {
    ledger->Append(Intent(absl::StrCat("a", i)), logged(absl::StrCat("a", i)));
  }
  EXPECT_EQ(completions_.size(), 0u);
  release_.Open();
  completions_.WaitFor(51);

  std::vector<std::string> events = Events();
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0], "create ledger-000001.log");
  EXPECT_EQ(events[1], "syncdir");
  int writes = 0;
  std::vector<std::string> written_not_synced;
  std::set<std::string> durable;
  for (size_t i = 2; i < events.size(); ++i) {
    const std::string& event = events[i];
    if (absl::StartsWith(event, "write ")) {
      ++writes;
      std::vector<std::string> ids =
          absl::StrSplit(event.substr(event.rfind(' ') + 1), ',');
      written_not_synced.insert(written_not_synced.end(), ids.begin(),
                                ids.end());
    } else if (event == "sync") {
      durable.insert(written_not_synced.begin(), written_not_synced.end());
      written_not_synced.clear();
    } else if (absl::StartsWith(event, "done ")) {
      std::vector<std::string> parts = absl::StrSplit(event, ' ');
      EXPECT_TRUE(durable.count(parts[1]))
          << parts[1] << " completed before its sync: " << event;
      EXPECT_EQ(parts[2], "OK");
    }
  }
  // One write for a0, one for the 50 that queued behind it.
  EXPECT_EQ(writes, 2);
  EXPECT_EQ(durable.size(), 51u);
  EXPECT_EQ(ledger->stats().batches, 2u);
  EXPECT_TRUE(ledger->Close().ok());
}

TEST_F(FakeSinkLedgerTest, SyncErrorFailsBatchAndEveryLaterAppend) {
  std::unique_ptr<FileLedger> ledger = OpenLedger();
  ASSERT_NE(ledger, nullptr);
  ASSERT_TRUE(AppendAndWait(*ledger, Intent("ok")).ok());
  FailSync(2);
  BlockWrite(2);
  ledger->Append(Intent("b1"), completions_.Callback("b1"));
  entered_.Wait();
  ledger->Append(Intent("q1"), completions_.Callback("q1"));
  ledger->Append(Intent("q2"), completions_.Callback("q2"));
  release_.Open();
  completions_.WaitFor(3);

  EXPECT_FALSE(ledger->healthy());
  for (const char* id : {"b1", "q1", "q2"}) {
    absl::Status status = completions_.Get(id);
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << id;
    EXPECT_THAT(status.message(), HasSubstr("fdatasync")) << id;
  }
  // Refused before Append returns, without reaching the file.
  ledger->Append(Intent("late"), completions_.Callback("late"));
  EXPECT_EQ(completions_.Get("late").code(), absl::StatusCode::kUnavailable);

  EXPECT_FALSE(ledger->Close().ok());
  // The failed sync is never retried and nothing is written after it.
  std::lock_guard<std::mutex> lock(shared_->mu);
  EXPECT_EQ(shared_->syncs, 2);
  EXPECT_EQ(shared_->writes, 2);
  EXPECT_EQ(shared_->events.back(), "sync");
}

TEST_F(FakeSinkLedgerTest, WriteErrorIsFatal) {
  FailWrite(1);
  std::unique_ptr<FileLedger> ledger = OpenLedger();
  ASSERT_NE(ledger, nullptr);
  absl::Status status = AppendAndWait(*ledger, Intent("w1"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(ledger->healthy());
  EXPECT_EQ(AppendAndWait(*ledger, Intent("w2")).code(),
            absl::StatusCode::kUnavailable);
  std::lock_guard<std::mutex> lock(shared_->mu);
  EXPECT_EQ(shared_->syncs, 0);  // no sync after a failed write
}

TEST_F(FakeSinkLedgerTest, FullQueueRefusesAtOnce) {
  FileLedgerOptions options = Options();
  options.max_pending_records = 3;
  std::unique_ptr<FileLedger> ledger = OpenLedger(options);
  ASSERT_NE(ledger, nullptr);
  BlockWrite(1);
  ledger->Append(Intent("in-writer"), completions_.Callback("in-writer"));
  entered_.Wait();
  for (const char* id : {"p1", "p2", "p3"}) {
    ledger->Append(Intent(id), completions_.Callback(id));
  }
  ledger->Append(Intent("overflow"), completions_.Callback("overflow"));
  EXPECT_EQ(completions_.Get("overflow").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(completions_.size(), 1u);
  release_.Open();
  completions_.WaitFor(5);
  for (const char* id : {"in-writer", "p1", "p2", "p3"}) {
    EXPECT_TRUE(completions_.Get(id).ok()) << id;
  }
  EXPECT_TRUE(ledger->healthy());
}

TEST_F(FakeSinkLedgerTest, RefusesInvalidRecordsAndAppendsAfterClose) {
  std::unique_ptr<FileLedger> ledger = OpenLedger();
  ASSERT_NE(ledger, nullptr);
  LedgerRecord checkpoint = Intent("c");
  checkpoint.set_kind(RECORD_KIND_CHECKPOINT);
  ledger->Append(checkpoint, completions_.Callback("checkpoint"));
  EXPECT_EQ(completions_.Get("checkpoint").code(),
            absl::StatusCode::kInvalidArgument);

  // A raw ID number where the HMAC belongs.
  LedgerRecord raw = Intent("r");
  raw.set_subject_ref("11010519491231002X");
  ledger->Append(raw, completions_.Callback("raw"));
  EXPECT_EQ(completions_.Get("raw").code(), absl::StatusCode::kInvalidArgument);

  ASSERT_TRUE(ledger->Close().ok());
  ledger->Append(Intent("closed"), completions_.Callback("closed"));
  EXPECT_EQ(completions_.Get("closed").code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(ledger->healthy());
  std::lock_guard<std::mutex> lock(shared_->mu);
  EXPECT_EQ(shared_->writes, 0);
}

TEST_F(FakeSinkLedgerTest, CloseMakesQueuedRecordsDurable) {
  std::unique_ptr<FileLedger> ledger = OpenLedger();
  ASSERT_NE(ledger, nullptr);
  for (int i = 0; i < 200; ++i) {
    ledger->Append(Intent(absl::StrCat("c", i)),
                   completions_.Callback(absl::StrCat("c", i)));
  }
  ASSERT_TRUE(ledger->Close().ok());
  ASSERT_EQ(completions_.size(), 200u);
  for (int i = 0; i < 200; ++i) {
    EXPECT_TRUE(completions_.Get(absl::StrCat("c", i)).ok());
  }
}

TEST_F(FakeSinkLedgerTest, NewSegmentIsDurableBeforeItsRecords) {
  FileLedgerOptions options = Options();
  options.segment_max_bytes = 1;  // every batch in a new segment
  std::unique_ptr<FileLedger> ledger = OpenLedger(options);
  ASSERT_NE(ledger, nullptr);
  ASSERT_TRUE(AppendAndWait(*ledger, Intent("s1")).ok());
  ASSERT_TRUE(AppendAndWait(*ledger, Intent("s2")).ok());
  ASSERT_TRUE(ledger->Close().ok());
  EXPECT_THAT(Events(), ElementsAre("create ledger-000001.log", "syncdir",
                                    "write ledger-000001.log req-s1", "sync",
                                    "create ledger-000002.log", "syncdir",
                                    "write ledger-000002.log req-s2", "sync"));
}

// The service may append the OUTCOME from the INTENT's callback (a call that
// fails before sending): that runs on the writer thread and must not
// deadlock.
TEST_F(FakeSinkLedgerTest, AppendFromACallback) {
  std::unique_ptr<FileLedger> ledger = OpenLedger();
  ASSERT_NE(ledger, nullptr);
  auto outcome_done = completions_.Callback("outcome");
  ledger->Append(Intent("intent"), [&](absl::Status status) {
    ASSERT_TRUE(status.ok());
    ledger->Append(MakeOutcome("intent"), outcome_done);
  });
  completions_.WaitFor(1);
  EXPECT_TRUE(completions_.Get("outcome").ok());
  ASSERT_TRUE(ledger->Close().ok());
}

// Records nobody waits for (outcomes) do not wake the writer: they ride on
// the next awaited record's write and sync instead of costing their own.
TEST_F(FakeSinkLedgerTest, UnawaitedRecordsGoWithTheNextAwaitedOne) {
  std::unique_ptr<FileLedger> ledger = OpenWithUnawaitedDelay(absl::Hours(1));
  ASSERT_NE(ledger, nullptr);
  ledger->Append(MakeOutcome("o1"), nullptr);
  ledger->Append(MakeOutcome("o2"), nullptr);
  ASSERT_TRUE(AppendAndWait(*ledger, Intent("i1")).ok());
  EXPECT_THAT(
      Events(),
      ElementsAre("create ledger-000001.log", "syncdir",
                  "write ledger-000001.log req-o1,req-o2,req-i1", "sync"));
  // Close writes what is still queued.
  ledger->Append(MakeOutcome("o3"), nullptr);
  ASSERT_TRUE(ledger->Close().ok());
  EXPECT_THAT(Events(),
              ElementsAre("create ledger-000001.log", "syncdir",
                          "write ledger-000001.log req-o1,req-o2,req-i1",
                          "sync", "write ledger-000001.log req-o3", "sync"));
  // Refused once closed, with no callback to tell.
  ledger->Append(MakeOutcome("late"), nullptr);
}

TEST_F(FakeSinkLedgerTest, ABatchOfUnawaitedRecordsWakesTheWriter) {
  std::unique_ptr<FileLedger> ledger = OpenWithUnawaitedDelay(absl::Hours(1));
  ASSERT_NE(ledger, nullptr);
  std::vector<std::string> ids;
  for (size_t i = 0; i < FileLedger::kUnawaitedBatch; ++i) {
    ledger->Append(MakeOutcome(absl::StrCat("o", i)), nullptr);
    ids.push_back(Req(absl::StrCat("o", i)));
  }
  EXPECT_THAT(EventsOnceThereAre(4),
              ElementsAre("create ledger-000001.log", "syncdir",
                          "write ledger-000001.log " + absl::StrJoin(ids, ","),
                          "sync"));
}

TEST_F(FakeSinkLedgerTest, UnawaitedRecordAloneIsWrittenAfterTheDelay) {
  std::unique_ptr<FileLedger> ledger =
      OpenWithUnawaitedDelay(absl::Milliseconds(20));
  ASSERT_NE(ledger, nullptr);
  ledger->Append(MakeOutcome("o1"), nullptr);
  // Nothing else comes: the writer's own alarm writes and syncs it.
  EXPECT_THAT(EventsOnceThereAre(4),
              ElementsAre("create ledger-000001.log", "syncdir",
                          "write ledger-000001.log req-o1", "sync"));
  EXPECT_EQ(ledger->stats().records, 1u);
}

// The config loader gives the defaults (FileLedgerOptions::FromConfig): a
// zero limit, as an unset proto3 LedgerSettings has, is refused.
TEST_F(FakeSinkLedgerTest, ZeroLimitsAreRefused) {
  std::vector<FileLedgerOptions> zeros(3, Options());
  zeros[0].segment_max_bytes = 0;
  zeros[1].max_batch_records = 0;
  zeros[2].max_pending_records = 0;
  for (const FileLedgerOptions& options : zeros) {
    absl::StatusOr<std::unique_ptr<FileLedger>> ledger =
        FileLedger::Open(options, std::make_unique<FakeSink>(shared_));
    EXPECT_EQ(ledger.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(ledger.status().message(), HasSubstr("must be positive"));
  }
  EXPECT_THAT(Events(), ::testing::IsEmpty()) << "no segment created";
}

TEST_F(FakeSinkLedgerTest, BatchesAreObserved) {
  FileLedgerOptions options = Options();
  std::mutex mu;
  std::vector<size_t> batches;
  options.on_batch = [&](size_t records, absl::Duration) {
    std::lock_guard<std::mutex> lock(mu);
    batches.push_back(records);
  };
  std::unique_ptr<FileLedger> ledger = OpenLedger(options);
  ASSERT_NE(ledger, nullptr);
  ASSERT_TRUE(AppendAndWait(*ledger, Intent("z1")).ok());
  ASSERT_TRUE(AppendAndWait(*ledger, Intent("z2")).ok());
  ASSERT_TRUE(ledger->Close().ok());
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_THAT(batches, ElementsAre(1, 1));
}

TEST(FileLedgerOptionsTest, FromConfigTakesEverySetting) {
  ::idgate::config::v1::LedgerSettings settings;
  settings.set_segment_max_bytes(1 << 20);
  settings.set_max_batch_records(128);
  settings.set_max_pending_records(1024);
  settings.set_checkpoint_private_key_file("/keys/checkpoint.key");
  settings.set_checkpoint_every_records(500);
  settings.mutable_checkpoint_interval()->set_seconds(30);
  settings.mutable_checkpoint_interval()->set_nanos(500000000);
  FileLedgerOptions options = FileLedgerOptions::FromConfig(settings);
  EXPECT_EQ(options.segment_max_bytes, 1u << 20);
  EXPECT_EQ(options.max_batch_records, 128u);
  EXPECT_EQ(options.max_pending_records, 1024u);
  EXPECT_EQ(options.checkpoint_private_key_file, "/keys/checkpoint.key");
  EXPECT_EQ(options.checkpoint_every_records, 500u);
  EXPECT_EQ(options.checkpoint_interval, absl::Milliseconds(30500));
  EXPECT_TRUE(options.dir.empty());
}

// --- On the real file system ---

FileLedgerOptions DirOptions(const TempDir& dir) {
  return testing::TestLedgerOptions(dir.Join("ledger"));
}

std::unique_ptr<FileLedger> OpenOrDie(const FileLedgerOptions& options) {
  absl::StatusOr<std::unique_ptr<FileLedger>> ledger =
      FileLedger::Open(options);
  EXPECT_TRUE(ledger.ok()) << ledger.status();
  return ledger.ok() ? *std::move(ledger) : nullptr;
}

std::string SegmentPath(const FileLedgerOptions& options, uint64_t index) {
  return options.dir + "/" + SegmentFileName(index);
}

void AppendAll(Ledger& ledger, const std::vector<LedgerRecord>& records) {
  for (const LedgerRecord& record : records) {
    ASSERT_TRUE(AppendAndWait(ledger, record).ok());
  }
}

TEST(FileLedgerTest, ReopenResumesTheChainAcrossSegments) {
  TempDir dir;
  FileLedgerOptions options = DirOptions(dir);
  options.segment_max_bytes = 2000;  // several records per segment
  std::atomic<int64_t> clock{1700000000};
  options.now = [&] { return absl::FromUnixSeconds(clock.load()); };
  {
    std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
    ASSERT_NE(ledger, nullptr);
    EXPECT_EQ(ledger->recovery_report().last_sequence, 0u);
    for (int i = 0; i < 10; ++i) {
      AppendAll(*ledger, {MakeIntent(absl::StrCat("d", i)),
                          MakeOutcome(absl::StrCat("d", i))});
    }
    ASSERT_TRUE(ledger->Close().ok());
    EXPECT_GT(ledger->stats().segments_created, 1u);
  }
  absl::StatusOr<std::vector<LedgerRecord>> first =
      ReadVerifiedLedger(options.dir);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 20u);

  clock += 60;
  {
    std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
    ASSERT_NE(ledger, nullptr);
    const RecoveryReport& report = ledger->recovery_report();
    EXPECT_EQ(report.last_sequence, 20u);
    EXPECT_EQ(report.head_hash, first->back().hash());
    EXPECT_EQ(report.torn_tail_bytes, 0u);
    EXPECT_TRUE(report.possibly_disclosed.empty());
    AppendAll(*ledger, {MakeIntent("after"), MakeOutcome("after")});
    ASSERT_TRUE(ledger->Close().ok());
  }
  absl::StatusOr<std::vector<LedgerRecord>> all =
      ReadVerifiedLedger(options.dir);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 22u);
  EXPECT_EQ((*all)[20].sequence(), 21u);
  EXPECT_EQ((*all)[20].prev_hash(), (*all)[19].hash());
  EXPECT_EQ((*all)[20].time().seconds(), 1700000060);
  EXPECT_EQ((*all)[0].prev_hash(), std::string(kGenesisHash));
}

TEST(FileLedgerTest, OneWriterPerDirectory) {
  TempDir dir;
  FileLedgerOptions options = DirOptions(dir);
  std::unique_ptr<FileLedger> first = OpenOrDie(options);
  ASSERT_NE(first, nullptr);
  absl::StatusOr<std::unique_ptr<FileLedger>> second =
      FileLedger::Open(options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("in use"));
  first.reset();
  EXPECT_TRUE(FileLedger::Open(options).ok());
}

TEST(FileLedgerTest, TornTailIsReportedAndCutOff) {
  TempDir dir;
  FileLedgerOptions options = DirOptions(dir);
  {
    std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
    ASSERT_NE(ledger, nullptr);
    AppendAll(*ledger, {MakeIntent("t1"), MakeOutcome("t1"), MakeIntent("t2")});
    ASSERT_TRUE(ledger->Close().ok());
  }
  // A crash in the middle of writing record 3.
  const std::string path = SegmentPath(options, 1);
  std::string data = testing::ReadFileOrDie(path);
  const uint64_t record3 = ScanFrames(data).frames[2].offset;
  const uint64_t cut = data.size() - 25;
  testing::WriteFileOrDie(path, data.substr(0, cut));

  std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
  ASSERT_NE(ledger, nullptr);
  const RecoveryReport& report = ledger->recovery_report();
  EXPECT_EQ(report.torn_tail_bytes, cut - record3);
  EXPECT_EQ(report.torn_tail_segment, "ledger-000001.log");
  EXPECT_THAT(report.torn_tail_reason, HasSubstr("inside a record"));
  EXPECT_EQ(report.last_sequence, 2u);
  // The chain goes on from record 2.
  AppendAll(*ledger, {MakeIntent("t3")});
  ASSERT_TRUE(ledger->Close().ok());
  absl::StatusOr<std::vector<LedgerRecord>> all =
      ReadVerifiedLedger(options.dir);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[2].disclosure_id(), "t3");
  EXPECT_EQ((*all)[2].sequence(), 3u);
}

// The writer grows a segment in zeros ahead of its records; a crash leaves
// them behind, a clean close does not.
TEST(FileLedgerTest, PreallocatedZerosAreFreeSpaceAndATornWriteInThemIsCut) {
  TempDir dir;
  FileLedgerOptions options = DirOptions(dir);
  std::string crashed;  // the segment as a crash right now would leave it
  {
    std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
    ASSERT_NE(ledger, nullptr);
    AppendAll(*ledger, {MakeIntent("p1"), MakeOutcome("p1"), MakeIntent("p2")});
    crashed = testing::ReadFileOrDie(SegmentPath(options, 1));
    ASSERT_TRUE(ledger->Close().ok());
  }
  const FrameScan scan = ScanFrames(crashed);
  ASSERT_EQ(scan.frames.size(), 3u);
  EXPECT_EQ(scan.tail, SegmentTail::kClean);
  EXPECT_GT(crashed.size(), scan.valid_bytes) << "no zeros grown ahead";
  EXPECT_EQ(testing::ReadFileOrDie(SegmentPath(options, 1)),
            crashed.substr(0, scan.valid_bytes))
      << "Close must cut the zeros";

  for (const bool torn : {false, true}) {
    SCOPED_TRACE(torn ? "torn write in the zeros" : "zeros only");
    TempDir other;
    FileLedgerOptions copy = DirOptions(other);
    ASSERT_EQ(::mkdir(copy.dir.c_str(), 0750), 0);
    std::string image = crashed;
    const uint64_t record3 = scan.frames[2].offset;
    if (torn) {
      // Record 3 was never synced: only its first 40 bytes reached the disk.
      std::fill(image.begin() + record3 + 40, image.end(), '\0');
    }
    testing::WriteFileOrDie(SegmentPath(copy, 1), image);

    std::unique_ptr<FileLedger> ledger = OpenOrDie(copy);
    ASSERT_NE(ledger, nullptr);
    const RecoveryReport& report = ledger->recovery_report();
    EXPECT_EQ(report.last_sequence, torn ? 2u : 3u);
    EXPECT_EQ(report.torn_tail_bytes, torn ? crashed.size() - record3 : 0u);
    if (torn) {
      EXPECT_THAT(report.torn_tail_reason, HasSubstr("cut short"));
    }
    AppendAll(*ledger, {MakeIntent("p3")});
    ASSERT_TRUE(ledger->Close().ok());
    absl::StatusOr<std::vector<LedgerRecord>> all =
        ReadVerifiedLedger(copy.dir);
    ASSERT_TRUE(all.ok()) << all.status();
    ASSERT_EQ(all->size(), torn ? 3u : 4u);
    EXPECT_EQ(all->back().disclosure_id(), "p3");
    EXPECT_EQ(
        ScanFrames(testing::ReadFileOrDie(SegmentPath(copy, 1))).valid_bytes,
        testing::ReadFileOrDie(SegmentPath(copy, 1)).size());
  }
}

TEST(FileLedgerTest, DamageOtherThanATornTailFailsClosed) {
  TempDir dir;
  FileLedgerOptions options = DirOptions(dir);
  {
    std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
    ASSERT_NE(ledger, nullptr);
    AppendAll(*ledger, {MakeIntent("x1"), MakeIntent("x2"), MakeIntent("x3")});
    ASSERT_TRUE(ledger->Close().ok());
  }
  const std::string path = SegmentPath(options, 1);
  std::string data = testing::ReadFileOrDie(path);
  std::string flipped = data;
  flipped[ScanFrames(data).frames[1].offset + 40] ^= 0x20;
  testing::WriteFileOrDie(path, flipped);

  absl::StatusOr<std::unique_ptr<FileLedger>> ledger =
      FileLedger::Open(options);
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ledger.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(ledger.status().message(),
              HasSubstr("ledger-000001.log: sequence 2"));
  // Nothing was cut: the evidence stays for the audit.
  EXPECT_EQ(testing::ReadFileOrDie(path), flipped);

  // A missing segment in the middle is damage too.
  testing::WriteFileOrDie(path, data);
  testing::WriteFileOrDie(SegmentPath(options, 3), "");
  absl::StatusOr<std::unique_ptr<FileLedger>> gap = FileLedger::Open(options);
  ASSERT_FALSE(gap.ok());
  EXPECT_THAT(gap.status().message(),
              HasSubstr("ledger-000002.log is missing"));
}

TEST(FileLedgerTest, IntentWithoutOutcomeIsReportedAsPossiblyDisclosed) {
  TempDir dir;
  FileLedgerOptions options = DirOptions(dir);
  {
    std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
    ASSERT_NE(ledger, nullptr);
    AppendAll(*ledger, {MakeIntent("done-1"), MakeOutcome("done-1"),
                        MakeIntent("crashed", "bank_mock"),
                        MakeIntent("done-2"), MakeOutcome("done-2")});
    // The process dies here: no outcome for "crashed".
    ASSERT_TRUE(ledger->Close().ok());
  }
  std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
  ASSERT_NE(ledger, nullptr);
  const std::vector<UnmatchedIntent>& open =
      ledger->recovery_report().possibly_disclosed;
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].disclosure_id, "crashed");
  EXPECT_EQ(open[0].sequence, 3u);
  EXPECT_EQ(open[0].provider, "bank_mock");
}

TEST(FileLedgerTest, RequestsThatReachedAProviderAreListedOnceEach) {
  TempDir dir;
  FileLedgerOptions options = DirOptions(dir);
  // MakeIntent's request_id is "req-<disclosure_id>"; a failover is two
  // intents of one request.
  LedgerRecord failover = MakeIntent("second-try");
  failover.set_request_id("req-first-try");
  LedgerRecord not_sent = MakeOutcome("never-sent");
  not_sent.mutable_outcome()->set_sent(false);
  {
    std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
    ASSERT_NE(ledger, nullptr);
    AppendAll(*ledger,
              {MakeIntent("answered"), MakeOutcome("answered"),
               MakeIntent("never-sent"), not_sent, MakeIntent("first-try"),
               failover, MakeIntent("crashed")});
    ASSERT_TRUE(ledger->Close().ok());
  }
  std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
  ASSERT_NE(ledger, nullptr);
  std::vector<std::string> request_ids;
  for (const DisclosedRequest& r :
       ledger->recovery_report().disclosed_requests) {
    EXPECT_EQ(r.caller, "spiffe://example.test/esign");
    request_ids.push_back(r.request_id);
  }
  // Oldest first; the request whose only intent was not sent may run again.
  EXPECT_EQ(request_ids, (std::vector<std::string>{
                             "req-answered", "req-first-try", "req-crashed"}));
}

TEST(FileLedgerTest, SignedCheckpointsByCountAndAtClose) {
  TempDir dir;
  testing::KeyFiles keys = testing::WriteKeyPair(dir.path(), "checkpoint");
  FileLedgerOptions options = DirOptions(dir);
  options.checkpoint_private_key_file = keys.private_key;
  options.checkpoint_every_records = 4;
  options.checkpoint_interval = absl::ZeroDuration();
  {
    std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
    ASSERT_NE(ledger, nullptr);
    for (int i = 0; i < 10; ++i)
      AppendAll(*ledger, {MakeIntent(absl::StrCat(i))});
    ASSERT_TRUE(ledger->Close().ok());
    EXPECT_EQ(ledger->stats().checkpoints, 3u);
  }
  absl::StatusOr<std::vector<LedgerRecord>> all =
      ReadVerifiedLedger(options.dir);
  ASSERT_TRUE(all.ok()) << all.status();
  absl::StatusOr<Ed25519PublicKey> public_key =
      Ed25519PublicKey::FromPemFile(keys.public_key);
  ASSERT_TRUE(public_key.ok());
  std::vector<uint64_t> checkpoints;
  for (const LedgerRecord& record : *all) {
    if (record.kind() != RECORD_KIND_CHECKPOINT) continue;
    checkpoints.push_back(record.sequence());
    EXPECT_TRUE(VerifyCheckpointSignature(record, *public_key).ok());
    EXPECT_EQ(record.checkpoint().head_sequence(), record.sequence() - 1);
  }
  // Batches of one record: after records 4 and 8, and the last at Close().
  EXPECT_THAT(checkpoints, ElementsAre(5, 10, 13));
  EXPECT_EQ(all->back().kind(), RECORD_KIND_CHECKPOINT);

  std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
  ASSERT_NE(ledger, nullptr);
  EXPECT_EQ(ledger->recovery_report().last_checkpoint_sequence, 13u);
  EXPECT_TRUE(ledger->recovery_report().last_checkpoint_signature_verified);
  // Nothing new: no second checkpoint on this Close().
  ASSERT_TRUE(ledger->Close().ok());
  EXPECT_EQ(ledger->stats().checkpoints, 0u);
}

TEST(FileLedgerTest, CheckpointWhenIntervalElapsed) {
  TempDir dir;
  testing::KeyFiles keys = testing::WriteKeyPair(dir.path(), "checkpoint");
  FileLedgerOptions options = DirOptions(dir);
  options.checkpoint_private_key_file = keys.private_key;
  options.checkpoint_every_records = 0;
  options.checkpoint_interval = absl::Seconds(5);
  std::atomic<int64_t> clock{1700000000};
  options.now = [&] { return absl::FromUnixSeconds(clock.load()); };
  std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
  ASSERT_NE(ledger, nullptr);
  AppendAll(*ledger, {MakeIntent("i1")});
  EXPECT_EQ(ledger->stats().checkpoints, 0u);
  clock += 6;
  AppendAll(*ledger, {MakeIntent("i2")});
  EXPECT_EQ(ledger->stats().checkpoints, 1u);
  AppendAll(*ledger, {MakeIntent("i3")});
  EXPECT_EQ(ledger->stats().checkpoints, 1u);
  ASSERT_TRUE(ledger->Close().ok());
  absl::StatusOr<std::vector<LedgerRecord>> all =
      ReadVerifiedLedger(options.dir);
  ASSERT_TRUE(all.ok()) << all.status();
  // i1, then the interval checkpoint (before or after i2, depending on
  // whether the writer's timer or i2 noticed the elapsed time first), i3,
  // and the checkpoint of Close().
  ASSERT_EQ(all->size(), 5u);
  const int interval_checkpoint =
      (*all)[1].kind() == RECORD_KIND_CHECKPOINT ? 1 : 2;
  EXPECT_EQ((*all)[interval_checkpoint].kind(), RECORD_KIND_CHECKPOINT);
  EXPECT_EQ((*all)[interval_checkpoint].time().seconds(), 1700000006);
  EXPECT_EQ((*all)[3].disclosure_id(), "i3");
  EXPECT_EQ((*all)[4].kind(), RECORD_KIND_CHECKPOINT);
}

TEST(FileLedgerTest, ForgedCheckpointFailsStartUp) {
  TempDir dir;
  testing::KeyFiles keys = testing::WriteKeyPair(dir.path(), "checkpoint");
  FileLedgerOptions options = DirOptions(dir);
  options.checkpoint_private_key_file = keys.private_key;
  {
    std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
    ASSERT_NE(ledger, nullptr);
    AppendAll(*ledger, {MakeIntent("f1")});
    ASSERT_TRUE(ledger->Close().ok());
  }
  // Re-sign the checkpoint (record 2) with another key but our key id.
  const std::string path = SegmentPath(options, 1);
  std::string data = testing::ReadFileOrDie(path);
  FrameScan scan = ScanFrames(data);
  ASSERT_EQ(scan.frames.size(), 2u);
  absl::StatusOr<LedgerRecord> checkpoint =
      DecodeRecord(scan.frames[1].payload);
  ASSERT_TRUE(checkpoint.ok());
  absl::StatusOr<Ed25519PrivateKey> other = Ed25519PrivateKey::Generate();
  checkpoint->mutable_checkpoint()->set_signature(absl::Base64Escape(
      *other->Sign(CheckpointMessage(1, checkpoint->prev_hash()))));
  std::string rewritten = data.substr(0, scan.frames[1].offset);
  AppendRecordFrame(&*checkpoint, &rewritten);
  testing::WriteFileOrDie(path, rewritten);

  absl::StatusOr<std::unique_ptr<FileLedger>> ledger =
      FileLedger::Open(options);
  ASSERT_FALSE(ledger.ok());
  EXPECT_THAT(ledger.status().message(), HasSubstr("does not verify"));
}

TEST(FileLedgerTest, StartUpVerifiesFromTheLastCheckpointSegment) {
  TempDir dir;
  testing::KeyFiles keys = testing::WriteKeyPair(dir.path(), "checkpoint");
  FileLedgerOptions options = DirOptions(dir);
  options.checkpoint_private_key_file = keys.private_key;
  options.checkpoint_every_records = 0;
  options.checkpoint_interval = absl::ZeroDuration();
  options.recovery_intent_window = absl::ZeroDuration();
  options.segment_max_bytes = 1;  // one batch per segment
  {
    std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
    ASSERT_NE(ledger, nullptr);
    AppendAll(*ledger, {MakeIntent("v1"), MakeIntent("v2")});
    // Close() writes the checkpoint; it lands in segment 3.
    ASSERT_TRUE(ledger->Close().ok());
  }
  {
    options.checkpoint_every_records = 1;
    std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
    ASSERT_NE(ledger, nullptr);
    EXPECT_EQ(ledger->recovery_report().verified_from_sequence, 3u);
    EXPECT_EQ(ledger->recovery_report().records_verified, 1u);
    EXPECT_TRUE(ledger->recovery_report().last_checkpoint_signature_verified);
    AppendAll(*ledger, {MakeIntent("v4")});  // segment 4, checkpoint with it
    ASSERT_TRUE(ledger->Close().ok());
  }
  // Damage before the last checkpoint's segment is for idgate-audit to find;
  // start-up reads only from segment 4 on.
  std::string first = testing::ReadFileOrDie(SegmentPath(options, 1));
  first[20] ^= 1;
  testing::WriteFileOrDie(SegmentPath(options, 1), first);
  {
    std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
    ASSERT_NE(ledger, nullptr);
    EXPECT_EQ(ledger->recovery_report().verified_from_sequence, 4u);
    EXPECT_EQ(ledger->recovery_report().last_sequence, 5u);
  }
  std::string fourth = testing::ReadFileOrDie(SegmentPath(options, 4));
  fourth[20] ^= 1;
  testing::WriteFileOrDie(SegmentPath(options, 4), fourth);
  EXPECT_FALSE(FileLedger::Open(options).ok());
}

TEST(FileLedgerTest, ConcurrentWritersGetOneContinuousChain) {
  TempDir dir;
  FileLedgerOptions options = DirOptions(dir);
  std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
  ASSERT_NE(ledger, nullptr);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!AppendAndWait(*ledger, MakeIntent(absl::StrCat(t, "-", i))).ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_TRUE(ledger->Close().ok());
  EXPECT_EQ(failures.load(), 0);
  absl::StatusOr<std::vector<LedgerRecord>> all =
      ReadVerifiedLedger(options.dir);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), static_cast<size_t>(kThreads * kPerThread));
  std::set<std::string> ids;
  for (const LedgerRecord& record : *all) ids.insert(record.disclosure_id());
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kPerThread));
}

// I4: the ledger files hold the HMAC subject reference, never the ID number.
TEST(FileLedgerTest, CanaryIdNumberNeverReachesTheFiles) {
  TempDir dir;
  const std::string kCanaryId = "11010519491231002X";
  absl::StatusOr<SubjectKeyring> keyring =
      SubjectKeyring::FromKeys({{3, std::string(32, 'K')}});
  ASSERT_TRUE(keyring.ok());
  SubjectReference ref = keyring->Reference(kCanaryId);

  FileLedgerOptions options = DirOptions(dir);
  testing::KeyFiles keys = testing::WriteKeyPair(dir.path(), "checkpoint");
  options.checkpoint_private_key_file = keys.private_key;
  {
    std::unique_ptr<FileLedger> ledger = OpenOrDie(options);
    ASSERT_NE(ledger, nullptr);
    LedgerRecord intent = MakeIntent("canary-disclosure-7f3a");
    intent.set_caller("canary-caller-5c1e");
    intent.set_consent_id("canary-consent-9b2d");
    intent.set_subject_ref(ref.ref);
    intent.set_subject_key_version(ref.key_version);
    LedgerRecord outcome = intent;
    outcome.set_kind(::idgate::ledger::v1::RECORD_KIND_OUTCOME);
    outcome.mutable_outcome()->set_provider_code("canary-code-e4");
    AppendAll(*ledger, {intent, outcome});
    ASSERT_TRUE(ledger->Close().ok());
  }
  std::string everything;
  absl::StatusOr<std::unique_ptr<SegmentSink>> sink =
      NewPosixSegmentSink(options.dir, SinkMode::kReader);
  ASSERT_TRUE(sink.ok());
  absl::StatusOr<std::vector<std::string>> names = (*sink)->List();
  ASSERT_TRUE(names.ok());
  for (const std::string& name : *names) everything += *(*sink)->Read(name);
  // The search works: the non-personal canaries are there.
  for (const char* canary : {"canary-disclosure-7f3a", "canary-caller-5c1e",
                             "canary-consent-9b2d", "canary-code-e4"}) {
    EXPECT_THAT(everything, HasSubstr(canary));
  }
  EXPECT_THAT(everything, HasSubstr(ref.ref));
  // Neither the number, nor a part of it, nor its plain hash.
  EXPECT_THAT(everything, ::testing::Not(HasSubstr(kCanaryId)));
  EXPECT_THAT(everything, ::testing::Not(HasSubstr("19491231")));
  EXPECT_THAT(everything, ::testing::Not(HasSubstr(Sha256Hex(kCanaryId))));
  EXPECT_THAT(everything, ::testing::Not(HasSubstr(Sha256(kCanaryId))));
}

}  // namespace
}  // namespace idgate
