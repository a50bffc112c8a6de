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
#include "absl/types/optional.h"
#include "idgate/v1/verification.pb.h"

namespace idgate {

using VerifyResult = absl::StatusOr<::idgate::v1::VerifyResponse>;

// What IdempotencyStore::Begin found for a (caller, request_id).
struct IdempotencyClaim {
  enum class Kind {
    kNew,       // first sighting: run it, then Complete()
    kReplay,    // answered before, or a duplicate in flight has since been
                // answered: `replay` holds that result
    kConflict,  // same key, different request: ALREADY_EXISTS
  };
  Kind kind = Kind::kNew;
  VerifyResult replay = absl::UnknownError("no replay");
};

// Remembers the answer to each (caller, request_id) so that a retry never
// reaches a provider twice (I8, ARCHITECTURE.md). Asynchronous, so that a
// store shared by several replicas, over the network, can sit behind it
// without a gRPC thread waiting on it.
class IdempotencyStore {
 public:
  // With the claim, or an error when the store cannot tell (UNAVAILABLE:
  // the call fails closed) or will not wait (ABORTED: too many duplicates
  // of this key are waiting). May run before Begin returns, or later on
  // another thread (a duplicate in flight completes when the first does).
  using ClaimDone = std::function<void(absl::StatusOr<IdempotencyClaim>)>;

  virtual ~IdempotencyStore() = default;

  // `fingerprint` is a keyed hash of the normalized request, never values.
  virtual void Begin(const std::string& caller, const std::string& request_id,
                     const std::string& fingerprint, ClaimDone done) = 0;

  // Ends a kNew claim. With `remember`, the result is replayed to later
  // retries; without (nothing was disclosed), the key is freed so a retry
  // runs anew. Waiting duplicates get `result` either way.
  virtual void Complete(const std::string& caller,
                        const std::string& request_id,
                        const VerifyResult& result, bool remember) = 0;

  // Stores `result` for a key answered at `answered_at` by an earlier
  // process (known from the ledger, the request itself is not): every later
  // request with that key replays it until answered_at + ttl. Keeps an
  // existing entry. Called at start-up, before the server serves.
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

  // Completes inline, except for a duplicate of a request in flight: its
  // `done` runs when the first completes, on that thread.
  void Begin(const std::string& caller, const std::string& request_id,
             const std::string& fingerprint, ClaimDone done) override;
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
    std::vector<ClaimDone> waiters;
    std::list<const std::string*>::iterator lru;  // valid when done
  };
  using Entries = std::unordered_map<std::string, Entry>;

  // Begin's answer, or nullopt for a duplicate in flight: then `done` moved
  // into the entry's waiters, to run when the first completes.
  absl::optional<absl::StatusOr<IdempotencyClaim>> Claim(
      const std::string& key, const std::string& fingerprint, ClaimDone& done);
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
