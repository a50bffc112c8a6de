#pragma once

// Time as idgate counts it: durations from the config's protobuf form, and
// calendar days in Asia/Shanghai, the zone of ages, daily limits and the
// providers' timestamps.

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace idgate {

// China Standard Time (UTC+8). China has had no DST since 1991, so a fixed
// offset avoids depending on tzdata in the container.
absl::TimeZone ChinaStandardTime();

// The calendar day `t` falls on in Asia/Shanghai.
absl::CivilDay ShanghaiDay(absl::Time t);

absl::Duration ToDuration(const google::protobuf::Duration& d);
absl::Time ToTime(const google::protobuf::Timestamp& t);

}  // namespace idgate
