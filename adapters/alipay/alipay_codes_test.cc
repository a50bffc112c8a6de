#include "adapters/alipay/alipay_codes.h"

#include <string>

#include "adapters/provider_call.h"
#include "adapters/testing/adapter_test.h"
#include "gtest/gtest.h"

namespace idgate {
namespace alipay {
namespace {

using ::idgate::provider::v1::CertifyFaceResponse;

struct Row {
  std::string code;
  std::string passed;
  std::string sub_code;
  absl::StatusCode status;
  Verdict verdict;
  bool billed;
  bool retryable;
  std::string provider_code;
};

constexpr auto kOk = absl::StatusCode::kOk;
constexpr auto kNone = ::idgate::v1::VERDICT_UNSPECIFIED;

// The documented table (alipay_codes.h), row by row.
const Row kTable[] = {
    {"10000", "T", "", kOk, ::idgate::v1::VERDICT_MATCH, true, false, "10000"},
    {"10000", "F", "NAME_ID_MISMATCH", kOk, ::idgate::v1::VERDICT_MISMATCH,
     true, false, "10000/NAME_ID_MISMATCH"},
    {"10000", "F", "NO_RECORD", kOk, ::idgate::v1::VERDICT_NO_RECORD, false,
     false, "10000/NO_RECORD"},
    {"10000", "F", "FACE_MISMATCH", kOk, ::idgate::v1::VERDICT_MISMATCH, true,
     false, "10000/FACE_MISMATCH"},
    {"10000", "F", "LIVENESS_RISK", kOk, ::idgate::v1::VERDICT_LIVENESS_FAILED,
     true, false, "10000/LIVENESS_RISK"},
    {"10000", "F", "SOMETHING_NEW", absl::StatusCode::kInternal, kNone, false,
     false, "10000/SOMETHING_NEW"},
    {"10000", "F", "", absl::StatusCode::kInternal, kNone, false, false,
     "10000"},
    {"10000", "", "", absl::StatusCode::kInternal, kNone, false, false,
     "10000"},
    {"10000", "Y", "", absl::StatusCode::kInternal, kNone, false, false,
     "10000"},
    {"20000", "", "isp.unknow-error", absl::StatusCode::kUnavailable, kNone,
     false, true, "20000/isp.unknow-error"},
    {"40001", "", "isv.missing-signature", absl::StatusCode::kInternal, kNone,
     false, false, "40001/isv.missing-signature"},
    {"40001", "", "isv.missing-parameter", absl::StatusCode::kInternal, kNone,
     false, false, "40001/isv.missing-parameter"},
    {"40002", "", "isv.invalid-signature", absl::StatusCode::kInternal, kNone,
     false, false, "40002/isv.invalid-signature"},
    {"40002", "", "isv.invalid-parameter", absl::StatusCode::kInternal, kNone,
     false, false, "40002/isv.invalid-parameter"},
    {"40004", "", "TOO_MANY_ATTEMPTS_TODAY",
     absl::StatusCode::kResourceExhausted, kNone, false, false,
     "40004/TOO_MANY_ATTEMPTS_TODAY"},
    {"40004", "", "OTHER", absl::StatusCode::kInternal, kNone, false, false,
     "40004/OTHER"},
    // Unknown codes: a safe non-match error, never retried, even with "T".
    {"40006", "T", "", absl::StatusCode::kInternal, kNone, false, false,
     "40006"},
    {"", "T", "", absl::StatusCode::kInternal, kNone, false, false, ""},
};

class AlipayCodeTest : public ::testing::TestWithParam<Row> {};

TEST_P(AlipayCodeTest, MapsAsDocumented) {
  const Row& row = GetParam();
  CertifyFaceResponse response;
  response.set_code(row.code);
  response.set_passed(row.passed);
  response.set_sub_code(row.sub_code);
  response.set_msg("张三");  // must never be echoed
  response.set_sub_msg("11010519491231002X");
  const ProviderOutcome outcome = MapResponse(response);
  ExpectMapped(outcome, {row.provider_code, row.status, row.verdict, row.billed,
                         row.retryable});
  const std::string message(outcome.status.message());
  EXPECT_EQ(message.find("张三"), std::string::npos);
  EXPECT_EQ(message.find("1101"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Table, AlipayCodeTest, ::testing::ValuesIn(kTable),
                         [](const ::testing::TestParamInfo<Row>& info) {
                           std::string name =
                               "row" + std::to_string(info.index) + "_" +
                               info.param.code + info.param.passed + "_" +
                               info.param.sub_code;
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c)))
                               c = '_';
                           }
                           return name;
                         });

TEST(AlipayCodesTest, ScoreAndLivenessAreCarried) {
  CertifyFaceResponse response;
  response.set_code("10000");
  response.set_passed("T");
  response.set_face_score(97.25);
  ProviderOutcome outcome = MapResponse(response);
  EXPECT_FLOAT_EQ(outcome.face_similarity, 97.25f);
  EXPECT_TRUE(outcome.liveness_passed);

  response.set_passed("F");
  response.set_sub_code("FACE_MISMATCH");
  response.set_face_score(12);
  outcome = MapResponse(response);
  EXPECT_FLOAT_EQ(outcome.face_similarity, 12.0f);
  EXPECT_TRUE(outcome.liveness_passed);  // judged before the comparison

  response.set_sub_code("LIVENESS_RISK");
  response.set_face_score(0);
  outcome = MapResponse(response);
  EXPECT_FALSE(outcome.liveness_passed);
}

TEST(AlipayCodesTest, NonCodeLikeValuesAreNotRecorded) {
  CertifyFaceResponse response;
  response.set_code("10000");
  response.set_passed("F");
  response.set_sub_code("张三 11010519491231002X");
  const ProviderOutcome outcome = MapResponse(response);
  EXPECT_EQ(outcome.provider_code, "10000/<invalid>");
  EXPECT_EQ(std::string(outcome.status.message()).find("1101"),
            std::string::npos);
}

TEST(AlipayCodesTest, TransportErrors) {
  ExpectTransportFailures(
      [](const grpc::Status& status) {
        CertifyFaceResponse response;
        response.set_code("10000");
        response.set_passed("T");
        return MapResult(status, response);
      },
      "11010519491231002X");
}

}  // namespace
}  // namespace alipay
}  // namespace idgate
