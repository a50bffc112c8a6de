// Ledger faults (issue 10, item 1; invariant I3): when the disclosure
// ledger cannot make a record durable, nothing is sent — every Verify gets
// UNAVAILABLE with zero provider calls, health turns NOT_SERVING, and what
// was written before still verifies.
//
// In-process: a FileLedger over a fault-injecting SegmentSink, given to the
// gateway through AppOptions.ledger. Against the real binary: an LD_PRELOAD
// shim (fault_shim.c) failing fdatasync or write on the segment files, and
// RLIMIT_FSIZE as a genuinely full file system (EFBIG from the kernel).
#include <sys/file.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ledger/file_ledger.h"
#include "server/ledger/segment_format.h"
#include "server/ledger/segment_sink.h"
#include "tests/faults/fault_testing.h"
#include "tests/integration/harness.h"

namespace idgate::testing {
namespace {

namespace v1 = ::idgate::v1;
using ::idgate::ledger::v1::RECORD_KIND_INTENT;
using ::testing::HasSubstr;

// --- A SegmentSink that fails on command.

struct FaultPlan {
  // Operations that succeed before every later one fails; -1 = never fail.
  std::atomic<int64_t> appends_before_failure{-1};
  std::atomic<int64_t> syncs_before_failure{-1};
  std::atomic<bool> fail_create{false};
  std::atomic<int64_t> appends{0};
  std::atomic<int64_t> syncs{0};

  bool Fails(std::atomic<int64_t>& counter,
             const std::atomic<int64_t>& before) {
    const int64_t limit = before.load();
    const int64_t n = counter.fetch_add(1);
    return limit >= 0 && n >= limit;
  }
};

class FaultyFile final : public SegmentFile {
 public:
  FaultyFile(std::unique_ptr<SegmentFile> real, std::shared_ptr<FaultPlan> plan)
      : real_(std::move(real)), plan_(std::move(plan)) {}
  absl::Status Append(absl::string_view data) override {
    if (plan_->Fails(plan_->appends, plan_->appends_before_failure)) {
      return absl::ResourceExhaustedError(
          "write: No space left on device (injected)");
    }
    return real_->Append(data);
  }
  absl::Status Sync() override {
    if (plan_->Fails(plan_->syncs, plan_->syncs_before_failure)) {
      return absl::DataLossError("fdatasync: Input/output error (injected)");
    }
    return real_->Sync();
  }

 private:
  std::unique_ptr<SegmentFile> real_;
  std::shared_ptr<FaultPlan> plan_;
};

class FaultySink final : public SegmentSink {
 public:
  FaultySink(std::unique_ptr<SegmentSink> real, std::shared_ptr<FaultPlan> plan)
      : real_(std::move(real)), plan_(std::move(plan)) {}
  absl::StatusOr<std::vector<std::string>> List() override {
    return real_->List();
  }
  absl::StatusOr<std::string> Read(const std::string& name) override {
    return real_->Read(name);
  }
  absl::StatusOr<std::unique_ptr<SegmentFile>> OpenForAppend(
      const std::string& name, bool create) override {
    if (create && plan_->fail_create) {
      return absl::ResourceExhaustedError(
          "open: No space left on device (injected)");
    }
    auto file = real_->OpenForAppend(name, create);
    if (!file.ok()) return file.status();
    return std::unique_ptr<SegmentFile>(
        new FaultyFile(std::move(*file), plan_));
  }
  absl::Status Truncate(const std::string& name, uint64_t size) override {
    return real_->Truncate(name, size);
  }
  absl::Status SyncDir() override { return real_->SyncDir(); }

 private:
  std::unique_ptr<SegmentSink> real_;
  std::shared_ptr<FaultPlan> plan_;
};

// Forwards to a ledger and remembers which intents were reported durable.
class RecordingLedger final : public Ledger {
 public:
  explicit RecordingLedger(std::unique_ptr<FileLedger> inner)
      : inner_(std::move(inner)) {}
  void Append(LedgerRecord record,
              std::function<void(absl::Status)> done) override {
    // Outcomes go through as they came, unawaited.
    if (record.kind() != RECORD_KIND_INTENT) {
      inner_->Append(std::move(record), std::move(done));
      return;
    }
    inner_->Append(std::move(record),
                   [this, done = std::move(done)](absl::Status st) {
                     ++(st.ok() ? durable_intents_ : failed_intents_);
                     if (done) done(std::move(st));
                   });
  }
  bool healthy() const override { return inner_->healthy(); }
  FileLedger& inner() { return *inner_; }
  int durable_intents() const { return durable_intents_.load(); }
  int failed_intents() const { return failed_intents_.load(); }

