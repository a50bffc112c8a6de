// Crash test (issue 10, item 2): the real `idgate` binary under load, killed
// with SIGKILL at seeded random moments and restarted on the same state
// directory, again and again. The carrier and bank providers are the
// standalone mock providers behind a recording front that notes every
// request it receives (its order_no is the gateway's disclosure_id) before
// forwarding it. Afterwards, against the final ledger:
//  - every request a provider received has a durable INTENT with that
//    disclosure_id, written before the request arrived, naming exactly the
//    fields the request carried (I2);
//  - idgate-audit verify passes: 0 chain breaks (torn tails are truncated
//    and reported at restart, which is allowed) (I7);
//  - every INTENT without OUTCOME was reported at a restart as
//    "ledger_possibly_disclosed";
//  - no request_id reached a provider twice (I8), within one process
//    lifetime or across a crash (finding F1);
//  - no personal value in the gateway's log (I4).
//
// Environment (defaults keep the CI run near 30 s):
//   IDGATE_CRASH_CYCLES   kill/restart cycles (20)
//   IDGATE_CRASH_SEED     seed of the kill moments and the load (1)
//   IDGATE_CRASH_MAX_MS   longest uptime before the kill, ms (1000)
//   IDGATE_CRASH_CLIENTS  concurrent client threads (8)
//   IDGATE_CRASH_REPORT   file to append the figures to (markdown)
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "idgate/provider/v1/bank.grpc.pb.h"
#include "idgate/provider/v1/carrier.grpc.pb.h"
#include "server/ledger/segment_format.h"
#include "tests/faults/fault_testing.h"
#include "tests/integration/harness.h"

namespace idgate::testing {
namespace {

namespace v1 = ::idgate::v1;
namespace pv1 = ::idgate::provider::v1;
using ::idgate::ledger::v1::RECORD_KIND_INTENT;
using ::idgate::ledger::v1::RECORD_KIND_OUTCOME;

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  int64_t out = 0;
  return v != nullptr && absl::SimpleAtoi(v, &out) ? out : fallback;
}

// --- The recording front.

struct Receipt {
  std::string disclosure_id;  // order_no
  std::string kind;           // carrier | bank
  std::set<std::pair<int, int>>
      fields;  // (PiiField, PiiForm) set in the request
  absl::Time at;
  int cycle = 0;
};

class Recorder {
 public:
  void Record(Receipt r) {
    std::lock_guard<std::mutex> lock(mu_);
    r.at = absl::Now();
    r.cycle = cycle_;
    receipts_.push_back(std::move(r));
  }
  void set_cycle(int cycle) {
    std::lock_guard<std::mutex> lock(mu_);
    cycle_ = cycle;
  }
  std::vector<Receipt> receipts() const {
    std::lock_guard<std::mutex> lock(mu_);
    return receipts_;
  }

 private:
  mutable std::mutex mu_;
  int cycle_ = 0;
  std::vector<Receipt> receipts_;
};

void AddIfSet(const std::string& value, v1::PiiField field,
              std::set<std::pair<int, int>>* out) {
  if (!value.empty()) out->insert({field, v1::PII_FORM_PLAIN});
}

// Answers the caller with the mock's answer to the same request; `call`
// starts it, e.g. stub->async()->CheckThreeFactor(client, request, response,
// done).
template <typename Request, typename Response, typename Call>
grpc::ServerUnaryReactor* Forward(grpc::CallbackServerContext* context,
                                  const Request* request, Response* response,
                                  Call call) {
  auto* reactor = context->DefaultReactor();
  auto* client = new grpc::ClientContext();
  client->set_deadline(context->deadline());
  call(client, request, response, [reactor, client](grpc::Status st) {
    reactor->Finish(st);
    delete client;
  });
  return reactor;
}

// Records, then forwards the call to the mock (in-process channel).
class CarrierFront final : public pv1::CarrierService::CallbackService {
 public:
  CarrierFront(Recorder* recorder, std::shared_ptr<grpc::Channel> mock)
      : recorder_(recorder),
        stub_(pv1::CarrierService::NewStub(std::move(mock))) {}
  grpc::ServerUnaryReactor* CheckThreeFactor(
      grpc::CallbackServerContext* context,
      const pv1::CheckThreeFactorRequest* request,
      pv1::CheckThreeFactorResponse* response) override {
    Receipt r{request->order_no(), "carrier", {}, absl::Time(), 0};
    AddIfSet(request->name(), v1::PII_FIELD_NAME, &r.fields);
    AddIfSet(request->id_number(), v1::PII_FIELD_ID_NUMBER, &r.fields);
    AddIfSet(request->mobile(), v1::PII_FIELD_MOBILE, &r.fields);
    recorder_->Record(std::move(r));
    return Forward(context, request, response, [this](auto&&... args) {
      stub_->async()->CheckThreeFactor(std::forward<decltype(args)>(args)...);
    });
  }

