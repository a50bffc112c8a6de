#include "core/time.h"

namespace idgate {

absl::TimeZone ChinaStandardTime() {
  // Built once: each FixedTimeZone looks its name up in cctz's registry,
  // under a lock, and the validators ask for the day of every request.
  static const absl::TimeZone zone = absl::FixedTimeZone(8 * 60 * 60);
  return zone;
}

absl::CivilDay ShanghaiDay(absl::Time t) {
  return absl::ToCivilDay(t, ChinaStandardTime());
}

absl::Duration ToDuration(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

}  // namespace idgate
