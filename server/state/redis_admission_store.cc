#include "server/state/redis_admission_store.h"

#include <optional>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "idgate/state/v1/state.pb.h"

namespace idgate {
namespace {

using Kind = AdmissionGrant::Kind;

// KEYS: the request_id's record, the caller's bucket.
// ARGV: mode ('admit', or 'peek': only look at the record, as a duplicate
// in flight does while it waits), fingerprint, claim owner, lease (ms),
// record ttl (ms), rate per second (0: unlimited), burst, max calls per
// check per day, max distinct contacts per day, check, prefix of the
// subject keys, subject reference, contact reference ('' for none).
//
// Returns {'new'} | {'answer', bytes} | {'inflight'} | {'interrupted'} |
// {'conflict'} | {'missing'} (peek) | {'rate', retry ms} |
// {'subject', 'calls' | 'contacts'}.
//
// Times and days come from the server's clock (TIME), so that replicas
// whose clocks differ agree on buckets, leases and the Asia/Shanghai day.
// The subject keys are named here from that day: this store runs on one
// Redis server (or a primary with replicas), not on Redis Cluster.
constexpr char kAdmitScript[] = R"lua(
local mode, fp, owner = ARGV[1], ARGV[2], ARGV[3]
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

if mode == 'admit' then
  local rate, burst = tonumber(ARGV[6]), tonumber(ARGV[7])
  if rate > 0 then
    local b = redis.call('HMGET', KEYS[2], 'tokens', 'at')
    local tokens = tonumber(b[1]) or burst
    local at = tonumber(b[2]) or now_ms
    tokens = math.min(burst, tokens + math.max(0, now_ms - at) / 1000 * rate)
    if tokens < 1 then
      return {'rate', math.ceil((1 - tokens) / rate * 1000)}
    end
    redis.call('HSET', KEYS[2], 'tokens', tostring(tokens - 1), 'at', now_ms)
    redis.call('PEXPIRE', KEYS[2], math.ceil(burst / rate * 1000) + 1000)
  end
end

local r = redis.call('HMGET', KEYS[1], 'fp', 'state', 'lease', 'answer')
if r[2] then
  if r[1] and r[1] ~= fp then return {'conflict'} end
  if r[2] == 'done' then return {'answer', r[4]} end
  if tonumber(r[3]) > now_ms then return {'inflight'} end
  return {'interrupted'}
end
if mode == 'peek' then return {'missing'} end

local max_calls, max_contacts = tonumber(ARGV[8]), tonumber(ARGV[9])
if max_calls > 0 or max_contacts > 0 then
  local day = math.floor((now_ms / 1000 + 8 * 3600) / 86400)
  -- An hour past that day's end in Shanghai: late calls of the day count.
  local expire_at = (day + 1) * 86400 - 8 * 3600 + 3600
  local calls = ARGV[11] .. day .. ':calls:' .. ARGV[12]
  local contacts = ARGV[11] .. day .. ':contacts:' .. ARGV[12]
  local check, contact = ARGV[10], ARGV[13]
  if max_calls > 0 and
      (tonumber(redis.call('HGET', calls, check)) or 0) >= max_calls then
    return {'subject', 'calls'}
  end
  local new_contact = contact ~= '' and
      redis.call('SISMEMBER', contacts, contact) == 0
  if max_contacts > 0 and new_contact and
      redis.call('SCARD', contacts) >= max_contacts then
    return {'subject', 'contacts'}
  end
  redis.call('HINCRBY', calls, check, 1)
  redis.call('EXPIREAT', calls, expire_at)
  if new_contact then
    redis.call('SADD', contacts, contact)
    redis.call('EXPIREAT', contacts, expire_at)
  end
end

redis.call('HSET', KEYS[1], 'fp', fp, 'state', 'pending', 'owner', owner,
           'lease', now_ms + tonumber(ARGV[4]))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {'new'}
)lua";

// KEYS: the record. ARGV: 'answer' with the answer's bytes and the record's
// ttl (ms); 'free': a claim that disclosed nothing is freed, so that a
// retry runs anew; 'release' with an owner: the same, only if the claim is
// that owner's (an Admit whose reply was lost may or may not have made it).
constexpr char kCompleteScript[] = R"lua(
if ARGV[1] == 'answer' then
  redis.call('HSET', KEYS[1], 'state', 'done', 'answer', ARGV[2])
  redis.call('HDEL', KEYS[1], 'owner', 'lease')
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
elseif redis.call('HGET', KEYS[1], 'state') == 'pending' and
    (ARGV[1] == 'free' or redis.call('HGET', KEYS[1], 'owner') == ARGV[2]) then
  redis.call('DEL', KEYS[1])
end
return 1
)lua";

const RedisScript& AdmitScript() {
  static const RedisScript* script = new RedisScript(kAdmitScript);
  return *script;
}