 private:
  Recorder* recorder_;
  std::unique_ptr<pv1::CarrierService::Stub> stub_;
};

class BankFront final : public pv1::BankService::CallbackService {
 public:
  BankFront(Recorder* recorder, std::shared_ptr<grpc::Channel> mock)
      : recorder_(recorder),
        stub_(pv1::BankService::NewStub(std::move(mock))) {}
  grpc::ServerUnaryReactor* CheckFourFactor(
      grpc::CallbackServerContext* context,
      const pv1::CheckFourFactorRequest* request,
      pv1::CheckFourFactorResponse* response) override {
    Receipt r{request->order_no(), "bank", {}, absl::Time(), 0};
    AddIfSet(request->name(), v1::PII_FIELD_NAME, &r.fields);
    AddIfSet(request->id_number(), v1::PII_FIELD_ID_NUMBER, &r.fields);
    AddIfSet(request->card_number(), v1::PII_FIELD_BANK_CARD_NUMBER, &r.fields);
    AddIfSet(request->mobile(), v1::PII_FIELD_MOBILE, &r.fields);
    recorder_->Record(std::move(r));
    return Forward(context, request, response, [this](auto&&... args) {
      stub_->async()->CheckFourFactor(std::forward<decltype(args)>(args)...);
    });
  }

 private:
  Recorder* recorder_;
  std::unique_ptr<pv1::BankService::Stub> stub_;
};

// --- The load.

std::vector<TestPerson> People() {
  return {
      AdultMatch(),
      CardLost(),
      {"测试丙", "46010519800101018X", "18900000013", "6258070000000000136"},
      {"阿依古丽·测试", "650102199303151122", "15600000011",
       "6216610000000000115"},
      {"测试戊", "540102195608081571", "13300000015", "6222020000000000158"}};
}

struct Attempt {
  v1::VerifyRequest request;
  int attempts = 0;
};

struct Figures {
  int cycles = 0;
  int64_t requests_tried = 0;
  int64_t answered_ok = 0;
  int64_t failed_calls = 0;
  int64_t retries = 0;
  int64_t provider_calls = 0;
  int64_t provider_calls_without_durable_intent = 0;
  int64_t provider_calls_with_intent_after_receipt = 0;
  int64_t provider_calls_with_other_fields = 0;
  int64_t intents = 0;
  int64_t outcomes = 0;
  int64_t intents_without_outcome = 0;
  int64_t unreported_open_intents = 0;
  int64_t torn_tails_injected = 0;
  int64_t torn_tails_truncated = 0;
  int64_t restart_failures = 0;
  int64_t chain_breaks = 0;
  int64_t duplicates_same_lifetime = 0;
  int64_t duplicates_across_crash = 0;
  int64_t canary_hits = 0;
  int64_t ledger_records = 0;
  double seconds = 0;
  std::string audit;
  std::map<int, int64_t> codes;  // gRPC code -> calls
};

struct Options {
  int cycles = 20;
  uint64_t seed = 1;
  int max_uptime_ms = 1000;
  int clients = 8;
  bool retry_failed = true;
  // After every n-th kill, leave an interrupted write after the last
  // record (what a power cut leaves: a frame prefix, or only zeros where
  // the segment was preallocated). 0 = never.
  int torn_tail_every = 3;
};

class CrashRig {
 public:
  explicit CrashRig(Options options) : options_(options), rng_(options.seed) {}

