#include "tools/idgate-load/runner.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace idgate::load {
namespace {

namespace v1 = ::idgate::v1;

constexpr size_t kMaxDistinctErrors = 64;

absl::StatusOr<std::string> ReadPem(const std::string& what,
                                    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": cannot read ", path));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void RaiseTo(std::atomic<int64_t>& target, int64_t value) {
  int64_t seen = target.load(std::memory_order_relaxed);
  while (value > seen && !target.compare_exchange_weak(
                             seen, value, std::memory_order_relaxed)) {
  }
}

}  // namespace

int64_t MonotonicNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Runner::Call {
  grpc::ClientContext context;
  v1::VerifyRequest request;
  v1::VerifyResponse response;
  uint64_t number = 0;
  int slot = 0;
  int64_t start_ns = 0;
};

Runner::Runner(const LoadConfig& config, const RequestFactory& factory,
               int expect_verdict)
    : config_(config), factory_(factory), expect_verdict_(expect_verdict) {
  for (auto& c : codes_) c.store(0);
  for (auto& v : verdicts_) v.store(0);
  for (const auto& [key, value] : config_.metadata) {
    // Validated by main before the Runner exists.
    auto t = CallTemplate::Parse(value);
    metadata_.emplace_back(key, t.ok() ? *t : *CallTemplate::Parse(""));
    if (t.ok() && !t->constant()) metadata_templated_ = true;
  }
  for (uint32_t i = 0; i < config_.concurrency; ++i)
    slots_.push_back(std::make_unique<Slot>());
}

Runner::~Runner() = default;

absl::Status Runner::Connect() {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (config_.insecure) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    if (!config_.cacert.empty()) {
      auto pem = ReadPem("cacert", config_.cacert);
      if (!pem.ok()) return pem.status();
      ssl.pem_root_certs = *pem;
    }
    if (!config_.cert.empty()) {
      auto cert = ReadPem("cert", config_.cert);
      if (!cert.ok()) return cert.status();
      auto key = ReadPem("key", config_.key);
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    creds = grpc::SslCredentials(ssl);
  }
  const auto deadline = std::chrono::system_clock::now() +
                        absl::ToChronoNanoseconds(config_.connect_timeout);
  for (uint32_t i = 0; i < config_.connections; ++i) {
    grpc::ChannelArguments args;
    // A distinct argument per channel, and no global subchannel pool, so
    // that each channel gets its own subchannel: its own TCP connection.
    args.SetInt("idgate-load.connection", static_cast<int>(i));
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetMaxReceiveMessageSize(64 << 20);
    if (config_.keepalive > absl::ZeroDuration()) {
      args.SetInt(
          GRPC_ARG_KEEPALIVE_TIME_MS,
          static_cast<int>(absl::ToInt64Milliseconds(config_.keepalive)));
    }
    if (!config_.cname.empty()) args.SetSslTargetNameOverride(config_.cname);
    if (!config_.authority.empty())
      args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, config_.authority);
    auto channel = grpc::CreateCustomChannel(config_.host, creds, args);
    if (!channel->WaitForConnected(deadline)) {
      return absl::UnavailableError(
          absl::StrCat("connection ", i + 1, " of ", config_.connections,
                       " to ", config_.host, " not ready within ",
                       absl::FormatDuration(config_.connect_timeout)));
    }
    stubs_.push_back(v1::VerificationService::NewStub(channel));
    channels_.push_back(std::move(channel));
  }
  return absl::OkStatus();
}

bool Runner::ClaimNext(uint64_t* number) {
  if (stop_.load(std::memory_order_relaxed)) return false;
  const uint64_t n = issued_.fetch_add(1, std::memory_order_relaxed);
  // ghz: with "duration" the total is ignored.
  if (config_.duration == absl::ZeroDuration() && n >= config_.total) {
    stop_.store(true);
    return false;
  }
  *number = n;
  return true;
}

