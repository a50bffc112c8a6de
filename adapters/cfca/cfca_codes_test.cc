#include "adapters/cfca/cfca_codes.h"

#include <string>

#include "adapters/provider_call.h"
#include "adapters/testing/adapter_test.h"
#include "gtest/gtest.h"

namespace idgate {
namespace cfca {
namespace {

using ::idgate::provider::v1::CFCA_LIVENESS_RESULT_FAILED;
using ::idgate::provider::v1::CFCA_LIVENESS_RESULT_PASSED;
using ::idgate::provider::v1::CfcaLivenessResult;
using ::idgate::provider::v1::CompareFaceResponse;

// The documented table (cfca_codes.h), row by row.
const DocumentedCode kTable[] = {
    {"2000", absl::StatusCode::kOk, ::idgate::v1::VERDICT_MATCH, true, false},
    {"2001", absl::StatusCode::kOk, ::idgate::v1::VERDICT_MISMATCH, true,
     false},
    {"2002", absl::StatusCode::kOk, ::idgate::v1::VERDICT_NO_RECORD, false,
     false},
    {"2003", absl::StatusCode::kOk, ::idgate::v1::VERDICT_MISMATCH, true,
     false},
    {"2004", absl::StatusCode::kOk, ::idgate::v1::VERDICT_LIVENESS_FAILED, true,
     false},
    {"3001", absl::StatusCode::kUnavailable, ::idgate::v1::VERDICT_UNSPECIFIED,
     false, true},
    {"3002", absl::StatusCode::kUnavailable, ::idgate::v1::VERDICT_UNSPECIFIED,
     false, true},
    {"4001", absl::StatusCode::kInternal, ::idgate::v1::VERDICT_UNSPECIFIED,
     false, false},
    {"4002", absl::StatusCode::kInternal, ::idgate::v1::VERDICT_UNSPECIFIED,
     false, false},
    {"4003", absl::StatusCode::kResourceExhausted,
     ::idgate::v1::VERDICT_UNSPECIFIED, false, false},
    // Unknown codes: a safe non-match error, never retried.
    {"0000", absl::StatusCode::kInternal, ::idgate::v1::VERDICT_UNSPECIFIED,
     false, false},
    {"", absl::StatusCode::kInternal, ::idgate::v1::VERDICT_UNSPECIFIED, false,
     false},
    {"20000", absl::StatusCode::kInternal, ::idgate::v1::VERDICT_UNSPECIFIED,
     false, false},
};

class CfcaCodeTest : public ::testing::TestWithParam<DocumentedCode> {};

TEST_P(CfcaCodeTest, MapsAsDocumented) {
  const DocumentedCode& row = GetParam();
  CompareFaceResponse response;
  response.set_code(row.code);
  response.set_message("张三 11010519491231002X");  // must never be echoed
  const ProviderOutcome outcome = MapResponse(response);
  ExpectMapped(outcome, row);
  EXPECT_EQ(std::string(outcome.status.message()).find("张三"),
            std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Table, CfcaCodeTest, ::testing::ValuesIn(kTable),
    [](const ::testing::TestParamInfo<DocumentedCode>& info) {
      return info.param.code.empty() ? std::string("empty")
                                     : "code_" + info.param.code;
    });

TEST(CfcaCodesTest, SimilarityAndLivenessAreCarried) {
  CompareFaceResponse response;
  response.set_code("2000");
  response.set_similarity(95.5);
  response.set_liveness(CFCA_LIVENESS_RESULT_PASSED);
  ProviderOutcome outcome = MapResponse(response);
  EXPECT_FLOAT_EQ(outcome.face_similarity, 95.5f);
  EXPECT_TRUE(outcome.liveness_passed);

  response.set_code("2004");
  response.set_similarity(0);
  response.set_liveness(CFCA_LIVENESS_RESULT_FAILED);
  outcome = MapResponse(response);
  EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_LIVENESS_FAILED);
  EXPECT_FALSE(outcome.liveness_passed);
}

TEST(CfcaCodesTest, SimilarityIsClampedToRange) {
  CompareFaceResponse response;
  response.set_code("2003");
  response.set_similarity(250);
  EXPECT_FLOAT_EQ(MapResponse(response).face_similarity, 100.0f);
  response.set_similarity(-3);
  EXPECT_FLOAT_EQ(MapResponse(response).face_similarity, 0.0f);
}

TEST(CfcaCodesTest, UnknownCodeThatIsNotCodeLikeIsNotRecorded) {
  CompareFaceResponse response;
  response.set_code("张三");
  const ProviderOutcome outcome = MapResponse(response);
  EXPECT_EQ(outcome.provider_code, "<invalid>");
  EXPECT_EQ(std::string(outcome.status.message()).find("张三"),
            std::string::npos);
  EXPECT_EQ(SafeCode(std::string(40, '1')), "<invalid>");
  EXPECT_EQ(SafeCode("40004.x-y_z"), "40004.x-y_z");
}

TEST(CfcaCodesTest, TransportErrors) {
  ExpectTransportFailures(
      [](const grpc::Status& status) {
        CompareFaceResponse response;
        response.set_code(kPassed);
        return MapResult(status, response);
      },
      "11010519491231002X");
}

}  // namespace
}  // namespace cfca
}  // namespace idgate