  Figures Run() {
    Figures f;
    const absl::Time begin = absl::Now();
    cfg::MockBehaviour carrier = Latency(absl::Milliseconds(80));
    carrier.mutable_latency_stddev()->set_nanos(30'000'000);
    cfg::MockBehaviour bank = Latency(absl::Milliseconds(150));
    bank.mutable_latency_stddev()->set_nanos(50'000'000);
    auto mocks = MockServer::Start({{"carrier", carrier}, {"bank", bank}},
                                   options_.seed);
    if (mocks == nullptr) {
      ADD_FAILURE() << "mock server did not start";
      return f;
    }
    CarrierFront carrier_front(&recorder_, mocks->InProcessChannel());
    BankFront bank_front(&recorder_, mocks->InProcessChannel());
    FakeServer front = StartFakeServer({&carrier_front, &bank_front});

    cfg::GatewayConfig c = DevConfigAbsolute();
    UseAddress(c, "carrier_mock", front.address());
    UseAddress(c, "bank_mock", front.address());
    c.mutable_subject_limits()->set_max_calls_per_check_per_day(0);
    c.mutable_subject_limits()->set_max_distinct_contacts_per_day(0);
    // Checkpoints every few records: crashes land around them too.
    c.mutable_ledger()->set_checkpoint_every_records(50);
    c.mutable_ledger()->mutable_checkpoint_interval()->set_seconds(1);
    WriteFile(dir_.Join("config.json"), ConfigJson(c));
    GatewayProcess::Options o;
    o.config_path = dir_.Join("config.json");
    o.state_dir = dir_.Join("state");
    o.log_path = dir_.Join("idgate.log");

    std::vector<std::thread> clients;
    for (int t = 0; t < options_.clients; ++t) {
      clients.emplace_back([this, t] { Client(t); });
    }
    std::vector<std::string> restart_logs;
    for (int cycle = 0; cycle <= options_.cycles; ++cycle) {
      recorder_.set_cycle(cycle);
      auto gw = std::make_unique<GatewayProcess>(o);
      const size_t log_before = ReadFileOrEmpty(o.log_path).size();
      if (auto st = gw->Start(); !st.ok()) {
        ++f.restart_failures;
        ADD_FAILURE() << "restart " << cycle << " failed: " << st;
        break;
      }
      restart_logs.push_back(ReadFileOrEmpty(o.log_path).substr(log_before));
      if (cycle == options_.cycles) {
        // The last start only reports on the last crash; then a clean stop.
        EXPECT_EQ(gw->Terminate(), 0);
        break;
      }
      SetChannel(gw->channel());
      std::uniform_int_distribution<int> uptime(
          50, std::max(51, options_.max_uptime_ms));
      absl::SleepFor(absl::Milliseconds(uptime(rng_)));
      // New calls wait for the restart; calls in flight die with the process.
      SetChannel(nullptr);
      gw->Kill9();
      ++f.cycles;
      if (options_.torn_tail_every > 0 &&
          f.cycles % options_.torn_tail_every == 0) {
        f.torn_tails_injected += InjectTornTail(dir_.Join("state/ledger"));
      }
    }
    stop_ = true;
    for (auto& t : clients) t.join();
    front.server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    mocks->Shutdown(absl::Seconds(2));

    // --- The evidence.
    const std::string ledger_dir = dir_.Join("state/ledger");
    const audit::VerifyReport report = AuditLedger(ledger_dir);
    f.audit = report.ok ? "OK" : report.error;
    f.chain_breaks = report.ok ? 0 : 1;
    f.ledger_records = static_cast<int64_t>(report.records);
    std::map<std::string, LedgerRecord> intents;
    std::set<std::string> with_outcome;
    auto source = audit::DirectorySource(ledger_dir);
    if (source.ok()) {
      audit::Verify(**source, audit::VerifyOptions(),
                    [&](const LedgerRecord& r) {
                      if (r.kind() == RECORD_KIND_INTENT)
                        intents[r.disclosure_id()] = r;
                      if (r.kind() == RECORD_KIND_OUTCOME)
                        with_outcome.insert(r.disclosure_id());
                    });
    }
    f.intents = static_cast<int64_t>(intents.size());
    f.outcomes = static_cast<int64_t>(with_outcome.size());

    std::set<std::string> reported;
    for (const auto& log : restart_logs) {
      for (absl::string_view line : absl::StrSplit(log, '\n')) {
        if (absl::StrContains(line, "\"event\":\"ledger_torn_tail\""))
          ++f.torn_tails_truncated;
        if (!absl::StrContains(line, "\"event\":\"ledger_possibly_disclosed\""))
          continue;
        const size_t at = line.find("\"disclosure_id\":\"");
        if (at == absl::string_view::npos) continue;
        absl::string_view id = line.substr(at + 17);
        reported.insert(std::string(id.substr(0, id.find('"'))));
      }
    }
    for (const auto& [id, intent] : intents) {
      if (with_outcome.count(id)) continue;
      ++f.intents_without_outcome;
      if (!reported.count(id)) ++f.unreported_open_intents;
    }

    const auto receipts = recorder_.receipts();
    f.provider_calls = static_cast<int64_t>(receipts.size());
    // (caller, request_id) -> cycles in which a provider received it.
    std::map<std::pair<std::string, std::string>, std::vector<int>>
        receipts_by_key;
    for (const auto& r : receipts) {
      auto it = intents.find(r.disclosure_id);
      if (it == intents.end()) {
        ++f.provider_calls_without_durable_intent;
        ADD_FAILURE() << "provider call without a durable intent: "
                      << r.disclosure_id;
        continue;
      }
      const LedgerRecord& intent = it->second;
      if (RecordTime(intent) > r.at)
        ++f.provider_calls_with_intent_after_receipt;
      std::set<std::pair<int, int>> named;
      for (const auto& field : intent.fields())
        named.insert({field.field(), field.form()});
      if (named != r.fields) ++f.provider_calls_with_other_fields;
      receipts_by_key[{intent.caller(), intent.request_id()}].push_back(
          r.cycle);
    }
    for (const auto& [key, cycles] : receipts_by_key) {
      std::set<int> distinct(cycles.begin(), cycles.end());
      f.duplicates_same_lifetime +=
          static_cast<int64_t>(cycles.size() - distinct.size());
      f.duplicates_across_crash += static_cast<int64_t>(distinct.size() - 1);
    }

    {
      std::lock_guard<std::mutex> lock(mu_);
      f.requests_tried = tried_;
      f.answered_ok = ok_;
      f.failed_calls = failed_;
      f.retries = retries_;
      f.codes = codes_;
    }
    std::vector<std::string> secrets;
    for (const auto& p : People()) {
      secrets.push_back(p.id_number);
      secrets.push_back(p.mobile);
      secrets.push_back(p.card);
      secrets.push_back(p.name);
    }
    f.canary_hits =
        FindLeak(ReadFileOrEmpty(o.log_path), secrets).empty() ? 0 : 1;
    f.seconds = absl::ToDoubleSeconds(absl::Now() - begin);
    return f;
  }