void Runner::StartCall(int slot, uint64_t number) {
  auto call = std::make_shared<Call>();
  call->number = number;
  call->slot = slot;
  CallVars vars{static_cast<int64_t>(number), absl::StrCat("w", slot),
                absl::Now(), ""};
  const absl::Status built = factory_.Build(vars, &call->request);
  for (const auto& [key, tmpl] : metadata_) {
    call->context.AddMetadata(key, tmpl.Render(vars, MethodVars{}));
  }
  if (config_.timeout > absl::ZeroDuration()) {
    call->context.set_deadline(std::chrono::system_clock::now() +
                               absl::ToChronoNanoseconds(config_.timeout));
  }
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  RaiseTo(max_in_flight_, active_.fetch_add(1, std::memory_order_relaxed) + 1);
  {
    absl::MutexLock lock(&slots_[slot]->mu);
    slots_[slot]->call = call;
  }
  call->start_ns = MonotonicNanos();
  if (!built.ok()) {
    // Checked at start-up, so not expected: counted as a client-side error.
    OnDone(call, grpc::Status(grpc::StatusCode::INTERNAL,
                              absl::StrCat("idgate-load: ", built.message())));
    return;
  }
  stubs_[slot % stubs_.size()]->async()->Verify(
      &call->context, &call->request, &call->response,
      [this, call](grpc::Status status) { OnDone(call, status); });
}

void Runner::OnDone(const std::shared_ptr<Call>& call,
                    const grpc::Status& status) {
  const int64_t end = MonotonicNanos();
  active_.fetch_sub(1, std::memory_order_relaxed);
  RaiseTo(last_end_ns_, end);
  Record(*call, status, end - call->start_ns);
  {
    absl::MutexLock lock(&slots_[call->slot]->mu);
    slots_[call->slot]->call.reset();
  }
  Finished(call->slot);
}