const RedisScript& CompleteScript() {
  static const RedisScript* script = new RedisScript(kCompleteScript);
  return *script;
}

std::string NewOwner() {
  thread_local absl::BitGen gen;
  const uint64_t a = absl::Uniform<uint64_t>(gen);
  const uint64_t b = absl::Uniform<uint64_t>(gen);
  return absl::StrCat(absl::Hex(a, absl::kZeroPad16),
                      absl::Hex(b, absl::kZeroPad16));
}

std::string Millis(absl::Duration d) {
  return std::to_string(std::max<int64_t>(1, absl::ToInt64Milliseconds(d)));
}

::idgate::config::v1::CallerSettings PerReplica(
    ::idgate::config::v1::CallerSettings callers, uint32_t replicas) {
  for (auto& caller : *callers.mutable_callers()) {
    caller.set_rate_per_second(caller.rate_per_second() /
                               std::max<uint32_t>(1, replicas));
  }
  return callers;
}

}  // namespace

std::string EncodeAnswer(const VerifyResult& result) {
  ::idgate::state::v1::StoredAnswer stored;
  stored.set_code(static_cast<int>(result.status().code()));
  stored.set_message(std::string(result.status().message()));
  result.status().ForEachPayload([&stored](absl::string_view type_url,
                                           const absl::Cord& payload) {
    (*stored.mutable_payloads())[std::string(type_url)] = std::string(payload);
  });
  if (result.ok()) *stored.mutable_response() = *result;
  return stored.SerializeAsString();
}

VerifyResult DecodeAnswer(const std::string& bytes) {
  ::idgate::state::v1::StoredAnswer stored;
  if (!stored.ParseFromString(bytes)) {
    return absl::InternalError(
        "the stored answer for this request_id is unreadable");
  }
  if (stored.code() == 0) return stored.response();
  absl::Status status(static_cast<absl::StatusCode>(stored.code()),
                      stored.message());
  for (const auto& [type_url, payload] : stored.payloads()) {
    status.SetPayload(type_url, absl::Cord(payload));
  }
  return status;
}

// One Admit, kept while it waits for a duplicate in flight elsewhere.
struct RedisAdmissionStore::Waiting {
  AdmissionAsk ask;
  Done done;
  std::string key;
  std::string owner;
  absl::Duration poll;
  // The ledger's answer for a request id this replica (maybe) disclosed
  // before it started: only looked up in Redis (peek), never claimed.
  std::optional<VerifyResult> remembered;
};

RedisAdmissionStore::RedisAdmissionStore(RedisClient& client, Options options)
    : client_(client),
      options_(std::move(options)),
      fallback_(PerReplica(options_.callers, options_.expected_replicas),
                options_.now) {}

std::string RedisAdmissionStore::IdempotencyKey(
    const std::string& caller, const std::string& request_id) const {
  // The caller's length first: caller ids and request ids may both hold ':'.
  return absl::StrCat(options_.key_prefix, "request:", caller.size(), ":",
                      caller, ":", request_id);
}

void RedisAdmissionStore::Admit(const AdmissionAsk& ask, Done done) {
  auto waiting = std::make_shared<Waiting>();
  waiting->ask = ask;
  waiting->done = std::move(done);
  waiting->key = IdempotencyKey(ask.caller, ask.request_id);
  waiting->owner = NewOwner();
  waiting->poll = options_.min_poll;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = remembered_.find(waiting->key);
    if (it != remembered_.end() && options_.now() < it->second.second) {
      waiting->remembered = it->second.first;
    }
  }
  // What Redis holds for a remembered id (its stored answer, a claim) is
  // what every replica answers; the ledger's rule answers only when Redis
  // has no record (restarted empty) or cannot say.
  const bool peek = waiting->remembered.has_value();
  Run(std::move(waiting), peek);
}

void RedisAdmissionStore::Run(std::shared_ptr<Waiting> waiting, bool peek) {
  const AdmissionAsk& ask = waiting->ask;
  double rate = 0;
  uint32_t burst = 0;
  for (const auto& caller : options_.callers.callers()) {
    if (caller.id() == ask.caller && caller.rate_per_second() > 0) {
      rate = caller.rate_per_second();
      burst = caller.burst();
    }
  }
  const auto& limits = options_.subject_limits;
  client_.Eval(
      AdmitScript(),
      {waiting->key, absl::StrCat(options_.key_prefix, "caller:", ask.caller)},
      {peek ? "peek" : "admit", ask.fingerprint, waiting->owner,
       Millis(ask.deadline - options_.now() + options_.lease_margin),
       Millis(options_.answer_ttl), absl::StrCat(rate), absl::StrCat(burst),
       absl::StrCat(limits.max_calls_per_check_per_day()),
       absl::StrCat(limits.max_distinct_contacts_per_day()),
       absl::StrCat(static_cast<int>(ask.use.check)),
       absl::StrCat(options_.key_prefix, "subject:"), ask.use.subject_ref,
       ask.use.contact_ref},
      [this, waiting](absl::StatusOr<RedisReply> reply) mutable {
        OnReply(std::move(waiting), std::move(reply));
      });
}

