#include "server/idempotency/idempotency_store.h"

#include "gtest/gtest.h"

namespace idgate {
namespace {

struct Fixture {
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  InMemoryIdempotencyStore store{absl::Hours(24), 3, 2, [this] { return now; }};
};

// What Begin said, read synchronously: the in-memory store answers inline,
// except for a duplicate in flight (kWaiting), whose `waiter` runs with the
// first call's result when it completes.
enum class Claim { kNew, kReplay, kWaiting, kConflict };

Claim Begin(Fixture& f, const std::string& caller, const std::string& id,
            const std::string& fingerprint,
            std::function<void(const VerifyResult&)> waiter = nullptr,
            VerifyResult* replay = nullptr) {
  // Shared with the callback, which may run after Begin returned.
  auto answered = std::make_shared<bool>(false);
  Claim claim = Claim::kWaiting;
  f.store.Begin(caller, id, fingerprint,
                [&, answered, waiter](absl::StatusOr<IdempotencyClaim> c) {
                  VerifyResult result =
                      c.ok() ? c->replay : VerifyResult(c.status());
                  if (*answered) return waiter(result);  // later, as waiter
                  *answered = true;
                  if (!c.ok()) {  // ABORTED: too many waiters
                    claim = Claim::kReplay;
                  } else if (c->kind == IdempotencyClaim::Kind::kNew) {
                    claim = Claim::kNew;
                  } else if (c->kind == IdempotencyClaim::Kind::kConflict) {
                    claim = Claim::kConflict;
                  } else {
                    claim = Claim::kReplay;
                  }
                  if (claim == Claim::kReplay && replay != nullptr) {
                    *replay = result;
                  }
                });
  *answered = true;  // from now on the callback is a waiter's
  return claim;
}

::idgate::v1::VerifyResponse Response(const std::string& provider) {
  ::idgate::v1::VerifyResponse r;
  r.set_provider(provider);
  r.set_verdict(::idgate::v1::VERDICT_MATCH);
  return r;
}

TEST(IdempotencyStore, ReplaysTheStoredAnswer) {
  Fixture f;
  VerifyResult replay;
  ASSERT_EQ(Begin(f, "c", "r1", "fp", nullptr, &replay), Claim::kNew);
  f.store.Complete("c", "r1", Response("carrier"), true);
  ASSERT_EQ(Begin(f, "c", "r1", "fp", nullptr, &replay), Claim::kReplay);
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->provider(), "carrier");
  // Another caller's identical id is another key.
  EXPECT_EQ(Begin(f, "other", "r1", "fp", nullptr, &replay), Claim::kNew);
}

TEST(IdempotencyStore, ReplaysAStoredErrorAndAWholeResponse) {
  Fixture f;
  VerifyResult replay;
  // An error after a disclosure is remembered like an answer.
  ASSERT_EQ(Begin(f, "c", "failed", "fp", nullptr, &replay), Claim::kNew);
  f.store.Complete("c", "failed",
                   absl::DeadlineExceededError("provider timed out"), true);
  ASSERT_EQ(Begin(f, "c", "failed", "fp", nullptr, &replay), Claim::kReplay);
  EXPECT_EQ(replay.status(), absl::DeadlineExceededError("provider timed out"));

  ::idgate::v1::VerifyResponse full = Response("bank");
  full.set_request_id("r2");
  full.set_billed(true);
  auto* receipt = full.add_disclosures();
  receipt->set_disclosure_id("d-1");
  receipt->set_recipient("Bank Co.");
  receipt->add_fields(::idgate::v1::PII_FIELD_NAME);
  ASSERT_EQ(Begin(f, "c", "r2", "fp", nullptr, &replay), Claim::kNew);
  f.store.Complete("c", "r2", full, true);
  ASSERT_EQ(Begin(f, "c", "r2", "fp", nullptr, &replay), Claim::kReplay);
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->SerializeAsString(), full.SerializeAsString());
}

TEST(IdempotencyStore, SameKeyDifferentRequestConflicts) {
  Fixture f;
  VerifyResult replay;
  ASSERT_EQ(Begin(f, "c", "r1", "fp-a", nullptr, &replay), Claim::kNew);
  EXPECT_EQ(Begin(f, "c", "r1", "fp-b", nullptr, &replay), Claim::kConflict);
  f.store.Complete("c", "r1", Response("carrier"), true);
  EXPECT_EQ(Begin(f, "c", "r1", "fp-b", nullptr, &replay), Claim::kConflict);
}

