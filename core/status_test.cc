#include "core/status.h"

#include "absl/strings/cord.h"
#include "gtest/gtest.h"

namespace idgate {
namespace {

TEST(StatusTest, ReasonTravelsAsAPayload) {
  absl::Status status =
      WithReason(absl::ResourceExhaustedError("over"), "SUBJECT_LIMIT");
  EXPECT_EQ(ReasonOf(status), "SUBJECT_LIMIT");
  EXPECT_EQ(ReasonOf(absl::ResourceExhaustedError("over")), "");
}

TEST(StatusTest, PrefixedKeepsCodeAndPayloads) {
  absl::Status status = WithReason(absl::NotFoundError("no such file"), "X");
  status.SetPayload("type.example/other", absl::Cord("p"));
  absl::Status prefixed = Prefixed("config: ledger.dir", status);
  EXPECT_EQ(prefixed.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(prefixed.message(), "config: ledger.dir: no such file");
  EXPECT_EQ(ReasonOf(prefixed), "X");
  EXPECT_EQ(prefixed.GetPayload("type.example/other"), absl::Cord("p"));
  EXPECT_TRUE(Prefixed("anything", absl::OkStatus()).ok());
}

}  // namespace
}  // namespace idgate
