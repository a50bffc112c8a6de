#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "idgate/v1/verification.pb.h"

namespace idgate {

using VerifyResult = absl::StatusOr<::idgate::v1::VerifyResponse>;

// Remembers the answer to each (caller, request_id) so that a retry never
// reaches a provider twice (I8). An interface, so a store shared by several
// replicas can replace the in-memory one.
class IdempotencyStore {
 public:
  enum class Claim {
    kNew,       // first sighting: run it, then Complete()
    kReplay,    // answered before: `replay` holds the stored result
    kWaiting,   // the same request is in flight: `waiter` runs with its result
    kConflict,  // same key, different request: ALREADY_EXISTS
  };
  using Waiter = std::function<void(const VerifyResult&)>;

  virtual ~IdempotencyStore() = default;

  // `fingerprint` is a keyed hash of the normalized request, never values.
  virtual Claim Begin(const std::string& caller, const std::string& request_id,
                      const std::string& fingerprint, Waiter waiter,
                      VerifyResult* replay) = 0;

  // Ends a kNew claim. With `remember`, the result is replayed to later
  // retries; without (nothing was disclosed), the key is freed so a retry
  // runs anew. Waiters get `result` either way.
  virtual void Complete(const std::string& caller,
                        const std::string& request_id,
                        const VerifyResult& result, bool remember) = 0;

  // Stores `result` for a key answered at `answered_at` by an earlier
  // process (known from the ledger, the request itself is not): every later
  // request with that key replays it until answered_at + ttl. Keeps an
  // existing entry.
  virtual void Remember(const std::string& caller,
                        const std::string& request_id,
                        const VerifyResult& result, absl::Time answered_at) = 0;
};

// In-memory store: bounded (LRU beyond max_entries among finished entries),
// each answer kept for `ttl`. In-flight entries are never evicted; their
// number is bounded by the server's concurrent call limit.
class InMemoryIdempotencyStore : public IdempotencyStore {
 public:
  InMemoryIdempotencyStore(absl::Duration ttl, size_t max_entries,
                           size_t max_waiters_per_key,
                           std::function<absl::Time()> now);

  Claim Begin(const std::string& caller, const std::string& request_id,
              const std::string& fingerprint, Waiter waiter,
              VerifyResult* replay) override;
  void Complete(const std::string& caller, const std::string& request_id,
                const VerifyResult& result, bool remember) override;
  void Remember(const std::string& caller, const std::string& request_id,
                const VerifyResult& result, absl::Time answered_at) override;

  size_t size() const;

 private:
  // A finished answer: its status, and the response serialized when OK (one
  // allocation to keep and to evict, where a copied message took a dozen).
  struct Answer {
    absl::Status status;
    std::string response;
  };
  struct Entry {
    std::string fingerprint;  // empty: matches every request (Remember)
    bool done = false;
    Answer answer;  // valid when done
    absl::Time expires;
    std::vector<Waiter> waiters;
    std::list<const std::string*>::iterator lru;  // valid when done
  };
  using Entries = std::unordered_map<std::string, Entry>;

  static Answer Keep(const VerifyResult& result);
  static VerifyResult Replay(const Answer& answer);
  static std::string Key(const std::string& caller,
                         const std::string& request_id);
  // Marks `it` done with `answer` and evicts beyond max_entries_; the
  // evicted entries are returned, to be freed outside the lock.
  std::vector<Entries::node_type> FinishLocked(Entries::iterator it,
                                               Answer answer,
                                               absl::Time expires)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration ttl_;
  const size_t max_entries_;
  const size_t max_waiters_;
  const std::function<absl::Time()> now_;
  mutable absl::Mutex mu_;
  // Node-based on purpose: an open-addressing map under this churn (one
  // insert and one eviction per call at capacity) rehashes its tombstones
  // now and then, all entries at once, with every gRPC thread waiting on mu_.
  Entries entries_ ABSL_GUARDED_BY(mu_);
  // Finished keys, oldest first: the map's own keys (stable in its nodes).
  std::list<const std::string*> lru_ ABSL_GUARDED_BY(mu_);
};

}  // namespace idgate
