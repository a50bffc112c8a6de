#include "server/idempotency/idempotency_store.h"

#include "absl/strings/str_cat.h"

namespace idgate {

InMemoryIdempotencyStore::InMemoryIdempotencyStore(
    absl::Duration ttl, size_t max_entries, size_t max_waiters_per_key,
    std::function<absl::Time()> now)
    : ttl_(ttl),
      max_entries_(max_entries),
      max_waiters_(max_waiters_per_key),
      now_(std::move(now)) {}

std::string InMemoryIdempotencyStore::Key(const std::string& caller,
                                          const std::string& request_id) {
  // Caller ids never contain the separator (config ids); request ids are
  // validated to [A-Za-z0-9._:-].
  return absl::StrCat(caller, "\n", request_id);
}

InMemoryIdempotencyStore::Answer InMemoryIdempotencyStore::Keep(
    const VerifyResult& result) {
  Answer answer{result.status(), ""};
  if (result.ok()) result->SerializeToString(&answer.response);
  return answer;
}

VerifyResult InMemoryIdempotencyStore::Replay(const Answer& answer) {
  if (!answer.status.ok()) return answer.status;
  ::idgate::v1::VerifyResponse response;
  // Bytes this process serialized itself; failing to parse them is a bug.
  if (!response.ParseFromString(answer.response)) {
    return absl::InternalError(
        "stored answer for this request_id is unreadable");
  }
  return response;
}

void InMemoryIdempotencyStore::Begin(const std::string& caller,
                                     const std::string& request_id,
                                     const std::string& fingerprint,
                                     ClaimDone done) {
  // `done` runs after the lock is released: it goes on with the call.
  auto claim = Claim(Key(caller, request_id), fingerprint, done);
  if (claim.has_value()) done(*std::move(claim));
}

absl::optional<absl::StatusOr<IdempotencyClaim>>
InMemoryIdempotencyStore::Claim(const std::string& key,
                                const std::string& fingerprint,
                                ClaimDone& done) {
  using Kind = IdempotencyClaim::Kind;
  Answer answer;
  {
    absl::MutexLock lock(&mu_);
    // One lookup: most request ids are new.
    auto [it, fresh] = entries_.try_emplace(key);
    if (!fresh && it->second.done && it->second.expires <= now_()) {
      lru_.erase(it->second.lru);
      it->second = Entry();
      fresh = true;
    }
    Entry& entry = it->second;
    if (fresh) {
      entry.fingerprint = fingerprint;
      return IdempotencyClaim{Kind::kNew};
    }
    if (!entry.fingerprint.empty() && entry.fingerprint != fingerprint) {
      return IdempotencyClaim{Kind::kConflict};
    }
    if (!entry.done) {
      if (entry.waiters.size() >= max_waiters_) {
        return absl::AbortedError(
            "too many concurrent retries of this request_id");
      }
      entry.waiters.push_back(std::move(done));  // answered by Complete
      return absl::nullopt;
    }
    lru_.splice(lru_.end(), lru_, entry.lru);  // most recently used
    answer = entry.answer;
  }
  return IdempotencyClaim{Kind::kReplay, Replay(answer)};  // parsed unlocked
}

std::vector<InMemoryIdempotencyStore::Entries::node_type>
InMemoryIdempotencyStore::FinishLocked(Entries::iterator it, Answer answer,
                                       absl::Time expires) {
  it->second.done = true;
  it->second.answer = std::move(answer);
  it->second.expires = expires;
  it->second.lru = lru_.insert(lru_.end(), &it->first);
  std::vector<Entries::node_type> evicted;
  while (lru_.size() > max_entries_) {
    evicted.push_back(entries_.extract(*lru_.front()));
    lru_.pop_front();
  }
  return evicted;
}

void InMemoryIdempotencyStore::Complete(const std::string& caller,
                                        const std::string& request_id,
                                        const VerifyResult& result,
                                        bool remember) {
  const std::string key = Key(caller, request_id);
  // Built before locking: only the moves happen under mu_.
  Answer answer = remember ? Keep(result) : Answer{};
  std::vector<ClaimDone> waiters;
  std::vector<Entries::node_type> evicted;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.done) return;
    waiters.swap(it->second.waiters);
    if (remember) {
      evicted = FinishLocked(it, std::move(answer), now_() + ttl_);
    } else {
      entries_.erase(it);
    }
  }
  // Outside the lock: waiters finish their own gRPC calls, and evicted
  // entries are freed.
  for (auto& waiter : waiters) {
    waiter(IdempotencyClaim{IdempotencyClaim::Kind::kReplay, result});
  }
}

void InMemoryIdempotencyStore::Remember(const std::string& caller,
                                        const std::string& request_id,
                                        const VerifyResult& result,
                                        absl::Time answered_at) {
  const absl::Time expires = answered_at + ttl_;
  const std::string key = Key(caller, request_id);
  Answer answer = Keep(result);
  std::vector<Entries::node_type>
      evicted;  // declared first: freed after unlocking
  absl::MutexLock lock(&mu_);
  if (expires <= now_()) return;
  auto [it, fresh] = entries_.try_emplace(key);
  if (!fresh) return;
  evicted = FinishLocked(it, std::move(answer), expires);
}

size_t InMemoryIdempotencyStore::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace idgate