void Runner::Record(const Call& call, const grpc::Status& status,
                    int64_t nanos) {
  if (ignore_cancelled_.load(std::memory_order_relaxed) &&
      status.error_code() == grpc::StatusCode::CANCELLED) {
    ignored_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (call.number < config_.skip_first) {
    skipped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  latency_.Record(nanos);
  const int code = static_cast<int>(status.error_code());
  codes_[code >= 0 && code <= 16 ? code : 2].fetch_add(
      1, std::memory_order_relaxed);
  std::string error;
  if (status.ok()) {
    const int v = static_cast<int>(call.response.verdict());
    verdicts_[v >= 0 && v < 7 ? v : 7].fetch_add(1, std::memory_order_relaxed);
    if (expect_verdict_ >= 0 && v != expect_verdict_) {
      unexpected_.fetch_add(1, std::memory_order_relaxed);
      error = absl::StrCat("unexpected verdict ", v1::Verdict_IsValid(v)
                                                      ? v1::Verdict_Name(v)
                                                      : absl::StrCat(v));
    }
  } else {
    error = absl::StrCat(
        absl::StatusCodeToString(static_cast<absl::StatusCode>(code)), ": ",
        status.error_message().substr(0, 200));
  }
  if (!error.empty()) {
    absl::MutexLock lock(&mu_);
    if (errors_.size() < kMaxDistinctErrors || errors_.count(error)) {
      ++errors_[error];
    } else {
      ++errors_["(other errors)"];
    }
  }
  // Counted last: the main thread reads the totals once count settles.
  count_.fetch_add(1, std::memory_order_release);
}

void Runner::Finished(int slot) {
  if (!paced_) {
    uint64_t n;
    if (ClaimNext(&n))
      StartCall(slot, n);  // before the decrement: never idle in between
  } else {
    absl::MutexLock lock(&mu_);
    free_slots_.push_back(slot);
  }
  if (in_flight_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    // Releasing the mutex makes the main thread re-check its condition.
    absl::MutexLock lock(&mu_);
  }
}

bool Runner::WaitIdle(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithDeadline(
      absl::Condition(
          +[](Runner* r) {
            return r->stop_.load() &&
                   r->in_flight_.load(std::memory_order_acquire) == 0;
          },
          this),
      deadline);
}

void Runner::CancelAll() {
  for (auto& slot : slots_) {
    std::shared_ptr<Call> call;
    {
      absl::MutexLock lock(&slot->mu);
      call = slot->call;
    }
    // Outside the lock: the completion may run before TryCancel returns.
    if (call != nullptr) call->context.TryCancel();
  }
}

void Runner::RunPaced(absl::Time end) {
  const double period_ns = 1e9 / config_.rps;
  for (int64_t k = 0;; ++k) {
    const int64_t due =
        start_ns_ + static_cast<int64_t>(static_cast<double>(k) * period_ns);
    while (true) {
      if (absl::Now() >= end) return;
      const int64_t now = MonotonicNanos();
      if (now >= due) break;
      absl::SleepFor(std::min(absl::Nanoseconds(due - now), end - absl::Now()));
    }
    int slot;
    {
      absl::MutexLock lock(&mu_);
      if (!mu_.AwaitWithDeadline(
              absl::Condition(
                  +[](std::vector<int>* f) { return !f->empty(); },
                  &free_slots_),
              end)) {
        return;
      }
      slot = free_slots_.back();
      free_slots_.pop_back();
    }
    uint64_t n;
    if (!ClaimNext(&n)) {
      absl::MutexLock lock(&mu_);
      free_slots_.push_back(slot);
      return;
    }
    StartCall(slot, n);
  }
}

RunResult Runner::Run() {
  RunResult r;
  r.date = absl::Now();
  absl::Time end = absl::InfiniteFuture();
  if (config_.duration > absl::ZeroDuration()) end = r.date + config_.duration;
  if (config_.max_duration > absl::ZeroDuration())
    end = std::min(end, r.date + config_.max_duration);
  paced_ = config_.rps > 0;
  start_ns_ = MonotonicNanos();
  last_end_ns_.store(start_ns_);
  if (paced_) {
    {
      absl::MutexLock lock(&mu_);
      for (int s = static_cast<int>(slots_.size()) - 1; s >= 0; --s)
        free_slots_.push_back(s);
    }
    RunPaced(end);
  } else {
    for (size_t s = 0; s < slots_.size(); ++s) {
      uint64_t n;
      if (!ClaimNext(&n)) break;
      StartCall(static_cast<int>(s), n);
    }
  }
  r.end_reason = "normal";
  if (!WaitIdle(end)) {
    r.end_reason = "timeout";
    stop_.store(true);
    if (config_.duration_stop != "wait") {
      ignore_cancelled_.store(config_.duration_stop == "ignore");
      CancelAll();
    }
    // Bounded: every call has a deadline (timeout) unless timeout is 0.
    const absl::Duration grace =
        (config_.timeout > absl::ZeroDuration() ? config_.timeout
                                                : absl::Seconds(30)) +
        absl::Seconds(5);
    if (!WaitIdle(absl::Now() + grace)) {
      CancelAll();
      if (!WaitIdle(absl::Now() + absl::Seconds(5))) {
        r.unfinished = static_cast<uint64_t>(in_flight_.load());
      }
    }
  }
  r.total = absl::Nanoseconds(last_end_ns_.load() - start_ns_);
  r.count = count_.load(std::memory_order_acquire);
  r.skipped = skipped_.load();
  r.ignored = ignored_.load();
  for (size_t i = 0; i < r.codes.size(); ++i) r.codes[i] = codes_[i].load();
  for (size_t i = 0; i < r.verdicts.size(); ++i)
    r.verdicts[i] = verdicts_[i].load();
  r.unexpected_verdicts = unexpected_.load();
  r.max_in_flight = max_in_flight_.load();
  {
    absl::MutexLock lock(&mu_);
    r.errors = errors_;
  }
  r.latency = &latency_;
  return r;
}

}  // namespace idgate::load
