#include "core/time.h"

#include "gtest/gtest.h"

namespace idgate {
namespace {

absl::Time Utc(int y, int m, int d, int hh, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss),
                         absl::UTCTimeZone());
}

TEST(ShanghaiDayTest, ChangesAtSixteenUtc) {
  EXPECT_EQ(ShanghaiDay(Utc(2025, 3, 14, 15, 59, 59)),
            absl::CivilDay(2025, 3, 14));
  EXPECT_EQ(ShanghaiDay(Utc(2025, 3, 14, 16)), absl::CivilDay(2025, 3, 15));
  // No DST: the same offset in summer.
  EXPECT_EQ(ShanghaiDay(Utc(2025, 7, 1, 15, 59, 59)),
            absl::CivilDay(2025, 7, 1));
  EXPECT_EQ(ShanghaiDay(Utc(2025, 7, 1, 16)), absl::CivilDay(2025, 7, 2));
}

TEST(ProtoTimeTest, DurationAndTimestampKeepNanoseconds) {
  google::protobuf::Duration d;
  d.set_seconds(2);
  d.set_nanos(500'000'000);
  EXPECT_EQ(ToDuration(d), absl::Milliseconds(2500));
  google::protobuf::Timestamp t;
  t.set_seconds(1'700'000'000);
  t.set_nanos(7);
  EXPECT_EQ(ToTime(t),
            absl::FromUnixSeconds(1'700'000'000) + absl::Nanoseconds(7));
}

}  // namespace
}  // namespace idgate
