#include "server/limits/rate_limits.h"

#include "gtest/gtest.h"

namespace idgate {
namespace {

namespace cfg = ::idgate::config::v1;

// The in-memory limiters complete inline: their answer, read synchronously.
absl::Status Acquire(CallerLimiter& limiter, const std::string& caller,
                     absl::Duration* retry_after) {
  absl::Status result = absl::UnknownError("no answer");
  limiter.Acquire(caller, [&](absl::Status st) { result = std::move(st); });
  if (!result.ok()) *retry_after = RetryDelay(result);
  return result;
}

absl::Status Admit(SubjectLimiter& limiter, const std::string& subject,
                   cfg::Check check, const std::string& contact) {
  absl::Status result = absl::UnknownError("no answer");
  limiter.Admit({subject, check, contact},
                [&](absl::Status st) { result = std::move(st); });
  return result;
}

TEST(CallerLimiter, TokenBucketWithRetryAfter) {
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  cfg::CallerSettings settings;
  auto* limited = settings.add_callers();
  limited->set_id("limited");
  limited->set_rate_per_second(2);
  limited->set_burst(3);
  settings.add_callers()->set_id("free");
  InMemoryCallerLimiter limiter(settings, [&] { return now; });
  absl::Duration retry;
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(Acquire(limiter, "limited", &retry).ok());
  auto refused = Acquire(limiter, "limited", &retry);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(retry, absl::Milliseconds(500));
  now += absl::Milliseconds(500);  // one token back at 2/s
  EXPECT_TRUE(Acquire(limiter, "limited", &retry).ok());
  EXPECT_FALSE(Acquire(limiter, "limited", &retry).ok());
  for (int i = 0; i < 100; ++i)
    EXPECT_TRUE(Acquire(limiter, "free", &retry).ok());
}

class SubjectLimiterTest : public ::testing::Test {
 protected:
  SubjectLimiterTest() {
    limits_.set_max_calls_per_check_per_day(4);
    limits_.set_max_distinct_contacts_per_day(2);
  }
  // 2026-11-22 15:59:59 UTC = 23:59:59 in Shanghai.
  absl::Time now_ = absl::FromUnixSeconds(1795363199);
  cfg::SubjectLimits limits_;
};

TEST_F(SubjectLimiterTest, EnumerationGuardStopsTheNextDistinctContact) {
  InMemorySubjectLimiter limiter(limits_, 1000, [&] { return now_; });
  EXPECT_TRUE(Admit(limiter, "s1", cfg::CHECK_CARRIER_THREE_FACTOR, "m1").ok());
  EXPECT_TRUE(Admit(limiter, "s1", cfg::CHECK_CARRIER_THREE_FACTOR, "m2").ok());
  EXPECT_TRUE(Admit(limiter, "s1", cfg::CHECK_CARRIER_THREE_FACTOR, "m1")
                  .ok());  // not new
  EXPECT_EQ(Admit(limiter, "s1", cfg::CHECK_CARRIER_THREE_FACTOR, "m3").code(),
            absl::StatusCode::kResourceExhausted);
  // Another subject is unaffected.
  EXPECT_TRUE(Admit(limiter, "s2", cfg::CHECK_CARRIER_THREE_FACTOR, "m3").ok());
}

TEST_F(SubjectLimiterTest, CallsPerCheckPerDayResetAtShanghaiMidnight) {
  InMemorySubjectLimiter limiter(limits_, 1000, [&] { return now_; });
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(Admit(limiter, "s1", cfg::CHECK_FACE_VERIFICATION, "").ok());
  }
  EXPECT_FALSE(Admit(limiter, "s1", cfg::CHECK_FACE_VERIFICATION, "").ok());
  EXPECT_TRUE(Admit(limiter, "s1", cfg::CHECK_CARRIER_THREE_FACTOR, "m1")
                  .ok());    // other check
  now_ += absl::Seconds(1);  // 00:00:00 in Shanghai
  EXPECT_TRUE(Admit(limiter, "s1", cfg::CHECK_FACE_VERIFICATION, "").ok());
}

TEST_F(SubjectLimiterTest, FullTableFailsClosed) {
  InMemorySubjectLimiter limiter(limits_, 2, [&] { return now_; });
  EXPECT_TRUE(Admit(limiter, "s1", cfg::CHECK_FACE_VERIFICATION, "").ok());
  EXPECT_TRUE(Admit(limiter, "s2", cfg::CHECK_FACE_VERIFICATION, "").ok());
  EXPECT_EQ(Admit(limiter, "s3", cfg::CHECK_FACE_VERIFICATION, "").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(Admit(limiter, "s1", cfg::CHECK_FACE_VERIFICATION, "").ok());
}

}  // namespace
}  // namespace idgate