 private:
  std::unique_ptr<FileLedger> inner_;
  std::atomic<int> durable_intents_{0};
  std::atomic<int> failed_intents_{0};
};

struct InjectedLedger {
  ScratchDir dir{"idgate-ledger-fault"};
  std::shared_ptr<FaultPlan> plan = std::make_shared<FaultPlan>();
  std::shared_ptr<RecordingLedger> ledger;
  std::string ledger_dir() const { return dir.Join("ledger"); }
};

std::unique_ptr<InjectedLedger> OpenInjected(
    uint64_t segment_max_bytes = 1 << 20) {
  auto out = std::make_unique<InjectedLedger>();
  FileLedgerOptions options =
      FileLedgerOptions::FromConfig(DevConfigAbsolute().ledger());
  options.dir = out->ledger_dir();
  options.segment_max_bytes = segment_max_bytes;
  options.checkpoint_private_key_file =
      RepoPath("config/dev-secrets/checkpoint-ed25519.key");
  options.checkpoint_every_records = 1000;
  auto sink = NewPosixSegmentSink(options.dir, SinkMode::kWriter);
  if (!sink.ok()) return nullptr;
  auto file = FileLedger::Open(
      options, std::make_unique<FaultySink>(std::move(*sink), out->plan));
  if (!file.ok()) return nullptr;
  out->ledger = std::make_shared<RecordingLedger>(std::move(*file));
  return out;
}

enum class Fault { kSync, kWrite, kNewSegment };

std::string FaultName(const ::testing::TestParamInfo<Fault>& info) {
  switch (info.param) {
    case Fault::kSync:
      return "FsyncFails";
    case Fault::kWrite:
      return "WriteFails";
    case Fault::kNewSegment:
      return "NewSegmentFails";
  }
  return "";
}

class InjectedLedgerFault : public ::testing::TestWithParam<Fault> {};

TEST_P(InjectedLedgerFault, NoProviderCallWithoutADurableIntent) {
  // Small segments make the ledger roll over within a few calls.
  auto injected =
      OpenInjected(GetParam() == Fault::kNewSegment ? 2048 : 1 << 20);
  ASSERT_NE(injected, nullptr);
  uint64_t provider_requests = 0;
  {
    // ~100 checks of one person: lift the per-subject daily limit.
    GatewayHarness gw(
        [](cfg::GatewayConfig& c) {
          c.mutable_subject_limits()->set_max_calls_per_check_per_day(0);
        },
        injected->ledger);
    ASSERT_TRUE(gw.start_status().ok()) << gw.start_status();
    const MockProvider* carrier = gw.app().mock("carrier_mock");
    v1::VerifyResponse r;
    // Healthy first.
    for (int i = 0; i < 3; ++i)
      ASSERT_TRUE(
          gw.Verify(CarrierRequest(AdultMatch(), NextRequestId()), &r).ok());
    EXPECT_EQ(HealthOf(gw.channel()), "SERVING");

    // Arm the fault, then load the gateway from 8 threads while it hits.
    switch (GetParam()) {
      case Fault::kSync:
        injected->plan->syncs_before_failure = injected->plan->syncs.load() + 2;
        break;
      case Fault::kWrite:
        injected->plan->appends_before_failure =
            injected->plan->appends.load() + 2;
        break;
      case Fault::kNewSegment:
        injected->plan->fail_create = true;
        break;
    }
    std::atomic<int> ok{0}, unavailable{0}, other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 10; ++i) {
          v1::VerifyResponse resp;
          auto st =
              gw.Verify(CarrierRequest(AdultMatch(), NextRequestId()), &resp);
          if (st.ok()) {
            ++ok;
          } else if (st.error_code() == grpc::StatusCode::UNAVAILABLE) {
            ++unavailable;
          } else {
            ++other;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_GT(unavailable.load(), 0);
    EXPECT_EQ(other.load(), 0);
    EXPECT_FALSE(injected->ledger->healthy());
    // I2/I3: provider requests never exceed the intents the ledger reported
    // durable (each durable intent leads to at most one request).
    EXPECT_LE(carrier->stats().requests,
              static_cast<uint64_t>(injected->ledger->durable_intents()));
    EXPECT_GT(injected->ledger->failed_intents(), 0);

    // Fail closed from now on: health NOT_SERVING, UNAVAILABLE, no calls.
    gw.app().RefreshHealth();
    EXPECT_EQ(HealthOf(gw.channel()), "NOT_SERVING");
    EXPECT_EQ(HealthOf(gw.channel(), ""), "NOT_SERVING");
    EXPECT_EQ(Sample(gw.app().metrics().Scrape(), "idgate_ledger_healthy"), 0);
    const uint64_t before = carrier->stats().requests;
    for (int i = 0; i < 10; ++i) {
      auto st = gw.Verify(CarrierRequest(AdultMatch(), NextRequestId()), &r);
      EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
      EXPECT_THAT(st.error_message(), HasSubstr("nothing was sent"));
      EXPECT_EQ(st.error_message().find("110101199003070134"),
                std::string::npos);
    }
    EXPECT_EQ(carrier->stats().requests, before);
    EXPECT_THAT(gw.logs(), HasSubstr("\"event\":\"ledger_failed\""));

    // What reached the disk before the failure still verifies (a failed
    // batch may have left a torn tail, which only a restart truncates).
    gw.Stop(absl::Seconds(2));
    EXPECT_FALSE(injected->ledger->inner().Close().ok());
    provider_requests = carrier->stats().requests;
  }  // the gateway lets go of the ledger (and its directory lock)
  injected->ledger.reset();
  FileLedgerOptions reopen =
      FileLedgerOptions::FromConfig(DevConfigAbsolute().ledger());
  reopen.dir = injected->ledger_dir();
  reopen.checkpoint_private_key_file =
      RepoPath("config/dev-secrets/checkpoint-ed25519.key");
  auto recovered = FileLedger::Open(reopen);
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  ASSERT_TRUE((*recovered)->Close().ok());
  auto report = AuditLedger(injected->ledger_dir());
  EXPECT_TRUE(report.ok) << report.error;
  // Every request the provider got is backed by an intent in the file.
  EXPECT_LE(provider_requests,
            SummarizeLedger(injected->ledger_dir()).intents.size());
}

INSTANTIATE_TEST_SUITE_P(Faults, InjectedLedgerFault,
                         ::testing::Values(Fault::kSync, Fault::kWrite,
                                           Fault::kNewSegment),
                         FaultName);

// --- Against the real binary.

std::string FaultShim() {
#ifdef IDGATE_FAULT_SHIM
  return IDGATE_FAULT_SHIM;
#else
  return "";
#endif
}

// The ASan runtime must come first in the library list unless told not to
// check: the shim is preloaded before it.
std::pair<std::string, std::string> AsanOptionsForShim() {
  const char* existing = getenv("ASAN_OPTIONS");
  std::string value = existing == nullptr ? "" : existing;
  if (!value.empty()) value += ":";
  value += "verify_asan_link_order=0";
  return {"ASAN_OPTIONS", value};
}

// A gateway process whose carrier provider is the standalone mock server.
class BinaryLedgerFault : public ::testing::Test {
 protected:
  void SetUp() override {
    mocks_ = MockServer::Start();
    ASSERT_NE(mocks_, nullptr);
    cfg::GatewayConfig c = DevConfigAbsolute();
    UseAddress(c, "carrier_mock", mocks_->address());
    c.mutable_subject_limits()->set_max_calls_per_check_per_day(0);
    c.mutable_ledger()->set_checkpoint_every_records(1000000);
    c.mutable_ledger()->mutable_checkpoint_interval()->set_seconds(3600);
    config_path_ = dir_.Join("config.json");
    WriteFile(config_path_, ConfigJson(c));
  }

  GatewayProcess::Options Options() const {
    GatewayProcess::Options o;
    o.config_path = config_path_;
    o.state_dir = dir_.Join("state");
    o.log_path = dir_.Join("idgate.log");
    return o;
  }

  // Options() with the LD_PRELOAD shim (fault_shim.c) failing ledger
  // segment writes: `fault` is its variable, e.g. IDGATE_FAULT_SYNC_AFTER,
  // set so that the 6th call fails.
  GatewayProcess::Options ShimOptions(const std::string& fault) const {
    GatewayProcess::Options o = Options();
    o.env = {{"LD_PRELOAD", FaultShim()}, {fault, "6"}, AsanOptionsForShim()};
    return o;
  }

  // `gw` does not start: it exits with 1 on its own, having logged
  // `logged`.
  static void ExpectStartUpRefused(GatewayProcess& gw,
                                   const std::string& logged) {
    EXPECT_FALSE(gw.Start(absl::Seconds(20)).ok());
    int code = 0;
    EXPECT_TRUE(gw.WaitExit(absl::Seconds(10), &code));
    EXPECT_EQ(code, 1);
    EXPECT_THAT(gw.logs(), HasSubstr(logged));
  }

  // Calls until one is UNAVAILABLE (bounded); returns the calls made.
  int CallUntilUnavailable(GatewayProcess& gw, int max_calls) {
    for (int i = 0; i < max_calls; ++i) {
      v1::VerifyResponse r;
      auto st = VerifyOn(gw.channel(),
                         CarrierRequest(AdultMatch(), NextRequestId()), &r);
      if (st.error_code() == grpc::StatusCode::UNAVAILABLE) return i + 1;
      EXPECT_TRUE(st.ok()) << st.error_message();
    }
    return -1;
  }

  // After the failure: NOT_SERVING within 3 s (main refreshes every second),
  // then every call UNAVAILABLE and nothing reaches the provider.
  void ExpectFailedClosed(GatewayProcess& gw) {
    std::string health;
    for (int i = 0;
         i < 30 && (health = HealthOf(gw.channel())) != "NOT_SERVING"; ++i) {
      absl::SleepFor(absl::Milliseconds(100));
    }
    EXPECT_EQ(health, "NOT_SERVING");
    const uint64_t before = mocks_->stats("carrier").requests;
    for (int i = 0; i < 10; ++i) {
      v1::VerifyResponse r;
      auto st = VerifyOn(gw.channel(),
                         CarrierRequest(AdultMatch(), NextRequestId()), &r);
      EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE)
          << st.error_message();
    }
    EXPECT_EQ(mocks_->stats("carrier").requests, before);
    EXPECT_THAT(gw.logs(), HasSubstr("\"event\":\"ledger_failed\""));
    EXPECT_EQ(FindLeak(gw.logs(), {AdultMatch().id_number, AdultMatch().mobile,
                                   AdultMatch().name}),
              "");
  }

  // A restart without the fault recovers the ledger, which then verifies
  // and backs every provider request with an intent.
  void ExpectRecovers() {
    GatewayProcess again(Options());
    ASSERT_TRUE(again.Start().ok()) << again.logs();
    ExpectServingAndMatching(again.channel(),
                             CarrierRequest(AdultMatch(), NextRequestId()));
    EXPECT_EQ(again.Terminate(), 0);
    const std::string ledger_dir = dir_.Join("state/ledger");
    auto report = AuditLedger(ledger_dir);
    EXPECT_TRUE(report.ok) << report.error;
    EXPECT_LE(mocks_->stats("carrier").requests,
              SummarizeLedger(ledger_dir).intents.size());
  }

  ScratchDir dir_{"idgate-binary-ledger"};
  std::unique_ptr<MockServer> mocks_;
  std::string config_path_;
};

TEST_F(BinaryLedgerFault, FsyncFailureViaPreloadShim) {
  ASSERT_FALSE(FaultShim().empty());
  GatewayProcess gw(ShimOptions("IDGATE_FAULT_SYNC_AFTER"));
  ASSERT_TRUE(gw.Start().ok()) << gw.logs();
  const int calls = CallUntilUnavailable(gw, 50);
  EXPECT_GT(calls, 0) << "the injected fsync failure never surfaced";
  ExpectFailedClosed(gw);
  gw.Terminate();
  // The cause reaches the log only when the ledger is closed (finding F5).
  EXPECT_THAT(gw.logs(), HasSubstr("Input/output error"));
  ExpectRecovers();
}

TEST_F(BinaryLedgerFault, WriteFailureNoSpaceViaPreloadShim) {
  ASSERT_FALSE(FaultShim().empty());
  GatewayProcess gw(ShimOptions("IDGATE_FAULT_WRITE_AFTER"));
  ASSERT_TRUE(gw.Start().ok()) << gw.logs();
  EXPECT_GT(CallUntilUnavailable(gw, 50), 0);
  ExpectFailedClosed(gw);
  gw.Terminate();
  ExpectRecovers();
}

TEST_F(BinaryLedgerFault, FileSystemFullByFileSizeLimit) {
  auto o = Options();
  o.ignore_sigxfsz = true;
  GatewayProcess gw(o);
  ASSERT_TRUE(gw.Start().ok()) << gw.logs();
  v1::VerifyResponse r;
  ASSERT_TRUE(
      VerifyOn(gw.channel(), CarrierRequest(AdultMatch(), NextRequestId()), &r)
          .ok());
  // The kernel now refuses any write of the gateway past ~3 KiB more than
  // the segment's records (preallocated zeros included): writes fail with
  // EFBIG, as on a full disk.
  const std::string segment = dir_.Join("state/ledger/" + SegmentFileName(1));
  const uint64_t size = ScanFrames(ReadFileOrEmpty(segment)).valid_bytes;
  ASSERT_TRUE(SetFileSizeLimit(gw.pid(), static_cast<int64_t>(size) + 3000));
  EXPECT_GT(CallUntilUnavailable(gw, 50), 0);
  ExpectFailedClosed(gw);
  gw.Terminate();
  EXPECT_THAT(gw.logs(), HasSubstr("File too large"));
  // The partial write is a torn tail: the restart truncates and reports it.
  ExpectRecovers();
  EXPECT_THAT(ReadFileOrEmpty(dir_.Join("idgate.log")),
              HasSubstr("\"event\":\"ledger_torn_tail\""));
}

// Regression (finding F5, fixed in 0cf443a): the "ledger_failed" line said
// only "disclosures fail closed until restart"; the cause (EIO, ENOSPC,
// EFBIG) was logged only at shutdown, so an operator paged by NOT_SERVING
// could not see why.
TEST_F(BinaryLedgerFault, LedgerFailedLineNamesTheCause) {
  GatewayProcess gw(ShimOptions("IDGATE_FAULT_SYNC_AFTER"));
  ASSERT_TRUE(gw.Start().ok()) << gw.logs();
  EXPECT_GT(CallUntilUnavailable(gw, 50), 0);
  ExpectFailedClosed(gw);
  std::string failed_line;
  for (absl::string_view line : absl::StrSplit(gw.logs(), '\n')) {
    if (absl::StrContains(line, "\"event\":\"ledger_failed\""))
      failed_line = std::string(line);
  }
  EXPECT_THAT(failed_line, HasSubstr("Input/output error"));
}

TEST_F(BinaryLedgerFault, UnusableLedgerDirectoryStopsStartUp) {
  // Not a directory.
  std::filesystem::create_directories(dir_.Join("state"));
  WriteFile(dir_.Join("state/ledger"), "not a directory");
  {
    GatewayProcess gw(Options());
    ExpectStartUpRefused(gw, "\"event\":\"start_failed\"");
  }
  EXPECT_EQ(mocks_->stats("carrier").requests, 0u);
}

TEST_F(BinaryLedgerFault, UnwritableStateDirectoryStopsStartUp) {
  // Running as root, permissions do not stop writes: /proc refuses mkdir.
  auto o = Options();
  o.state_dir = "/proc/idgate-no-such-state";
  GatewayProcess gw(o);
  ExpectStartUpRefused(gw, "\"event\":\"start_failed\"");
}

TEST_F(BinaryLedgerFault, SecondGatewayOnTheSameLedgerIsRefused) {
  GatewayProcess first(Options());
  ASSERT_TRUE(first.Start().ok()) << first.logs();
  auto o = Options();
  o.log_path = dir_.Join("second.log");
  GatewayProcess second(o);
  ExpectStartUpRefused(second, "in use by another writer");
  // The first one is unaffected.
  v1::VerifyResponse r;
  EXPECT_TRUE(VerifyOn(first.channel(),
                       CarrierRequest(AdultMatch(), NextRequestId()), &r)
                  .ok());
  EXPECT_EQ(first.Terminate(), 0);
}

TEST_F(BinaryLedgerFault, DamagedLedgerStopsStartUpNamingTheRecord) {
  {
    GatewayProcess gw(Options());
    ASSERT_TRUE(gw.Start().ok()) << gw.logs();
    v1::VerifyResponse r;
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(VerifyOn(gw.channel(),
                           CarrierRequest(AdultMatch(), NextRequestId()), &r)
                      .ok());
    }
    EXPECT_EQ(gw.Terminate(), 0);
  }
  const std::string segment = dir_.Join("state/ledger/" + SegmentFileName(1));
  std::string bytes = ReadFileOrEmpty(segment);
  ASSERT_GT(bytes.size(), 200u);
  bytes[bytes.size() / 3] ^= 0x01;  // a flipped bit inside an early record
  WriteFile(segment, bytes);
  const uint64_t before = mocks_->stats("carrier").requests;
  GatewayProcess gw(Options());
  ExpectStartUpRefused(gw, "ledger-000001.log: sequence");
  EXPECT_EQ(mocks_->stats("carrier").requests, before);
}

}  // namespace
}  // namespace idgate::testing