 private:
  // Writes what a power cut leaves in the last segment after its last
  // record: a prefix of a record, then the zeros the writer preallocated
  // (1 if it did), or zeros only, which are free space, not a torn write.
  int InjectTornTail(const std::string& ledger_dir) {
    std::string last;
    for (uint64_t index = 1;; ++index) {
      const std::string path = ledger_dir + "/" + SegmentFileName(index);
      if (ReadFileOrEmpty(path).empty() && !std::ifstream(path).good()) break;
      last = path;
    }
    if (last.empty()) return 0;
    const std::string bytes = ReadFileOrEmpty(last);
    const FrameScan scan = ScanFrames(bytes);
    std::string tail;
    const bool torn = !scan.frames.empty() && rng_() % 2 == 0;
    if (torn) {
      const uint64_t begin = scan.frames.back().offset;
      const std::string frame = bytes.substr(begin, scan.valid_bytes - begin);
      tail = frame.substr(0, 1 + rng_() % (frame.size() - 1));
    }
    tail.append(1 + rng_() % 64, '\0');
    std::string damaged = bytes.substr(0, scan.valid_bytes) + tail;
    if (damaged.size() < bytes.size()) damaged.resize(bytes.size(), '\0');
    WriteFile(last, damaged);
    return torn ? 1 : 0;
  }

  void SetChannel(std::shared_ptr<grpc::Channel> channel) {
    std::lock_guard<std::mutex> lock(mu_);
    channel_ = std::move(channel);
  }

  void Client(int index) {
    std::mt19937_64 rng(options_.seed * 1000 + index);
    const auto people = People();
    int n = 0;
    std::vector<Attempt> to_retry;
    while (!stop_) {
      std::shared_ptr<grpc::Channel> channel;
      {
        std::lock_guard<std::mutex> lock(mu_);
        channel = channel_;
      }
      if (channel == nullptr) {
        absl::SleepFor(absl::Milliseconds(5));
        continue;
      }
      Attempt a;
      if (!to_retry.empty()) {
        a = std::move(to_retry.back());
        to_retry.pop_back();
      } else {
        const TestPerson& p = people[rng() % people.size()];
        const std::string id =
            absl::StrCat("crash-", options_.seed, "-", index, "-", n++);
        a.request = rng() % 3 == 0 ? BankRequest(p, id) : CarrierRequest(p, id);
      }
      ++a.attempts;
      v1::VerifyResponse response;
      const grpc::Status st = VerifyOn(channel, a.request, &response,
                                       "esign-platform", absl::Seconds(3));
      if (!st.ok()) absl::SleepFor(absl::Milliseconds(2));
      std::lock_guard<std::mutex> lock(mu_);
      if (a.attempts == 1) ++tried_;
      if (a.attempts > 1) ++retries_;
      ++codes_[st.error_code()];
      if (st.ok()) {
        ++ok_;
      } else {
        ++failed_;
        // A client retries what the crash cut short, with the same id.
        if (options_.retry_failed && a.attempts < 3 &&
            (st.error_code() == grpc::StatusCode::UNAVAILABLE ||
             st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
             st.error_code() == grpc::StatusCode::CANCELLED ||
             st.error_code() == grpc::StatusCode::INTERNAL)) {
          to_retry.push_back(std::move(a));
        }
      }
    }
  }

