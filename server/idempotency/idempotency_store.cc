#include "server/idempotency/idempotency_store.h"

#include "absl/strings/str_cat.h"

namespace idgate {

InMemoryIdempotencyStore::InMemoryIdempotencyStore(absl::Duration ttl, size_t max_entries,
                                                   size_t max_waiters_per_key,
                                                   std::function<absl::Time()> now)
    : ttl_(ttl), max_entries_(max_entries), max_waiters_(max_waiters_per_key), now_(std::move(now)) {}

std::string InMemoryIdempotencyStore::Key(const std::string& caller,
                                          const std::string& request_id) {
  // Caller ids never contain the separator (config ids); request ids are
  // validated to [A-Za-z0-9._:-].
  return absl::StrCat(caller, "\n", request_id);
}

IdempotencyStore::Claim InMemoryIdempotencyStore::Begin(const std::string& caller,
                                                        const std::string& request_id,
                                                        const std::string& fingerprint,
                                                        Waiter waiter, VerifyResult* replay) {
  const std::string key = Key(caller, request_id);
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
    return Claim::kNew;
  }
  if (!entry.fingerprint.empty() && entry.fingerprint != fingerprint) return Claim::kConflict;
  if (entry.done) {
    lru_.splice(lru_.end(), lru_, entry.lru);  // most recently used
    *replay = entry.result;
    return Claim::kReplay;
  }
  if (entry.waiters.size() >= max_waiters_) {
    *replay = absl::AbortedError("too many concurrent retries of this request_id");
    return Claim::kReplay;
  }
  entry.waiters.push_back(std::move(waiter));
  return Claim::kWaiting;
}

void InMemoryIdempotencyStore::Complete(const std::string& caller,
                                        const std::string& request_id,
                                        const VerifyResult& result, bool remember) {
  std::vector<Waiter> waiters;
  {
    const std::string key = Key(caller, request_id);
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.done) return;
    waiters.swap(it->second.waiters);
    if (remember) {
      it->second.done = true;
      it->second.result = result;
      it->second.expires = now_() + ttl_;
      it->second.lru = lru_.insert(lru_.end(), key);
      EvictLocked();
    } else {
      entries_.erase(it);
    }
  }
  // Outside the lock: waiters finish their own gRPC calls.
  for (auto& waiter : waiters) waiter(result);
}

void InMemoryIdempotencyStore::Remember(const std::string& caller,
                                        const std::string& request_id,
                                        const VerifyResult& result, absl::Time answered_at) {
  const absl::Time expires = answered_at + ttl_;
  const std::string key = Key(caller, request_id);
  absl::MutexLock lock(&mu_);
  if (expires <= now_() || entries_.count(key) > 0) return;
  Entry& entry = entries_[key];
  entry.done = true;
  entry.result = result;
  entry.expires = expires;
  entry.lru = lru_.insert(lru_.end(), key);
  EvictLocked();
}

void InMemoryIdempotencyStore::EvictLocked() {
  while (lru_.size() > max_entries_) {
    entries_.erase(lru_.front());
    lru_.pop_front();
  }
}

size_t InMemoryIdempotencyStore::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace idgate