TEST(IdempotencyStore, DuplicatesInFlightWaitForTheFirstAnswerBounded) {
  Fixture f;
  VerifyResult replay;
  ASSERT_EQ(Begin(f, "c", "r1", "fp", nullptr, &replay), Claim::kNew);
  std::vector<std::string> seen;
  auto waiter = [&](const VerifyResult& r) { seen.push_back(r->provider()); };
  EXPECT_EQ(Begin(f, "c", "r1", "fp", waiter, &replay), Claim::kWaiting);
  EXPECT_EQ(Begin(f, "c", "r1", "fp", waiter, &replay), Claim::kWaiting);
  // Beyond max_waiters_per_key: ABORTED at once.
  ASSERT_EQ(Begin(f, "c", "r1", "fp", waiter, &replay), Claim::kReplay);
  EXPECT_EQ(replay.status().code(), absl::StatusCode::kAborted);
  f.store.Complete("c", "r1", Response("bank"), true);
  EXPECT_EQ(seen, (std::vector<std::string>{"bank", "bank"}));
}

TEST(IdempotencyStore, ForgottenResultFreesTheKeyButStillAnswersWaiters) {
  Fixture f;
  VerifyResult replay;
  ASSERT_EQ(Begin(f, "c", "r1", "fp", nullptr, &replay), Claim::kNew);
  absl::StatusCode waiter_code = absl::StatusCode::kOk;
  Begin(f, "c", "r1", "fp",
        [&](const VerifyResult& r) { waiter_code = r.status().code(); });
  f.store.Complete("c", "r1", absl::UnavailableError("ledger"), false);
  EXPECT_EQ(waiter_code, absl::StatusCode::kUnavailable);
  EXPECT_EQ(Begin(f, "c", "r1", "fp", nullptr, &replay), Claim::kNew);
}

TEST(IdempotencyStore, RememberedKeysReplayForEveryRequestUntilTheirTtl) {
  Fixture f;
  VerifyResult replay;
  const absl::Status before_restart =
      absl::FailedPreconditionError("sent before");
  f.store.Remember("c", "old", before_restart, f.now - absl::Hours(1));
  f.store.Remember("c", "expired", before_restart, f.now - absl::Hours(25));
  // Whatever the request (fingerprint), the key replays.
  ASSERT_EQ(Begin(f, "c", "old", "fp-any", nullptr, &replay), Claim::kReplay);
  EXPECT_EQ(replay.status(), before_restart);
  EXPECT_EQ(Begin(f, "c", "expired", "fp", nullptr, &replay), Claim::kNew);
  // A key already known keeps its own answer.
  f.store.Complete("c", "expired", Response("carrier"), true);
  f.store.Remember("c", "expired", before_restart, f.now);
  ASSERT_EQ(Begin(f, "c", "expired", "fp", nullptr, &replay), Claim::kReplay);
  EXPECT_TRUE(replay.ok());
  f.now += absl::Hours(23);
  EXPECT_EQ(Begin(f, "c", "old", "fp", nullptr, &replay), Claim::kNew);
}

TEST(IdempotencyStore, ExpiresAfterTtl) {
  Fixture f;
  VerifyResult replay;
  Begin(f, "c", "r1", "fp", nullptr, &replay);
  f.store.Complete("c", "r1", Response("carrier"), true);
  f.now += absl::Hours(24) - absl::Seconds(1);
  EXPECT_EQ(Begin(f, "c", "r1", "fp", nullptr, &replay), Claim::kReplay);
  f.now += absl::Seconds(1);
  EXPECT_EQ(Begin(f, "c", "r1", "fp-new", nullptr, &replay), Claim::kNew);
}

TEST(IdempotencyStore, BoundedByLeastRecentlyUsed) {
  Fixture f;  // max 3 finished entries
  VerifyResult replay;
  for (const char* id : {"a", "b", "c"}) {
    Begin(f, "c", id, "fp", nullptr, &replay);
    f.store.Complete("c", id, Response(id), true);
  }
  ASSERT_EQ(Begin(f, "c", "a", "fp", nullptr, &replay),
            Claim::kReplay);  // a is now recent
  Begin(f, "c", "d", "fp", nullptr, &replay);
  f.store.Complete("c", "d", Response("d"),
                   true);  // evicts b, the least recent
  EXPECT_EQ(f.store.size(), 3u);
  EXPECT_EQ(Begin(f, "c", "a", "fp", nullptr, &replay), Claim::kReplay);
  EXPECT_EQ(Begin(f, "c", "b", "fp", nullptr, &replay), Claim::kNew);
}

}  // namespace
}  // namespace idgate