void RedisAdmissionStore::OnReply(std::shared_ptr<Waiting> waiting,
                                  absl::StatusOr<RedisReply> reply) {
  if (!reply.ok() && waiting->remembered.has_value()) {
    return waiting->done({Kind::kAnswered, *waiting->remembered, ""});
  }
  if (!reply.ok()) return Fallback(*waiting, reply.status());
  const auto& e = reply->elements;
  const std::string what = e.empty() ? "" : e[0].str;
  Done& done = waiting->done;
  if (what == "new")
    return done({Kind::kAdmitted, absl::UnknownError("no answer"), ""});
  if (what == "answer" && e.size() == 2) {
    return done({Kind::kAnswered, DecodeAnswer(e[1].str), ""});
  }
  if (what == "conflict") {
    return done({Kind::kAnswered,
                 absl::AlreadyExistsError(
                     "request_id was already used for a different request"),
                 ""});
  }
  if (what == "interrupted") {
    return done(
        {Kind::kAnswered,
         WithReason(absl::FailedPreconditionError(
                        "the gateway that took this request_id stopped "
                        "before answering; it may have reached a provider "
                        "and is not sent again; use a new request_id"),
                    "REQUEST_ID_INTERRUPTED"),
         ""});
  }
  if (what == "rate" && e.size() == 2) {
    return done({Kind::kRefused,
                 RateLimited("caller rate limit exceeded",
                             absl::Milliseconds(e[1].integer)),
                 "rate_limit"});
  }
  if (what == "subject" && e.size() == 2) {
    return done(
        {Kind::kRefused,
         WithReason(absl::ResourceExhaustedError(
                        e[1].str == "calls"
                            ? "daily verification limit for this subject "
                              "reached"
                            : "too many different contacts tried for this "
                              "subject today"),
                    "SUBJECT_LIMIT"),
         "subject_limit"});
  }
  if (what == "missing" && waiting->remembered.has_value()) {
    return done({Kind::kAnswered, *waiting->remembered, ""});
  }
  if (what == "missing") return Run(std::move(waiting), /*peek=*/false);
  if (what == "inflight") {
    // The first call is running, here or on another replica: its answer is
    // this one's, once it comes.
    if (options_.now() + waiting->poll >= waiting->ask.deadline) {
      return done({Kind::kAnswered,
                   absl::DeadlineExceededError(
                       "a call with this request_id is still in progress"),
                   ""});
    }
    const absl::Duration delay = waiting->poll;
    waiting->poll = std::min(waiting->poll * 2, options_.max_poll);
    return client_.After(delay, [this, waiting]() mutable {
      Run(std::move(waiting), /*peek=*/true);
    });
  }
  done({Kind::kAnswered,
        absl::InternalError("unexpected answer from the shared state"), ""});
}

void RedisAdmissionStore::Fallback(Waiting& waiting,
                                   const absl::Status& cause) {
  // The script may have run before the answer was lost: free the claim it
  // may have made (only if it is still this Admit's).
  client_.Eval(CompleteScript(), {waiting.key}, {"release", waiting.owner},
               [](absl::StatusOr<RedisReply>) {});
  if (options_.on_fallback) options_.on_fallback();
  absl::Status limited = absl::UnknownError("unset");
  fallback_.Acquire(waiting.ask.caller,
                    [&limited](absl::Status st) { limited = std::move(st); });
  if (!limited.ok()) {
    return waiting.done({Kind::kRefused, std::move(limited), "rate_limit"});
  }
  waiting.done({Kind::kAnswered,
                absl::UnavailableError(
                    absl::StrCat("shared state unavailable; nothing was sent (",
                                 cause.message(), ")")),
                ""});
}

void RedisAdmissionStore::Complete(const std::string& caller,
                                   const std::string& request_id,
                                   const VerifyResult& result, bool remember) {
  // Nobody waits for it. A lost answer leaves the claim in flight until its
  // lease, then REQUEST_ID_INTERRUPTED: never a second disclosure.
  std::vector<std::string> args =
      remember ? std::vector<std::string>{"answer", EncodeAnswer(result),
                                          Millis(options_.answer_ttl)}
               : std::vector<std::string>{"free"};
  client_.Eval(CompleteScript(), {IdempotencyKey(caller, request_id)},
               std::move(args), [](absl::StatusOr<RedisReply>) {});
}

void RedisAdmissionStore::Remember(const std::string& caller,
                                   const std::string& request_id,
                                   const VerifyResult& result,
                                   absl::Time answered_at) {
  absl::MutexLock lock(&mu_);
  remembered_.emplace(
      IdempotencyKey(caller, request_id),
      std::make_pair(result, answered_at + options_.answer_ttl));
}

}  // namespace idgate