  const Options options_;
  std::mt19937_64 rng_;
  ScratchDir dir_{"idgate-crash"};
  Recorder recorder_;
  std::atomic<bool> stop_{false};
  // std::mutex, not absl::Mutex: Debian's Abseil is not TSan-instrumented.
  std::mutex mu_;
  // Guarded by mu_:
  std::shared_ptr<grpc::Channel> channel_;
  int64_t tried_ = 0;
  int64_t ok_ = 0;
  int64_t failed_ = 0;
  int64_t retries_ = 0;
  std::map<int, int64_t> codes_;
};

std::string Markdown(const Options& o, const Figures& f) {
  return absl::StrCat(
      "| seed | cycles | clients | requests tried | answered OK | failed calls "
      "| retries | provider calls "
      "| calls without durable intent | intent after receipt | fields differ | "
      "intents | outcomes "
      "| open intents | unreported open intents | torn tails injected / "
      "truncated | chain breaks "
      "| duplicates (same lifetime) | duplicates (across a crash) | canary "
      "hits | ledger records | seconds |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---"
      "|---|---|---|---|\n",
      "| ", o.seed, " | ", f.cycles, " | ", o.clients, " | ", f.requests_tried,
      " | ", f.answered_ok, " | ", f.failed_calls, " | ", f.retries, " | ",
      f.provider_calls, " | ", f.provider_calls_without_durable_intent, " | ",
      f.provider_calls_with_intent_after_receipt, " | ",
      f.provider_calls_with_other_fields, " | ", f.intents, " | ", f.outcomes,
      " | ", f.intents_without_outcome, " | ", f.unreported_open_intents, " | ",
      f.torn_tails_injected, " / ", f.torn_tails_truncated, " | ",
      f.chain_breaks, " | ", f.duplicates_same_lifetime, " | ",
      f.duplicates_across_crash, " | ", f.canary_hits, " | ", f.ledger_records,
      " | ", static_cast<int>(f.seconds), " |\n", "audit: ", f.audit, "\n",
      "answers by gRPC code:",
      [&] {
        std::string out;
        for (const auto& [code, n] : f.codes)
          absl::StrAppend(&out, " ", code, "=", n);
        return out;
      }(),
      "\n");
}

void Report(const Options& o, const Figures& f) {
  const std::string md = Markdown(o, f);
  std::printf("%s", md.c_str());
  if (const char* path = std::getenv("IDGATE_CRASH_REPORT")) {
    WriteFile(path, ReadFileOrEmpty(path) + md);
  }
}

TEST(CrashTest, KillNineUnderLoadNeverDisclosesWithoutADurableIntent) {
  Options o;
  o.cycles = static_cast<int>(EnvInt("IDGATE_CRASH_CYCLES", 20));
  o.seed = static_cast<uint64_t>(EnvInt("IDGATE_CRASH_SEED", 1));
  o.max_uptime_ms = static_cast<int>(EnvInt("IDGATE_CRASH_MAX_MS", 1000));
  o.clients = static_cast<int>(EnvInt("IDGATE_CRASH_CLIENTS", 8));
  CrashRig rig(o);
  const Figures f = rig.Run();
  Report(o, f);
  EXPECT_EQ(f.cycles, o.cycles);
  EXPECT_EQ(f.restart_failures, 0);
  EXPECT_GT(f.provider_calls, 0);
  EXPECT_EQ(f.provider_calls_without_durable_intent, 0);
  EXPECT_EQ(f.provider_calls_with_intent_after_receipt, 0);
  EXPECT_EQ(f.provider_calls_with_other_fields, 0);
  EXPECT_EQ(f.chain_breaks, 0) << f.audit;
  EXPECT_EQ(f.unreported_open_intents, 0);
  EXPECT_EQ(f.torn_tails_truncated, f.torn_tails_injected);
  EXPECT_EQ(f.duplicates_same_lifetime, 0);
  // Finding F1: before the gateway remembered, at start-up, the requests
  // the ledger shows as (maybe) sent, a retry after a crash reached the
  // provider again (1 540 times in 200 cycles).
  EXPECT_GT(f.retries, 0);
  EXPECT_EQ(f.duplicates_across_crash, 0);
  EXPECT_EQ(f.canary_hits, 0);
  RecordProperty("requests_tried", static_cast<int>(f.requests_tried));
  RecordProperty("provider_calls", static_cast<int>(f.provider_calls));
}

}  // namespace
}  // namespace idgate::testing
